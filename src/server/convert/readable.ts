import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { UNKNOWN_SERVICE, tagsOf, type SpanKindNumber, type StatusCodeNumber, type StoredSpan } from '../span.js';

type Hr = [number, number];

const micros = (t: Hr): number => t[0] * 1_000_000 + Math.floor(t[1] / 1000);
/** Duration as OTLP receivers compute it: from the nanosecond difference, then truncated to µs. */
const durationMicros = (start: Hr, end: Hr): number => {
  const ns = (end[0] - start[0]) * 1e9 + (end[1] - start[1]);
  return ns > 0 ? Math.floor(ns / 1000) : 0;
};

/** The wire pipeline's (and any OpenTelemetry SDK's) ReadableSpan as a stored span: no encoding, no network hop. */
export function storedFromReadable(span: ReadableSpan): StoredSpan {
  const ctx = span.spanContext();
  const resourceAttributes = span.resource.attributes as Record<string, unknown>;
  const service = resourceAttributes['service.name'];
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? '',
    name: span.name,
    // api SpanKind counts from INTERNAL = 0; OTLP from UNSPECIFIED = 0.
    kind: (span.kind + 1) as SpanKindNumber,
    service: typeof service === 'string' ? service : UNKNOWN_SERVICE,
    startUs: micros(span.startTime),
    durationUs: durationMicros(span.startTime, span.endTime),
    attributes: tagsOf(span.attributes),
    events: span.events.map((e) => ({ timeUs: micros(e.time), name: e.name, attributes: tagsOf(e.attributes) })),
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, refType: 'FOLLOWS_FROM' as const, attributes: tagsOf(l.attributes) })),
    statusCode: span.status.code as StatusCodeNumber,
    statusMessage: span.status.message ?? '',
    resource: tagsOf(resourceAttributes, 'service.name'),
    scopeName: span.instrumentationScope?.name ?? '',
    scopeVersion: span.instrumentationScope?.version ?? '',
    traceState: ctx.traceState?.serialize() ?? '',
    flags: ctx.traceFlags,
  };
}
