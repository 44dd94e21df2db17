import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ServiceGraphBuilder } from '../graph/builder.js';
import { displayName, formatCount, formatMs, formatPercent } from '../graph/format.js';
import type { NodeKind, ServiceGraph } from '../graph/types.js';
import { fit, padEnd, padStart, paint, type ViewOptions } from './ansi.js';

export interface ServiceRow {
  service: string;
  kind: NodeKind;
  /** Requests served: SERVER spans, or calls made to a peer no span answers. */
  requests: number;
  errors: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
}

/** One row per node that served requests, or that is a named service; most requests first. */
export function serviceRows(graph: ServiceGraph): ServiceRow[] {
  return graph.nodes
    .filter((n) => n.requests > 0 || n.kind === 'service')
    .map((n) => ({ service: n.name, kind: n.kind, requests: n.requests, errors: n.errors, p50: n.latency.p50, p99: n.latency.p99 }))
    .sort((a, b) => b.requests - a.requests || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

const SLOW_MS = 500;

/** The per-service table: requests, errors, error %, p50, p99. */
export function serviceTable(input: readonly ReadableSpan[] | readonly ServiceRow[], options: ViewOptions): string {
  const rows = isRows(input) ? [...input] : serviceRows(buildGraph(input));
  if (rows.length === 0) return 'no services';
  const { color } = options;
  const cells = rows.map((r) => ({
    row: r,
    requests: formatCount(r.requests),
    errors: formatCount(r.errors),
    percent: formatPercent(r.errors, r.requests),
    p50: r.requests ? formatMs(r.p50) : '-',
    p99: r.requests ? formatMs(r.p99) : '-',
  }));
  const head = { requests: 'requests', errors: 'errors', percent: 'error %', p50: 'p50', p99: 'p99' };
  const w = {
    requests: Math.max(head.requests.length, ...cells.map((c) => c.requests.length)),
    errors: Math.max(head.errors.length, ...cells.map((c) => c.errors.length)),
    percent: Math.max(head.percent.length, ...cells.map((c) => c.percent.length)),
    p50: Math.max(head.p50.length, ...cells.map((c) => c.p50.length)),
    p99: Math.max(head.p99.length, ...cells.map((c) => c.p99.length)),
  };
  const numbers = w.requests + w.errors + w.percent + w.p50 + w.p99 + 10;
  const kindWidth = 8;
  const nameWidth = Math.max(8, Math.min(Math.max(7, ...rows.map((r) => displayName(r.service).length)), options.width - numbers - kindWidth - 2));
  const line = (name: string, kind: string, c: typeof head, styles: Partial<Record<keyof typeof head, Parameters<typeof paint>[1]>> = {}) =>
    [
      padEnd(fit(name, nameWidth), nameWidth),
      padEnd(kind, kindWidth),
      paintCell(padStart(c.requests, w.requests), styles.requests, color),
      paintCell(padStart(c.errors, w.errors), styles.errors, color),
      paintCell(padStart(c.percent, w.percent), styles.percent, color),
      paintCell(padStart(c.p50, w.p50), styles.p50, color),
      paintCell(padStart(c.p99, w.p99), styles.p99, color),
    ].join('  ');
  const out = [paint(line('service', 'kind', head), 'bold', color)];
  for (const c of cells) {
    const failing = c.row.errors > 0;
    out.push(
      line(displayName(c.row.service), c.row.kind, c, {
        errors: failing ? 'red' : undefined,
        percent: failing ? 'red' : undefined,
        p99: c.row.requests && c.row.p99 >= SLOW_MS ? 'magenta' : undefined,
      }).trimEnd(),
    );
  }
  return out.join('\n');
}

function paintCell(text: string, style: Parameters<typeof paint>[1] | undefined, color: boolean): string {
  return style ? paint(text, style, color) : text;
}

function isRows(input: readonly ReadableSpan[] | readonly ServiceRow[]): input is readonly ServiceRow[] {
  return input.length > 0 && 'service' in input[0] && 'p99' in input[0];
}

function buildGraph(spans: readonly ReadableSpan[]): ServiceGraph {
  const builder = new ServiceGraphBuilder();
  builder.add(spans);
  return builder.build();
}
