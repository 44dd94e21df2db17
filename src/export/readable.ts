import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { hrDiffNanos } from '../model/time.js';

const KIND = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

function serviceOf(span: ReadableSpan): string {
  return String(span.resource.attributes['service.name'] ?? 'unknown');
}

export function formatDuration(nanos: number): string {
  if (nanos < 1e6) return `${(nanos / 1e3).toFixed(0)} µs`;
  if (nanos < 1e9) return `${(nanos / 1e6).toFixed(nanos < 1e7 ? 2 : 1)} ms`;
  return `${(nanos / 1e9).toFixed(2)} s`;
}

function spanLine(span: ReadableSpan, depth: number): string {
  const status = span.attributes['http.response.status_code'];
  const outcome = span.attributes['wiretrace.outcome'];
  const flags: string[] = [];
  if (span.status.code === SpanStatusCode.ERROR) flags.push(`ERROR${span.status.message ? ` ${span.status.message}` : ''}`);
  if (outcome && outcome !== 'complete') flags.push(String(outcome));
  if (span.attributes['wiretrace.link'] === 'inferred') flags.push('inferred link');
  const indent = '  '.repeat(depth);
  return `  ${indent}${serviceOf(span)}  ${KIND[span.kind] ?? span.kind}  ${span.name}  ${status ?? '-'}  ${formatDuration(hrDiffNanos(span.endTime, span.startTime))}${flags.length ? `  [${flags.join(', ')}]` : ''}`;
}

/**
 * Renders spans as one tree per trace, children under their parent in start
 * order. Spans whose parent is not among them (the caller was not captured)
 * are roots of their trace.
 */
export function formatTraces(spans: readonly ReadableSpan[]): string {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const span of spans) {
    const id = span.spanContext().traceId;
    let list = byTrace.get(id);
    if (!list) byTrace.set(id, (list = []));
    list.push(span);
  }
  const out: string[] = [];
  for (const [traceId, list] of byTrace) {
    list.sort((a, b) => hrDiffNanos(a.startTime, b.startTime) || a.kind - b.kind);
    const ids = new Set(list.map((s) => s.spanContext().spanId));
    const children = new Map<string, ReadableSpan[]>();
    const roots: ReadableSpan[] = [];
    for (const span of list) {
      const parent = span.parentSpanContext?.spanId;
      if (parent && ids.has(parent)) {
        let c = children.get(parent);
        if (!c) children.set(parent, (c = []));
        c.push(span);
      } else roots.push(span);
    }
    const services = new Set(list.map(serviceOf));
    const first = list[0];
    const last = list.reduce((a, b) => (hrDiffNanos(b.endTime, a.endTime) > 0 ? b : a));
    out.push(`trace ${traceId}  ${list.length} span${list.length === 1 ? '' : 's'}, ${services.size} service${services.size === 1 ? '' : 's'}, ${formatDuration(hrDiffNanos(last.endTime, first.startTime))}`);
    const walk = (span: ReadableSpan, depth: number, seen: Set<string>): void => {
      const id = span.spanContext().spanId;
      if (seen.has(id)) return; // defensive against a parent cycle in hostile input
      seen.add(id);
      out.push(spanLine(span, depth));
      for (const child of children.get(id) ?? []) walk(child, depth + 1, seen);
    };
    const seen = new Set<string>();
    for (const root of roots) walk(root, 0, seen);
  }
  return out.join('\n');
}
