// Shared by the trace server tests: a server on free loopback ports, HTTP
// helpers, and Jaeger's JSON as Jaeger's own OTLP translator would write it
// for spans the OpenTelemetry SDK made (computed here independently of src/).
import type { AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { TraceServer, type TraceServerOptions } from '../../src/server/index.js';

/** JSON as it comes off the wire: the tests check its shape field by field rather than trust a declared type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type WireJson = any;

export async function startServer(overrides: Partial<TraceServerOptions> = {}): Promise<TraceServer> {
  return TraceServer.start({
    host: '127.0.0.1',
    ports: { otlpGrpc: 0, otlpHttp: 0, zipkin: 0, jaegerThrift: 0, query: 0 },
    limits: { maxSpans: 100_000, maxTraces: 10_000, maxAgeSeconds: 0 },
    maxBodyBytes: 1 << 20,
    ...overrides,
  });
}

export function url(server: TraceServer, port: 'otlpHttp' | 'zipkin' | 'jaegerThrift' | 'query', path: string): string {
  return `http://127.0.0.1:${server.ports()[port]}${path}`;
}

export async function getJson(target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: WireJson }> {
  const res = await fetch(target, { headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export interface ExpectedTag {
  key: string;
  type: string;
  value: string | number | boolean;
}

function typed(key: string, v: AttributeValue): ExpectedTag {
  if (typeof v === 'string') return { key, type: 'string', value: v };
  if (typeof v === 'boolean') return { key, type: 'bool', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { key, type: 'int64', value: v } : { key, type: 'float64', value: v };
  return { key, type: 'string', value: JSON.stringify(v) };
}

const ns = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
const KINDS = ['internal', 'server', 'client', 'producer', 'consumer'];

/** A Jaeger API span for an SDK span received over OTLP (times truncated to µs from nanoseconds, as Jaeger's translator does). */
export function expectedFromOtlp(span: ReadableSpan): Record<string, unknown> {
  const ctx = span.spanContext();
  const tags: ExpectedTag[] = Object.entries(span.attributes).map(([k, v]) => typed(k, v as AttributeValue));
  tags.push({ key: 'span.kind', type: 'string', value: KINDS[span.kind] });
  if (span.instrumentationScope.name) tags.push({ key: 'otel.scope.name', type: 'string', value: span.instrumentationScope.name });
  if (span.instrumentationScope.version) tags.push({ key: 'otel.scope.version', type: 'string', value: span.instrumentationScope.version });
  if (span.status.code === 2) {
    tags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' }, { key: 'error', type: 'bool', value: true });
    if (span.status.message) tags.push({ key: 'otel.status_description', type: 'string', value: span.status.message });
  } else if (span.status.code === 1) tags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
  const references = [];
  if (span.parentSpanContext) references.push({ refType: 'CHILD_OF', traceID: ctx.traceId, spanID: span.parentSpanContext.spanId });
  for (const l of span.links) references.push({ refType: 'FOLLOWS_FROM', traceID: l.context.traceId, spanID: l.context.spanId });
  return {
    traceID: ctx.traceId,
    spanID: ctx.spanId,
    flags: ctx.traceFlags,
    operationName: span.name,
    references,
    startTime: Number(ns(span.startTime) / 1000n),
    duration: Number((ns(span.endTime) - ns(span.startTime)) / 1000n),
    tags,
    logs: span.events.map((e) => ({
      timestamp: Number(ns(e.time) / 1000n),
      fields: [{ key: 'event', type: 'string', value: e.name }, ...Object.entries(e.attributes ?? {}).map(([k, v]) => typed(k, v as AttributeValue))],
    })),
    warnings: null,
  };
}

/** The process a span's resource makes: serviceName and the other resource attributes as tags. */
export function expectedProcess(span: ReadableSpan): { serviceName: string; tags: ExpectedTag[] } {
  const attrs = span.resource.attributes;
  return {
    serviceName: String(attrs['service.name']),
    tags: Object.entries(attrs)
      .filter(([k]) => k !== 'service.name')
      .map(([k, v]) => typed(k, v as AttributeValue)),
  };
}

/** Waits until `check` is true (spans reach the store asynchronously over the network). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
