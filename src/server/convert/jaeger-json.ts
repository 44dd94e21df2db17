import type { StoredSpan, Tag } from '../span.js';

/*
 * Stored spans out as the Jaeger query service's JSON model
 * (jaeger model/json: Trace, Span, Reference, Log, KeyValue, Process), with
 * the OpenTelemetry → Jaeger conventions of Jaeger's own translator:
 * span.kind, otel.scope.*, otel.status_code, error, otel.status_description,
 * w3c.tracestate as tags; events as logs with an "event" field first;
 * the parent as the first CHILD_OF reference; links as FOLLOWS_FROM.
 */

export interface JaegerKeyValue {
  key: string;
  type: Tag['type'];
  value: string | number | boolean;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerLog {
  timestamp: number;
  fields: JaegerKeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  flags?: number;
  operationName: string;
  references: JaegerReference[];
  startTime: number;
  duration: number;
  tags: JaegerKeyValue[];
  logs: JaegerLog[];
  processID: string;
  warnings: string[] | null;
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerKeyValue[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings: string[] | null;
}

const KIND_TAG = [undefined, 'internal', 'server', 'client', 'producer', 'consumer'] as const;

/** Jaeger prints a trace id whose high 64 bits are zero as 16 digits. */
export function jaegerTraceId(traceId: string): string {
  return traceId.startsWith('0000000000000000') ? traceId.slice(16) : traceId;
}

function spanTags(span: StoredSpan): JaegerKeyValue[] {
  const tags: JaegerKeyValue[] = span.attributes.slice();
  const kind = KIND_TAG[span.kind];
  if (kind) tags.push({ key: 'span.kind', type: 'string', value: kind });
  if (span.scopeName) tags.push({ key: 'otel.scope.name', type: 'string', value: span.scopeName });
  if (span.scopeVersion) tags.push({ key: 'otel.scope.version', type: 'string', value: span.scopeVersion });
  if (span.statusCode === 2) {
    tags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' }, { key: 'error', type: 'bool', value: true });
    if (span.statusMessage) tags.push({ key: 'otel.status_description', type: 'string', value: span.statusMessage });
  } else if (span.statusCode === 1) {
    tags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
  }
  if (span.traceState) tags.push({ key: 'w3c.tracestate', type: 'string', value: span.traceState });
  return tags;
}

function processKey(span: StoredSpan): string {
  let key = span.service;
  for (const t of span.resource) key += `\u0000${t.key}\u0001${t.type}\u0001${String(t.value)}`;
  return key;
}

/** One trace in Jaeger's JSON: spans in start order, processes p1, p2, ... by first appearance. */
export function toJaegerTrace(spans: readonly StoredSpan[]): JaegerTrace {
  const processes: Record<string, JaegerProcess> = {};
  const processIds = new Map<string, string>();
  const sorted = spans.slice().sort((a, b) => a.startUs - b.startUs || (a.spanId < b.spanId ? -1 : 1));
  const out: JaegerSpan[] = [];
  for (const span of sorted) {
    const pk = processKey(span);
    let pid = processIds.get(pk);
    if (!pid) {
      pid = `p${processIds.size + 1}`;
      processIds.set(pk, pid);
      processes[pid] = { serviceName: span.service, tags: span.resource.slice() };
    }
    const traceID = jaegerTraceId(span.traceId);
    const references: JaegerReference[] = [];
    if (span.parentSpanId) references.push({ refType: 'CHILD_OF', traceID, spanID: span.parentSpanId });
    for (const link of span.links) references.push({ refType: link.refType, traceID: jaegerTraceId(link.traceId), spanID: link.spanId });
    const jaegerSpan: JaegerSpan = {
      traceID,
      spanID: span.spanId,
      operationName: span.name,
      references,
      startTime: span.startUs,
      duration: span.durationUs,
      tags: spanTags(span),
      logs: span.events.map((e) => ({
        timestamp: e.timeUs,
        fields: e.name ? [{ key: 'event', type: 'string' as const, value: e.name }, ...e.attributes] : e.attributes.slice(),
      })),
      processID: pid,
      warnings: null,
    };
    // Jaeger omits flags when zero (omitempty).
    if (span.flags) jaegerSpan.flags = span.flags;
    out.push(jaegerSpan);
  }
  return { traceID: spans.length ? jaegerTraceId(spans[0].traceId) : '', spans: out, processes, warnings: null };
}
