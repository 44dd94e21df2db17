import type { KeyValue, LiveSummary, Span, Trace } from './jaeger.js';

/*
 * A Jaeger trace as the waterfall and the result list read it. Pure (no
 * DOM): the Node tests check the ordering the browser tests then look for.
 */

export interface SpanNode {
  span: Span;
  service: string;
  depth: number;
  parent: SpanNode | undefined;
  children: SpanNode[];
  isError: boolean;
  /** Position in tree order. */
  index: number;
}

export interface TraceTree {
  traceId: string;
  roots: SpanNode[];
  /** Every span once, parent before children, siblings by start time. */
  ordered: SpanNode[];
  startUs: number;
  endUs: number;
  /** Deepest nesting, 1 for a lone root. */
  depth: number;
  /** Spans per service, most first. */
  services: Array<[string, number]>;
  errorCount: number;
}

export function tagValue(tags: readonly KeyValue[], key: string): KeyValue['value'] | undefined {
  for (const t of tags) if (t.key === key) return t.value;
  return undefined;
}

/** A span is an error when Jaeger's `error` tag is true or its OpenTelemetry status is ERROR. */
export function isErrorSpan(span: Span): boolean {
  const error = tagValue(span.tags, 'error');
  if (error === true || error === 'true') return true;
  return tagValue(span.tags, 'otel.status_code') === 'ERROR';
}

const byStart = (a: SpanNode, b: SpanNode): number => a.span.startTime - b.span.startTime || (a.span.spanID < b.span.spanID ? -1 : a.span.spanID > b.span.spanID ? 1 : 0);

/**
 * Parent = the first CHILD_OF reference to a span of this trace; a span whose
 * parent is missing is shown as a root. Walks iteratively, so a deep trace
 * cannot overflow the stack, and a reference cycle (bad data) is cut where
 * the walk first meets it.
 */
export function buildTree(trace: Trace): TraceTree {
  const nodes: SpanNode[] = [];
  const byId = new Map<string, SpanNode>();
  let startUs = Infinity;
  let endUs = -Infinity;
  for (const span of trace.spans) {
    const node: SpanNode = {
      span,
      service: trace.processes[span.processID]?.serviceName ?? span.processID,
      depth: 0,
      parent: undefined,
      children: [],
      isError: isErrorSpan(span),
      index: -1,
    };
    nodes.push(node);
    if (!byId.has(span.spanID)) byId.set(span.spanID, node);
    if (span.startTime < startUs) startUs = span.startTime;
    if (span.startTime + span.duration > endUs) endUs = span.startTime + span.duration;
  }
  const roots: SpanNode[] = [];
  for (const node of nodes) {
    const ref = node.span.references.find((r) => r.refType === 'CHILD_OF' && byId.has(r.spanID) && byId.get(r.spanID) !== node);
    const parent = ref ? byId.get(ref.spanID) : undefined;
    if (parent) {
      node.parent = parent;
      parent.children.push(node);
    } else {
      roots.push(node);
    }
  }
  for (const node of nodes) if (node.children.length > 1) node.children.sort(byStart);
  roots.sort(byStart);

  const ordered: SpanNode[] = [];
  let depth = 0;
  const walk = (from: SpanNode[]): void => {
    const stack: SpanNode[] = from.slice().reverse();
    while (stack.length > 0) {
      const node = stack.pop() as SpanNode;
      if (node.index >= 0) continue;
      node.depth = node.parent && node.parent.index >= 0 ? node.parent.depth + 1 : 0;
      node.index = ordered.length;
      ordered.push(node);
      if (node.depth + 1 > depth) depth = node.depth + 1;
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
    }
  };
  walk(roots);
  // Spans in a parent cycle are reached from no root: each cycle gets a root where it is cut.
  for (const node of nodes) {
    if (node.index >= 0) continue;
    if (node.parent) node.parent.children.splice(node.parent.children.indexOf(node), 1);
    node.parent = undefined;
    roots.push(node);
    walk([node]);
  }

  const services = new Map<string, number>();
  let errorCount = 0;
  for (const node of ordered) {
    services.set(node.service, (services.get(node.service) ?? 0) + 1);
    if (node.isError) errorCount++;
  }
  return {
    traceId: trace.traceID,
    roots,
    ordered,
    startUs: Number.isFinite(startUs) ? startUs : 0,
    endUs: Number.isFinite(endUs) ? endUs : 0,
    depth,
    services: [...services].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
    errorCount,
  };
}

/** One line of the result list, from a full trace or from the live feed's summary. */
export interface TraceRow {
  traceId: string;
  rootService: string;
  rootName: string;
  startUs: number;
  durationUs: number;
  spanCount: number;
  errorCount: number;
  /** Services with their span counts (undefined when only the names are known). */
  services: Array<[string, number | undefined]>;
}

export function rowOfTrace(trace: Trace): TraceRow {
  const tree = buildTree(trace);
  const root = tree.roots[0];
  return {
    traceId: trace.traceID,
    rootService: root?.service ?? '',
    rootName: root?.span.operationName ?? '',
    startUs: tree.startUs,
    durationUs: tree.endUs - tree.startUs,
    spanCount: tree.ordered.length,
    errorCount: tree.errorCount,
    services: tree.services,
  };
}

/** Jaeger prints a trace id whose high half is zero with 16 digits; the live feed always with 32. */
export function shortTraceId(id: string): string {
  return id.length === 32 && id.startsWith('0000000000000000') ? id.slice(16) : id;
}

export function rowOfSummary(s: LiveSummary): TraceRow {
  return {
    traceId: shortTraceId(s.traceId),
    rootService: s.rootService,
    rootName: s.rootName,
    startUs: s.startUs,
    durationUs: s.durationUs,
    spanCount: s.spanCount,
    errorCount: s.errorCount,
    services: s.services.map((name) => [name, undefined]),
  };
}

/** What a search asks for, as the URL carries it. */
export interface SearchState {
  service: string;
  operation: string;
  /** `key=value` pairs separated by spaces or new lines. */
  tags: string;
  /** A lookback such as 1h, "all", or "custom" (then start/end). */
  lookback: string;
  /** Epoch microseconds, for a custom range. */
  start: string;
  end: string;
  minDuration: string;
  maxDuration: string;
  limit: string;
  /** Traces behind a service-map edge (from → to) or node. */
  from: string;
  to: string;
  node: string;
}

/** Parses `a=b c="d e"` into pairs; a token without `=` is an error message. */
export function parseTagFilter(text: string): { pairs: Array<[string, string]>; error?: string } {
  const pairs: Array<[string, string]> = [];
  const re = /\s*([^\s=]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/y;
  let rest = text.trim();
  while (rest.length > 0) {
    re.lastIndex = 0;
    const m = re.exec(rest);
    if (!m) return { pairs, error: `"${rest.split(/\s+/)[0]}" is not key=value` };
    pairs.push([m[1], m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '')]);
    rest = rest.slice(re.lastIndex).trim();
  }
  return { pairs };
}

const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** A duration as typed (100ms, 1.5s, 2m) in microseconds, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!GO_DURATION.test(t)) return undefined;
  const units: Record<string, number> = { ns: 1e-3, us: 1, µs: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]];
  return total;
}

/** Lookbacks offered, as Go durations the API accepts. */
export const LOOKBACKS: Array<[string, string]> = [
  ['5m', 'Last 5 minutes'],
  ['15m', 'Last 15 minutes'],
  ['1h', 'Last hour'],
  ['6h', 'Last 6 hours'],
  ['24h', 'Last 24 hours'],
  ['168h', 'Last 7 days'],
  ['all', 'All stored'],
  ['custom', 'Custom range'],
];

export function lookbackMicros(lookback: string): number | undefined {
  if (lookback === 'all' || lookback === 'custom' || lookback === '') return undefined;
  return parseDuration(lookback);
}

/**
 * Whether a trace the live feed announces belongs in the current results:
 * true or false where the summary can tell, 'maybe' where the search filters
 * on what a summary does not carry (operation, tags).
 */
export function summaryMatches(s: LiveSummary, q: SearchState, nowMs: number): boolean | 'maybe' {
  if (q.from || q.node) return 'maybe';
  if (q.service && !s.services.includes(q.service)) return false;
  const min = q.minDuration ? parseDuration(q.minDuration) : undefined;
  const max = q.maxDuration ? parseDuration(q.maxDuration) : undefined;
  if (min !== undefined && s.durationUs < min) return false;
  if (max !== undefined && s.durationUs > max) return false;
  if (q.lookback === 'custom') {
    if (q.start && s.startUs + s.durationUs < Number(q.start)) return false;
    if (q.end && s.startUs > Number(q.end)) return false;
  } else {
    const back = lookbackMicros(q.lookback);
    if (back !== undefined && s.startUs + s.durationUs < nowMs * 1000 - back) return false;
  }
  if (q.operation || q.tags.trim()) return 'maybe';
  return true;
}
