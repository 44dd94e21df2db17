// Prints the description of a recording (<out>.recording.json): the scenario,
// and per service its port, the Host header its callers send, who calls it and
// the propagation format it injects. Read by check-ground-truth.mjs and by
// tests, so neither has to guess how a capture was made.
import { CALLER_OF, SERVICES, portOf, propagatorOf } from './topology.mjs';

const scenario = process.env.DEMO_SCENARIO ?? 'plain';
const services = {};
for (const name of Object.keys(SERVICES)) {
  const port = portOf(name);
  services[name] = {
    port,
    host: `127.0.0.1:${port}`,
    calledBy: CALLER_OF[name],
    injects: propagatorOf(name),
  };
}
const description = {
  scenario,
  // What the entry requests from curl carry: the external-parent scenario
  // sends a W3C traceparent, the plain one no trace header at all.
  entryContext: scenario === 'external-parent' ? 'w3c' : 'none',
  services,
};
process.stdout.write(JSON.stringify(description, null, 2) + '\n');
