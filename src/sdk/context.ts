import { context as contextApi, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { extractFrom, injectInto, type Carrier } from './propagation.js';
import { currentInstrumentation } from './tracing.js';

/** Writes the active (or given) context into headers with the configured propagators; nothing when tracing is off. */
export function inject(carrier: Carrier, ctx: Context = contextApi.active()): void {
  const inst = currentInstrumentation();
  if (inst.enabled) injectInto(inst.propagator, carrier, ctx);
}

/** The context headers carry (Node request headers, fetch Headers, message header maps), on top of `base`. */
export function extract(carrier: Carrier | undefined | null, base: Context = ROOT_CONTEXT): Context {
  const inst = currentInstrumentation();
  return inst.enabled ? extractFrom(inst.propagator, carrier, base) : base;
}
