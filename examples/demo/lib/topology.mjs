// The demo's fixed shape: which service listens where, who calls whom, and
// which propagation format each caller injects. Services, record.sh and the
// ground-truth check all read it from here so they cannot disagree.

/** Service names (the SDK's service.name) and their port offsets from DEMO_BASE_PORT. */
export const SERVICES = Object.freeze({
  frontend: 0,
  users: 1,
  orders: 2,
  inventory: 3,
  payments: 4,
});

/** Who calls whom; curl is the caller of frontend. */
export const CALLER_OF = Object.freeze({
  frontend: 'curl',
  users: 'frontend',
  orders: 'frontend',
  inventory: 'orders',
  payments: 'orders',
});

// Below 32768 on purpose: Linux hands out ephemeral ports from 32768 up, so a
// capture filter on these ports can never catch an unrelated connection's
// client side.
const DEFAULT_BASE_PORT = 7101;

export function basePort(env = process.env) {
  const raw = env.DEMO_BASE_PORT ?? String(DEFAULT_BASE_PORT);
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1024 || port > 32760) {
    throw new Error(`DEMO_BASE_PORT must be an integer in 1024..32760, got ${raw}`);
  }
  return port;
}

export function portOf(service, env = process.env) {
  if (!(service in SERVICES)) throw new Error(`unknown service ${service}`);
  return basePort(env) + SERVICES[service];
}

export function serviceOfPort(port, env = process.env) {
  for (const name of Object.keys(SERVICES)) if (portOf(name, env) === port) return name;
  return undefined;
}

export const PROPAGATORS = Object.freeze(['w3c', 'b3', 'b3multi', 'jaeger']);

/**
 * The format a service injects into its outgoing calls: DEMO_PROPAGATOR_<SERVICE>
 * when set, else DEMO_PROPAGATOR, else w3c. Every service extracts with the
 * same family it injects (B3 extraction accepts both single and multi header).
 */
export function propagatorOf(service, env = process.env) {
  const chosen = env[`DEMO_PROPAGATOR_${service.toUpperCase()}`] ?? env.DEMO_PROPAGATOR ?? 'w3c';
  if (!PROPAGATORS.includes(chosen)) {
    throw new Error(`propagator for ${service} must be one of ${PROPAGATORS.join(', ')}, got ${chosen}`);
  }
  return chosen;
}
