import { ROOT_CONTEXT, TraceFlags, propagation, trace, type Context, type TextMapGetter } from '@opentelemetry/api';
import { W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import type { HeaderField } from '../model/http.js';
import type { Stats } from '../model/stats.js';
import type { WireTraceContext } from '../model/trace.js';

/**
 * Reads the trace context a request carries. The header families are tried
 * in order of preference — W3C traceparent, B3 single, B3 multi, Jaeger,
 * Splunk — and the first valid one wins. A family whose headers are present
 * but invalid is counted (`parseErrors['context:<source>']`) and skipped.
 * Parsing itself is the OpenTelemetry propagators' (the ecosystem's parts
 * are theirs); the checks around them reject what they would let through
 * with a wrong meaning (B3 ids of odd length, Jaeger's unchecked ids).
 */

/** Reads `HeaderField[]` (names lowercased on the wire side) for the propagators; repeats become arrays. */
export const headerFieldsGetter: TextMapGetter<readonly HeaderField[]> = {
  keys(carrier) {
    return carrier.map((h) => h.name);
  },
  get(carrier, key) {
    const name = key.toLowerCase();
    let first: string | undefined;
    let all: string[] | undefined;
    for (const h of carrier) {
      if (h.name !== name) continue;
      if (first === undefined) first = h.value;
      else (all ??= [first]).push(h.value);
    }
    return all ?? first;
  },
};

const w3c = new W3CTraceContextPropagator();
const w3cBaggage = new W3CBaggagePropagator();
const b3 = new B3Propagator();
const jaeger = new JaegerPropagator();

const B3_SINGLE = /^(?:[0-9a-f]{16}|[0-9a-f]{32})-[0-9a-f]{16}(?:-[01d])?(?:-[0-9a-f]{16})?$/;
const B3_SAMPLING_ONLY = /^[01d]$/;
const HEX16_OR_32 = /^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const HEX32 = /^[0-9a-fA-F]{32}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// Jaeger clients print ids as hex numbers, so leading zeros may be missing.
const JAEGER_ID = /^[0-9a-fA-F]{1,32}$/;
const JAEGER_SPAN_ID = /^[0-9a-fA-F]{1,16}$/;
const ALL_ZERO = /^0+$/;

/** Which context headers a request has, found in one pass. */
interface Present {
  traceparent: boolean;
  b3: string | undefined;
  b3Multi: boolean;
  uberTraceId: string | undefined;
  requestId: string | undefined;
  spanId: string | undefined;
  baggage: boolean;
  uberctx: boolean;
}

function scan(headers: readonly HeaderField[]): Present | undefined {
  let p: Present | undefined;
  for (const h of headers) {
    const n = h.name;
    // Cheap rejection first: context headers start with t, b, x or u.
    const c = n.charCodeAt(0);
    if (c !== 116 && c !== 98 && c !== 120 && c !== 117) continue;
    if (n === 'traceparent') (p ??= empty()).traceparent = true;
    else if (n === 'b3') (p ??= empty()).b3 ??= h.value;
    else if (n === 'x-b3-traceid' || n === 'x-b3-spanid') (p ??= empty()).b3Multi = true;
    else if (n === 'uber-trace-id') (p ??= empty()).uberTraceId ??= h.value;
    else if (n === 'x-request-id') (p ??= empty()).requestId ??= h.value;
    else if (n === 'x-span-id') (p ??= empty()).spanId ??= h.value;
    else if (n === 'baggage') (p ??= empty()).baggage = true;
    else if (n.startsWith('uberctx-')) (p ??= empty()).uberctx = true;
  }
  return p;
}

function empty(): Present {
  return {
    traceparent: false,
    b3: undefined,
    b3Multi: false,
    uberTraceId: undefined,
    requestId: undefined,
    spanId: undefined,
    baggage: false,
    uberctx: false,
  };
}

function fromContext(ctx: Context, source: WireTraceContext['source']): WireTraceContext | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc) return undefined;
  const traceId = sc.traceId.toLowerCase();
  const parentSpanId = sc.spanId.toLowerCase();
  if (!HEX32.test(traceId) || !HEX16.test(parentSpanId) || ALL_ZERO.test(traceId) || ALL_ZERO.test(parentSpanId)) return undefined;
  const result: WireTraceContext = {
    traceId,
    parentSpanId,
    sampled: (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED,
    source,
  };
  const state = sc.traceState?.serialize();
  if (state) result.traceState = state;
  return result;
}

function w3cContext(headers: readonly HeaderField[]): WireTraceContext | undefined {
  return fromContext(w3c.extract(ROOT_CONTEXT, headers, headerFieldsGetter), 'w3c');
}

function b3SingleContext(headers: readonly HeaderField[], value: string): WireTraceContext | undefined {
  if (!B3_SINGLE.test(value.trim())) return undefined;
  return fromContext(b3.extract(ROOT_CONTEXT, headers, headerFieldsGetter), 'b3');
}

function b3MultiContext(headers: readonly HeaderField[]): WireTraceContext | undefined {
  const traceId = headerFieldsGetter.get(headers, 'x-b3-traceid');
  const spanId = headerFieldsGetter.get(headers, 'x-b3-spanid');
  const t = Array.isArray(traceId) ? traceId[0] : traceId;
  const s = Array.isArray(spanId) ? spanId[0] : spanId;
  if (t === undefined || s === undefined || !HEX16_OR_32.test(t) || !HEX16.test(s)) return undefined;
  // The B3 propagator reads a `b3` header first; this family is only reached without a usable one.
  const carrier = headers.filter((h) => h.name !== 'b3');
  return fromContext(b3.extract(ROOT_CONTEXT, carrier, headerFieldsGetter), 'b3multi');
}

function jaegerContext(headers: readonly HeaderField[], value: string): { context: WireTraceContext; ctx: Context } | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value.trim());
  } catch {
    return undefined;
  }
  const parts = decoded.split(':');
  if (parts.length !== 4) return undefined;
  const [traceId, spanId, , flags] = parts;
  if (!JAEGER_ID.test(traceId) || !JAEGER_SPAN_ID.test(spanId) || !/^[0-9a-fA-F]{1,2}$/.test(flags)) return undefined;
  const ctx = jaeger.extract(ROOT_CONTEXT, headers, headerFieldsGetter);
  const context = fromContext(ctx, 'jaeger');
  return context ? { context, ctx } : undefined;
}

function splunkContext(requestId: string, spanId: string): WireTraceContext | undefined {
  let traceId = requestId.trim();
  if (UUID.test(traceId)) traceId = traceId.replace(/-/g, '');
  const span = spanId.trim();
  if (!HEX32.test(traceId) || !HEX16.test(span)) return undefined;
  traceId = traceId.toLowerCase();
  const parentSpanId = span.toLowerCase();
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(parentSpanId)) return undefined;
  return { traceId, parentSpanId, source: 'splunk' };
}

function baggageOf(ctx: Context): Record<string, string> | undefined {
  const bag = propagation.getBaggage(ctx);
  if (!bag) return undefined;
  const entries = bag.getAllEntries();
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [key, entry] of entries) out[key] = entry.value;
  return out;
}

/** The trace context a request carries, or undefined. Never throws. */
export function extractTraceContext(headers: readonly HeaderField[], stats: Stats): WireTraceContext | undefined {
  const present = scan(headers);
  if (present === undefined) return undefined;
  let result: WireTraceContext | undefined;
  let jaegerCtx: Context | undefined;

  if (present.traceparent) {
    result = w3cContext(headers);
    if (!result) stats.parseErrors.add('context:w3c');
  }
  if (!result && present.b3 !== undefined && !B3_SAMPLING_ONLY.test(present.b3.trim())) {
    result = b3SingleContext(headers, present.b3);
    if (!result) stats.parseErrors.add('context:b3');
  }
  if (!result && present.b3Multi) {
    result = b3MultiContext(headers);
    if (!result) stats.parseErrors.add('context:b3multi');
  }
  if (!result && present.uberTraceId !== undefined) {
    const j = jaegerContext(headers, present.uberTraceId);
    if (j) {
      result = j.context;
      jaegerCtx = j.ctx;
    } else stats.parseErrors.add('context:jaeger');
  }
  // X-Request-ID alone is common (proxies set it) and is no trace context; with X-Span-ID it is Splunk's.
  if (!result && present.spanId !== undefined) {
    result = present.requestId !== undefined ? splunkContext(present.requestId, present.spanId) : undefined;
    if (!result) stats.parseErrors.add('context:splunk');
  }
  if (!result) return undefined;

  let baggage: Record<string, string> | undefined;
  if (present.baggage) baggage = baggageOf(w3cBaggage.extract(ROOT_CONTEXT, headers, headerFieldsGetter));
  if (jaegerCtx && present.uberctx) {
    const fromJaeger = baggageOf(jaegerCtx);
    if (fromJaeger) baggage = { ...fromJaeger, ...baggage };
  }
  if (baggage) result.baggage = baggage;
  return result;
}
