import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, TraceFlags, type Attributes, type HrTime, type SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ServiceGraphBuilder } from '../graph/builder.js';
import type { ServiceGraph } from '../graph/types.js';
import { toJaegerTrace } from './convert/jaeger-json.js';
import { sendJson } from './http.js';
import { QueryParamError, parseGoDurationMicros } from './query-params.js';
import type { StoredSpan, Tag } from './span.js';
import type { MemoryStore } from './store/memory.js';

/*
 * The web UI's service map reads wiretrace's own service graph (nodes with
 * kinds, edges with rates, errors and latency percentiles), computed by the
 * same ServiceGraphBuilder the agent uses, over the traces in the store:
 *
 *   GET /api/graph?endTs=<ms>&lookback=<ms | Go duration>
 *       → { data: ServiceGraph, total: 1, ... }
 *   GET /api/graph/traces?from=A&to=B | ?node=N, &endTs, &lookback, &limit
 *       → { data: JaegerTrace[], ... } the most recent traces whose own
 *         graph has that edge (or node): what is behind a line on the map.
 *
 * Both answer in Jaeger's envelope so the UI reads every endpoint alike.
 */

export interface GraphEndpointOptions {
  store: MemoryStore;
  nowUs?: () => number;
  /** Traces a single /api/graph request reads at most (most recent first); the rest is left out and reported. */
  maxTraces?: number;
}

const DEFAULT_LOOKBACK_MS = 3600 * 1000;
const DEFAULT_TRACE_LIMIT = 20;
const MAX_TRACE_LIMIT = 1500;

const toHr = (us: number): HrTime => [Math.floor(us / 1e6), (us % 1e6) * 1000];

function attributesOf(tags: readonly Tag[]): Attributes {
  const out: Attributes = {};
  for (const t of tags) out[t.key] = t.value;
  return out;
}

/** A stored span seen through the ReadableSpan interface the graph builder reads. */
export function readableFromStored(span: StoredSpan): ReadableSpan {
  const spanContext = { traceId: span.traceId, spanId: span.spanId, traceFlags: span.flags || TraceFlags.NONE };
  return {
    name: span.name,
    // OTLP counts kinds from UNSPECIFIED = 0, the api from INTERNAL = 0.
    kind: span.kind === 0 ? SpanKind.INTERNAL : ((span.kind - 1) as SpanKind),
    spanContext: () => spanContext,
    parentSpanContext: span.parentSpanId ? { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: TraceFlags.NONE } : undefined,
    startTime: toHr(span.startUs),
    endTime: toHr(span.startUs + span.durationUs),
    status: { code: span.statusCode as SpanStatusCode, message: span.statusMessage || undefined },
    attributes: attributesOf(span.attributes),
    links: [],
    events: [],
    duration: toHr(span.durationUs),
    ended: true,
    resource: resourceFromAttributes({ ...attributesOf(span.resource), 'service.name': span.service }),
    instrumentationScope: { name: span.scopeName, version: span.scopeVersion || undefined },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function windowOf(params: URLSearchParams, nowUs: number): { startUs: number; endUs: number } {
  const endRaw = params.get('endTs');
  const endMs = endRaw ? Number(endRaw) : nowUs / 1000;
  if (!Number.isFinite(endMs)) throw new QueryParamError(`unable to parse param 'endTs': "${endRaw}"`);
  const lookbackRaw = params.get('lookback');
  const lookbackMs = !lookbackRaw ? DEFAULT_LOOKBACK_MS : /^\d+$/.test(lookbackRaw) ? Number(lookbackRaw) : parseGoDurationMicros(lookbackRaw, true) / 1000;
  return { startUs: (endMs - lookbackMs) * 1000, endUs: endMs * 1000 };
}

/** The service graph of the traces with a span starting in [startUs, endUs], at most `maxTraces` of the most recent. */
export function graphOfStore(store: MemoryStore, startUs: number, endUs: number, maxTraces = 50_000): { graph: ServiceGraph; traces: number; truncated: boolean } {
  const builder = new ServiceGraphBuilder();
  let traces = 0;
  let truncated = false;
  for (const spans of store.tracesBetween(startUs, endUs)) {
    if (traces >= maxTraces) {
      truncated = true;
      break;
    }
    builder.add(spans.map(readableFromStored));
    traces++;
  }
  return { graph: builder.build(), traces, truncated };
}

function traceHas(spans: readonly StoredSpan[], from: string | null, to: string | null, node: string | null): boolean {
  const builder = new ServiceGraphBuilder();
  builder.add(spans.map(readableFromStored));
  const graph = builder.build();
  if (node !== null) return graph.nodes.some((n) => n.id === node);
  return graph.edges.some((e) => e.from === from && e.to === to);
}

/** Handles /api/graph and /api/graph/traces; answers false for any other path so the caller can route on. */
export function graphHandler(options: GraphEndpointOptions): (req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams) => boolean {
  const { store } = options;
  const nowUs = options.nowUs ?? (() => Date.now() * 1000);
  const maxTraces = options.maxTraces ?? 50_000;
  return (_req, res, path, params) => {
    if (path === '/api/graph') {
      const { startUs, endUs } = windowOf(params, nowUs());
      const { graph, traces, truncated } = graphOfStore(store, startUs, endUs, maxTraces);
      const errors = truncated ? [{ code: 206, msg: `graph of the ${traces} most recent traces only` }] : null;
      sendJson(res, 200, { data: graph, total: traces, limit: maxTraces, offset: 0, errors });
      return true;
    }
    if (path === '/api/graph/traces') {
      const from = params.get('from');
      const to = params.get('to');
      const node = params.get('node');
      if (node === null && (from === null || to === null)) throw new QueryParamError("either 'node' or both 'from' and 'to' are required");
      const limitRaw = Number(params.get('limit') ?? DEFAULT_TRACE_LIMIT);
      const limit = Number.isInteger(limitRaw) && limitRaw > 0 ? Math.min(limitRaw, MAX_TRACE_LIMIT) : DEFAULT_TRACE_LIMIT;
      const { startUs, endUs } = windowOf(params, nowUs());
      const found: StoredSpan[][] = [];
      let scanned = 0;
      for (const spans of store.tracesBetween(startUs, endUs)) {
        if (found.length >= limit || scanned >= maxTraces) break;
        scanned++;
        if (traceHas(spans, from, to, node)) found.push(spans);
      }
      sendJson(res, 200, { data: found.map(toJaegerTrace), total: found.length, limit, offset: 0, errors: null });
      return true;
    }
    return false;
  };
}
