import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { displayName, formatMs } from '../graph/format.js';
import { durationMs, isErrorSpan, peerOf, serviceOf, startMs, stringAttr } from '../graph/span-facts.js';
import { fit, padEnd, padStart, paint, visibleLength, type ViewOptions } from './ansi.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
import { TracePicker, type PickedTrace } from './trace-picker.js';

const KIND_NAMES = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

/** Lines shown per trace; the rest are summarised in one line. */
const MAX_LINES_PER_TRACE = 60;

export interface TraceSpanJson {
  spanId: string;
  parentSpanId?: string;
  depth: number;
  service: string;
  kind: string;
  name: string;
  /** HTTP status code when the span has one. */
  statusCode?: number;
  error: boolean;
  errorMessage?: string;
  /** Milliseconds from the trace's start. */
  startOffsetMs: number;
  durationMs: number;
  attributes: Record<string, string>;
}

export interface TraceJson {
  traceId: string;
  durationMs: number;
  spanCount: number;
  services: string[];
  errors: number;
  omittedSpans: number;
  spans: TraceSpanJson[];
}

interface TreeLine {
  span: ReadableSpan;
  depth: number;
  /** Tree guides drawn before the label ("│  ├─ "). */
  guide: string;
}

/** Spans in tree order: children under their parent in start order; spans whose parent is absent are roots. */
function treeOrder(spans: readonly ReadableSpan[]): TreeLine[] {
  const sorted = [...spans].sort((a, b) => startMs(a) - startMs(b) || kindRank(a) - kindRank(b));
  const ids = new Set(sorted.map((s) => s.spanContext().spanId));
  const children = new Map<string, ReadableSpan[]>();
  const roots: ReadableSpan[] = [];
  for (const span of sorted) {
    const parent = span.parentSpanContext?.spanId;
    if (parent && ids.has(parent) && parent !== span.spanContext().spanId) {
      const list = children.get(parent);
      if (list) list.push(span);
      else children.set(parent, [span]);
    } else roots.push(span);
  }
  const out: TreeLine[] = [];
  const seen = new Set<string>();
  const walk = (span: ReadableSpan, depth: number, prefix: string, guide: string): void => {
    const id = span.spanContext().spanId;
    if (seen.has(id)) return; // a parent cycle in hostile input
    seen.add(id);
    out.push({ span, depth, guide });
    const kids = children.get(id) ?? [];
    kids.forEach((kid, i) => {
      const last = i === kids.length - 1;
      walk(kid, depth + 1, prefix + (last ? '   ' : '│  '), prefix + (last ? '└─ ' : '├─ '));
    });
  };
  for (const root of roots) walk(root, 0, '', '');
  // Spans only reachable through a cycle are shown as roots rather than lost.
  for (const span of sorted) if (!seen.has(span.spanContext().spanId)) walk(span, 0, '', '');
  return out;
}

/** A client span starts just before the server span it caused: client first at equal times. */
function kindRank(span: ReadableSpan): number {
  return span.kind === SpanKind.CLIENT ? 0 : span.kind === SpanKind.SERVER ? 1 : 2;
}

function statusCodeOf(span: ReadableSpan): number | undefined {
  const v = span.attributes['http.response.status_code'];
  return typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** The few attributes worth a glance: what was not complete, what was guessed, and where a lone client call went. */
function keyAttributes(span: ReadableSpan, hasChildren: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const outcome = stringAttr(span, 'wiretrace.outcome');
  if (outcome && outcome !== 'complete') out['wiretrace.outcome'] = outcome;
  const link = stringAttr(span, 'wiretrace.link');
  if (link) out['wiretrace.link'] = link;
  const errorType = stringAttr(span, 'error.type');
  if (errorType && isErrorSpan(span)) out['error.type'] = errorType;
  if (span.kind === SpanKind.CLIENT && !hasChildren) out.peer = peerOf(span).name;
  return out;
}

function describe(attrs: Record<string, string>): string {
  const parts: string[] = [];
  if (attrs.peer) parts.push(`→ ${displayName(attrs.peer)}`);
  if (attrs['wiretrace.outcome']) parts.push(`[${attrs['wiretrace.outcome']}]`);
  if (attrs['wiretrace.link'] === 'inferred') parts.push('[inferred link]');
  return parts.join(' ');
}

export function traceToJson(trace: PickedTrace): TraceJson {
  const lines = treeOrder(trace.spans);
  const parentIds = new Set(trace.spans.map((s) => s.parentSpanContext?.spanId).filter((x): x is string => !!x));
  return {
    traceId: trace.traceId,
    durationMs: trace.end - trace.start,
    spanCount: trace.spans.length + trace.omittedSpans,
    services: [...new Set(trace.spans.map(serviceOf))].sort(),
    errors: trace.errors,
    omittedSpans: trace.omittedSpans,
    spans: lines.map(({ span, depth }) => {
      const statusCode = statusCodeOf(span);
      const error = isErrorSpan(span);
      return {
        spanId: span.spanContext().spanId,
        ...(span.parentSpanContext?.spanId ? { parentSpanId: span.parentSpanContext.spanId } : {}),
        depth,
        service: serviceOf(span),
        kind: KIND_NAMES[span.kind] ?? String(span.kind),
        name: span.name,
        ...(statusCode !== undefined ? { statusCode } : {}),
        error,
        ...(error && span.status.message ? { errorMessage: span.status.message } : {}),
        startOffsetMs: startMs(span) - trace.start,
        durationMs: durationMs(span),
        attributes: keyAttributes(span, parentIds.has(span.spanContext().spanId)),
      };
    }),
  };
}

function bar(offsetMs: number, lengthMs: number, totalMs: number, width: number): { before: number; filled: number } {
  if (totalMs <= 0) return { before: 0, filled: width };
  let before = Math.floor((offsetMs / totalMs) * width);
  before = Math.min(Math.max(before, 0), width - 1);
  const filled = Math.min(width - before, Math.max(1, Math.round((lengthMs / totalMs) * width)));
  return { before, filled };
}

/** One trace as a tree: one line per span, a duration bar on the trace's common time axis. */
export function renderTrace(trace: PickedTrace, options: ViewOptions): string {
  const { color } = options;
  const json = traceToJson(trace);
  const header = [
    paint(`trace ${trace.traceId}`, 'bold', color),
    formatMs(json.durationMs),
    `${json.spanCount} span${json.spanCount === 1 ? '' : 's'}`,
    `${json.services.length} service${json.services.length === 1 ? '' : 's'}`,
  ];
  if (json.errors) header.push(paint(`${json.errors} error${json.errors === 1 ? '' : 's'}`, 'red', color));
  const plainLength = header.reduce((n, part) => n + visibleLength(part.replace(ANSI, '')) + 3, -3);
  // A narrow terminal gets the figures on a line of their own rather than a wrapped header.
  const out = plainLength <= options.width ? [header.join(' · ')] : [header[0], '  ' + header.slice(1).join(' · ')];

  const width = Math.max(50, options.width);
  const barWidth = Math.min(40, Math.max(10, Math.floor(width * 0.3)));
  const statusWidth = 4;
  const durationWidth = 9;
  const markerWidth = 1;
  const labelWidth = width - 2 - barWidth - statusWidth - durationWidth - markerWidth - 4 * 2;
  const lines = treeOrder(trace.spans);
  lines.slice(0, MAX_LINES_PER_TRACE).forEach((line, i) => {
    const s = json.spans[i];
    const error = s.error;
    const extra = describe(s.attributes);
    const label = `${line.guide}${displayName(s.service)} ${s.kind} ${displayName(s.name)}${extra ? ` ${extra}` : ''}`;
    const status = s.statusCode !== undefined ? String(s.statusCode) : error ? 'ERR' : '-';
    const { before, filled } = bar(s.startOffsetMs, s.durationMs, json.durationMs, barWidth);
    const fillStyle = error ? 'red' : line.span.kind === SpanKind.CLIENT ? 'cyan' : 'green';
    const barText =
      paint('·'.repeat(before), 'dim', color) + paint('█'.repeat(filled), fillStyle, color) + paint('·'.repeat(barWidth - before - filled), 'dim', color);
    out.push(
      [
        '  ' + padEnd(fit(label, labelWidth), labelWidth),
        paint(padStart(status, statusWidth), error ? 'red' : 'dim', color),
        padStart(formatMs(s.durationMs), durationWidth),
        barText,
        error ? paint('✗', 'red', color) : ' ',
      ]
        .join('  ')
        .trimEnd(),
    );
  });
  const hidden = lines.length - Math.min(lines.length, MAX_LINES_PER_TRACE) + trace.omittedSpans;
  if (hidden > 0) out.push(paint(`  … ${hidden} more span${hidden === 1 ? '' : 's'}`, 'dim', color));
  return out.join('\n');
}

export interface TraceTreeOptions extends ViewOptions {
  slowest?: number;
  failing?: number;
}

/** The n slowest traces and the first n failing ones (not already shown), as trees. */
export function traceTrees(input: readonly ReadableSpan[] | TracePicker, options: TraceTreeOptions): string {
  let picker: TracePicker;
  if (input instanceof TracePicker) picker = input;
  else {
    picker = new TracePicker({ slowest: options.slowest, failing: options.failing });
    picker.add(input);
  }
  const slowest = picker.slowest().slice(0, options.slowest ?? Infinity);
  const failing = picker.failing().slice(0, options.failing ?? Infinity);
  const sections: string[] = [];
  const { color } = options;
  if (slowest.length) {
    sections.push(paint(`Slowest traces (${slowest.length} of ${picker.tracesSeen})`, 'bold', color) + '\n\n' + slowest.map((t) => renderTrace(t, options)).join('\n\n'));
  }
  if (failing.length) {
    sections.push(paint(`Failing traces (first ${failing.length} not shown above)`, 'bold', color) + '\n\n' + failing.map((t) => renderTrace(t, options)).join('\n\n'));
  }
  if (!sections.length) return 'no traces';
  return sections.join('\n\n');
}
