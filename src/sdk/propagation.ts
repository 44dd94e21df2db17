import {
  context as contextApi,
  isSpanContextValid,
  trace,
  TraceFlags,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import type { PropagatorName } from './config.js';

const REQUEST_ID = 'x-request-id';
const SPAN_ID = 'x-span-id';
const HEX32 = /^[0-9a-f]{32}$/i;
const HEX16 = /^[0-9a-f]{16}$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALL_ZERO = /^0+$/;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Splunk-style context: X-Request-ID carries the trace id (32 hex digits, or
 * a UUID whose digits are those), X-Span-ID the caller's span id (16 hex).
 * It is the format the wire agent reads (src/correlate/context.ts), so a
 * service traced by this SDK and one seen only on the wire agree on ids.
 * The format has no sampled flag: an extracted context counts as sampled,
 * since the caller traced the request.
 */
export class SplunkRequestIdPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const sc = trace.getSpanContext(context);
    if (!sc || !isSpanContextValid(sc)) return;
    setter.set(carrier, REQUEST_ID, sc.traceId);
    setter.set(carrier, SPAN_ID, sc.spanId);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const spanId = first(getter.get(carrier, SPAN_ID))?.trim();
    if (spanId === undefined) return context;
    let traceId = first(getter.get(carrier, REQUEST_ID))?.trim();
    if (traceId === undefined) return context;
    if (UUID.test(traceId)) traceId = traceId.replace(/-/g, '');
    if (!HEX32.test(traceId) || !HEX16.test(spanId) || ALL_ZERO.test(traceId) || ALL_ZERO.test(spanId)) return context;
    return trace.setSpanContext(context, { traceId: traceId.toLowerCase(), spanId: spanId.toLowerCase(), traceFlags: TraceFlags.SAMPLED, isRemote: true });
  }

  fields(): string[] {
    return [REQUEST_ID, SPAN_ID];
  }
}

/** The propagators named (OTEL_PROPAGATORS order), as one. 'none' or an empty list propagates nothing. */
export function createPropagator(names: readonly PropagatorName[]): TextMapPropagator {
  const propagators: TextMapPropagator[] = [];
  for (const name of new Set(names)) {
    switch (name) {
      case 'tracecontext':
        propagators.push(new W3CTraceContextPropagator());
        break;
      case 'baggage':
        propagators.push(new W3CBaggagePropagator());
        break;
      case 'b3':
        propagators.push(new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER }));
        break;
      case 'b3multi':
        propagators.push(new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }));
        break;
      case 'jaeger':
        propagators.push(new JaegerPropagator());
        break;
      case 'splunk':
        propagators.push(new SplunkRequestIdPropagator());
        break;
      case 'none':
        break;
    }
  }
  if (propagators.length === 1) return propagators[0];
  return new CompositePropagator({ propagators });
}

/** Node's IncomingHttpHeaders: names already lowercase, repeats as arrays. */
export const nodeHeadersGetter: TextMapGetter<NodeJS.Dict<string | string[]>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** Node's OutgoingHttpHeaders (a request options' `headers`). */
export const nodeHeadersSetter: TextMapSetter<Record<string, unknown>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** Anything with get/set: fetch Headers, NATS MsgHdrs, a Map. */
export interface HeadersLike {
  get(name: string): unknown;
  set(name: string, value: string): unknown;
}

function isHeadersLike(carrier: unknown): carrier is HeadersLike {
  return typeof carrier === 'object' && carrier !== null && typeof (carrier as HeadersLike).get === 'function' && typeof (carrier as HeadersLike).set === 'function';
}

function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return asString(value[0]);
  return undefined;
}

export const headersLikeGetter: TextMapGetter<HeadersLike> = {
  keys: (carrier) => {
    const keys = (carrier as { keys?: () => Iterable<string> }).keys;
    return typeof keys === 'function' ? [...keys.call(carrier)] : [];
  },
  get: (carrier, key) => {
    const v = carrier.get(key);
    return v === null ? undefined : asString(v);
  },
};

export const headersLikeSetter: TextMapSetter<HeadersLike> = {
  set: (carrier, key, value) => {
    carrier.set(key, value);
  },
};

/**
 * Plain string maps (message headers): exact key first, then any case,
 * since brokers and clients do not agree on header case. Buffer values
 * (AMQP long strings) are read as UTF-8.
 */
export const recordGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    let v = carrier[key];
    if (v === undefined) {
      for (const k of Object.keys(carrier)) {
        if (k.length === key.length && k.toLowerCase() === key) {
          v = carrier[k];
          break;
        }
      }
    }
    if (Array.isArray(v)) return v.map(asString).filter((x): x is string => x !== undefined);
    return asString(v);
  },
};

export const recordSetter: TextMapSetter<Record<string, unknown>> = nodeHeadersSetter;

/** Headers carriers the SDK understands: Node header objects, plain string maps, and fetch Headers / NATS headers / Maps. */
export type Carrier = Record<string, unknown> | NodeJS.Dict<string | string[]> | HeadersLike;

/** Writes the context (the active one by default) into the carrier with the given propagator. */
export function injectInto(propagator: TextMapPropagator, carrier: Carrier, ctx: Context = contextApi.active()): void {
  if (isHeadersLike(carrier)) propagator.inject(ctx, carrier, headersLikeSetter);
  else propagator.inject(ctx, carrier, recordSetter);
}

/** The context the carrier holds, on top of `base` (the root context by default). */
export function extractFrom(propagator: TextMapPropagator, carrier: Carrier | undefined | null, base: Context): Context {
  if (carrier === undefined || carrier === null) return base;
  if (isHeadersLike(carrier)) return propagator.extract(base, carrier, headersLikeGetter);
  return propagator.extract(base, carrier, recordGetter);
}
