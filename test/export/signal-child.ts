// Run by signals.test.ts: an agent-like process with spans queued behind a
// long batch delay, waiting for SIGTERM/SIGINT to flush them.
import { createExporters } from '../../src/export/factory.js';
import { flushOnSignals } from '../../src/export/fanout.js';
import { fastConfig, sdkSpans } from './receivers.js';

const endpoint = process.argv[2];
const { fanout } = createExporters([fastConfig({ type: 'otlp-http', endpoint, queue: { scheduledDelayMillis: 600_000 } })]);
flushOnSignals(fanout, {
  deadlineMs: 2000,
  exit: (code) => {
    process.stdout.write(`${JSON.stringify(fanout.counters()[0])}\n`);
    process.exit(code);
  },
});
fanout.offer(sdkSpans());
setInterval(() => {}, 1000);
process.stdout.write('ready\n');
