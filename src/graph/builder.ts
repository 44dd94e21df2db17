import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Stats } from '../model/stats.js';
import { LogHistogram } from './histogram.js';
import {
  durationMs,
  endMs,
  isErrorSpan,
  isExternalOwner,
  numberAttr,
  peerOf,
  serviceOf,
  servesDatabase,
  startMs,
  stringAttr,
} from './span-facts.js';
import type { GraphEdge, GraphNode, LatencySummary, NodeKind, ServiceGraph } from './types.js';

export interface ServiceGraphBuilderOptions {
  /** Nodes kept; spans of further services are counted in dropped.nodeLimit. Default 10,000. */
  maxNodes?: number;
  /** Edges kept; requests on further edges are counted in dropped.edgeLimit. Default 10,000. */
  maxEdges?: number;
  /** Spans held while they wait for their partner (a SERVER child, or a parent). Default 100,000. */
  maxPending?: number;
  /** Span time a span waits for its partner before it is resolved alone. Default 30 s (spans.linkWindowSeconds). */
  pendingWindowSeconds?: number;
  /** Drops at the limits are also counted here, under drops 'graph-max-nodes', 'graph-max-edges', 'graph-max-pending'. */
  stats?: Stats;
}

const KIND_DATABASE = 1;
const KIND_SERVICE = 2;
const KIND_EXTERNAL = 4;

class NodeAggregate {
  kindEvidence = 0;
  requests = 0;
  errors = 0;
  latency = new LogHistogram();
  constructor(readonly name: string) {}
  clone(): NodeAggregate {
    const c = new NodeAggregate(this.name);
    c.kindEvidence = this.kindEvidence;
    c.requests = this.requests;
    c.errors = this.errors;
    c.latency = this.latency.clone();
    return c;
  }
}

class EdgeAggregate {
  requests = 0;
  errors = 0;
  latency = new LogHistogram();
  bytesSent = 0;
  bytesReceived = 0;
  constructor(
    readonly from: string,
    readonly to: string,
  ) {}
  clone(): EdgeAggregate {
    const c = new EdgeAggregate(this.from, this.to);
    c.requests = this.requests;
    c.errors = this.errors;
    c.latency = this.latency.clone();
    c.bytesSent = this.bytesSent;
    c.bytesReceived = this.bytesReceived;
    return c;
  }
}

/** What is kept of a span while it may still be someone's parent. */
interface SpanRef {
  span: ReadableSpan;
  service: string;
  end: number;
  /** A CLIENT span some SERVER span has answered. */
  answered: boolean;
}

/** A SERVER span whose parent has not been seen yet. */
interface WaitingServer {
  span: ReadableSpan;
  end: number;
}

/** Where resolved requests are recorded: the builder's own maps, or a copy-on-write overlay for build(). */
interface Target {
  nodes: Map<string, NodeAggregate>;
  edges: Map<string, EdgeAggregate>;
  /** Keys already copied into an overlay (undefined: write in place). */
  copied?: Set<string>;
}

function edgeKey(from: string, to: string): string {
  return `${from.length}:${from}${to}`;
}

function summarize(h: LogHistogram): LatencySummary {
  return { p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99) };
}

function kindOf(evidence: number): NodeKind {
  if (evidence & KIND_DATABASE) return 'database';
  if (evidence & KIND_SERVICE) return 'service';
  return 'external';
}

/**
 * Builds the service graph from spans as they stream in. A SERVER span whose
 * parent is a CLIENT span is one request on the edge caller → callee; a
 * SERVER span whose parent is another service's span (client spans turned
 * off) is one too. A CLIENT span that no SERVER span answers within the
 * pending window is a call to a peer nobody instruments (database, external
 * API), named from its attributes.
 */
export class ServiceGraphBuilder {
  readonly #maxNodes: number;
  readonly #maxEdges: number;
  readonly #maxPending: number;
  readonly #windowMs: number;
  readonly #stats: Stats | undefined;

  readonly #nodes = new Map<string, NodeAggregate>();
  readonly #edges = new Map<string, EdgeAggregate>();
  /** Recent spans by span id, oldest first: parents for children still to come. */
  readonly #recent = new Map<string, SpanRef>();
  /** SERVER spans waiting for a parent, by the parent's span id. */
  readonly #waiting = new Map<string, WaitingServer[]>();
  #waitingCount = 0;
  /** Latest span end seen (ms): pending spans older than it by the window are resolved alone. */
  #watermark = -Infinity;
  #windowStart = Infinity;
  #windowEnd = -Infinity;
  #unknownCallers = 0;
  readonly #dropped = { nodeLimit: 0, edgeLimit: 0, pendingLimit: 0 };

  constructor(options: ServiceGraphBuilderOptions = {}) {
    this.#maxNodes = options.maxNodes ?? 10_000;
    this.#maxEdges = options.maxEdges ?? 10_000;
    this.#maxPending = options.maxPending ?? 100_000;
    this.#windowMs = (options.pendingWindowSeconds ?? 30) * 1e3;
    this.#stats = options.stats;
  }

  add(spans: readonly ReadableSpan[]): void {
    const own: Target = { nodes: this.#nodes, edges: this.#edges };
    for (const span of spans) {
      const start = startMs(span);
      const end = endMs(span);
      if (start < this.#windowStart) this.#windowStart = start;
      if (end > this.#windowEnd) this.#windowEnd = end;
      if (end > this.#watermark) this.#watermark = end;
      this.#noteOwner(span, own);
      const id = span.spanContext().spanId;
      this.#recent.delete(id); // re-inserted last: the map stays in arrival order
      this.#recent.set(id, { span, service: serviceOf(span), end, answered: false });
    }
    for (const span of spans) {
      if (span.kind === SpanKind.SERVER) this.#resolveServer(span, endMs(span), own, true);
    }
    for (const span of spans) {
      const waiting = this.#waiting.get(span.spanContext().spanId);
      if (!waiting) continue;
      this.#waiting.delete(span.spanContext().spanId);
      this.#waitingCount -= waiting.length;
      for (const w of waiting) this.#resolveServer(w.span, w.end, own, false);
    }
    this.#expire(own);
  }

  /** The graph so far. Spans still waiting for a partner are counted as if none will come; they keep waiting. */
  build(): ServiceGraph {
    const overlay: Target = { nodes: new Map(this.#nodes), edges: new Map(this.#edges), copied: new Set() };
    for (const ref of this.#recent.values()) {
      if (ref.span.kind === SpanKind.CLIENT && !ref.answered) this.#recordPeerCall(ref, overlay);
    }
    let unknownCallers = this.#unknownCallers;
    for (const list of this.#waiting.values()) {
      for (const w of list) if (!this.#recordCallerless(w.span, overlay)) unknownCallers++;
    }
    const windowStart = Number.isFinite(this.#windowStart) ? this.#windowStart : 0;
    const windowEnd = Number.isFinite(this.#windowEnd) ? this.#windowEnd : 0;
    const seconds = (windowEnd - windowStart) / 1e3;
    const nodes: GraphNode[] = [...overlay.nodes.values()]
      .map((n) => ({ id: n.name, name: n.name, kind: kindOf(n.kindEvidence), requests: n.requests, errors: n.errors, latency: summarize(n.latency) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const edges: GraphEdge[] = [...overlay.edges.values()]
      .map((e) => ({
        from: e.from,
        to: e.to,
        requests: e.requests,
        errors: e.errors,
        ratePerSecond: seconds > 0 ? e.requests / seconds : 0,
        latency: summarize(e.latency),
        bytesSent: e.bytesSent,
        bytesReceived: e.bytesReceived,
      }))
      .sort((a, b) => (a.from !== b.from ? (a.from < b.from ? -1 : 1) : a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
    return { nodes, edges, window: { start: windowStart, end: windowEnd }, unknownCallers, dropped: { ...this.#dropped } };
  }

  /** Every span names the node of the service that produced it. */
  #noteOwner(span: ReadableSpan, into: Target): void {
    const node = this.#node(serviceOf(span), into);
    if (!node) {
      this.#drop('nodeLimit', 'graph-max-nodes');
      return;
    }
    if (isExternalOwner(span)) node.kindEvidence |= KIND_EXTERNAL;
    else node.kindEvidence |= KIND_SERVICE;
    if (span.kind === SpanKind.SERVER) {
      if (servesDatabase(span)) node.kindEvidence |= KIND_DATABASE;
      node.requests++;
      if (isErrorSpan(span)) node.errors++;
      node.latency.record(durationMs(span));
    }
  }

  #resolveServer(span: ReadableSpan, end: number, into: Target, mayWait: boolean): void {
    const parentId = span.parentSpanContext?.spanId;
    let parent = parentId ? this.#recent.get(parentId) : undefined;
    if (parent && parent.span.spanContext().traceId !== span.spanContext().traceId) parent = undefined;
    if (parent) {
      const callee = serviceOf(span);
      if (parent.span.kind === SpanKind.CLIENT) {
        parent.answered = true;
        this.#recordCall(parent.service, callee, parent.span, span, into);
      } else if (parent.service !== callee) {
        // Client spans turned off: the parent is the caller's own server span.
        this.#recordCall(parent.service, callee, undefined, span, into);
      }
      return;
    }
    if (parentId && mayWait) {
      let list = this.#waiting.get(parentId);
      if (!list) this.#waiting.set(parentId, (list = []));
      list.push({ span, end });
      this.#waitingCount++;
      return;
    }
    if (!this.#recordCallerless(span, into)) this.#unknownCallers++;
  }

  /**
   * A wire SERVER span with no caller span (client spans off and the caller
   * not captured as a server) still names its client by address.
   */
  #recordCallerless(span: ReadableSpan, into: Target): boolean {
    if (span.attributes['wiretrace.outcome'] === undefined) return false;
    const clientAddress = stringAttr(span, 'client.address');
    if (clientAddress === undefined) return false;
    const node = this.#node(clientAddress, into);
    if (!node) {
      this.#drop('nodeLimit', 'graph-max-nodes');
      return true;
    }
    node.kindEvidence |= KIND_EXTERNAL;
    this.#recordCall(clientAddress, serviceOf(span), undefined, span, into);
    return true;
  }

  #recordPeerCall(ref: SpanRef, into: Target): void {
    const peer = peerOf(ref.span);
    const node = this.#node(peer.name, into);
    if (!node) {
      this.#drop('nodeLimit', 'graph-max-nodes');
      return;
    }
    node.kindEvidence |= peer.kind === 'database' ? KIND_DATABASE : KIND_EXTERNAL;
    node.requests++;
    if (isErrorSpan(ref.span)) node.errors++;
    node.latency.record(durationMs(ref.span));
    this.#recordCall(ref.service, peer.name, ref.span, undefined, into);
  }

  #recordCall(from: string, to: string, client: ReadableSpan | undefined, server: ReadableSpan | undefined, into: Target): void {
    if (!into.nodes.has(from) || !into.nodes.has(to)) {
      // One end was refused at maxNodes (and counted there); an edge to nowhere would lie.
      this.#drop('nodeLimit', 'graph-max-nodes');
      return;
    }
    const key = edgeKey(from, to);
    let edge = into.edges.get(key);
    if (edge && into.copied && !into.copied.has(key)) {
      edge = edge.clone();
      into.edges.set(key, edge);
      into.copied.add(key);
    }
    if (!edge) {
      if (into.edges.size >= this.#maxEdges) {
        this.#drop('edgeLimit', 'graph-max-edges');
        return;
      }
      edge = new EdgeAggregate(from, to);
      into.edges.set(key, edge);
      into.copied?.add(key);
    }
    const measured = client ?? server;
    if (!measured) return;
    edge.requests++;
    if ((client && isErrorSpan(client)) || (server && isErrorSpan(server))) edge.errors++;
    edge.latency.record(durationMs(measured));
    edge.bytesSent += bodyBytes(client, server, 'http.request.body.size');
    edge.bytesReceived += bodyBytes(client, server, 'http.response.body.size');
  }

  #node(name: string, into: Target): NodeAggregate | undefined {
    const key = `n:${name}`;
    let node = into.nodes.get(name);
    if (node && into.copied && !into.copied.has(key)) {
      node = node.clone();
      into.nodes.set(name, node);
      into.copied.add(key);
    }
    if (node) return node;
    if (into.nodes.size >= this.#maxNodes) return undefined;
    node = new NodeAggregate(name);
    into.nodes.set(name, node);
    into.copied?.add(key);
    return node;
  }

  /** Resolves what has waited longer than the window, and what the size limit pushes out. */
  #expire(into: Target): void {
    const cutoff = this.#watermark - this.#windowMs;
    while (this.#recent.size > 0) {
      const [id, ref] = this.#recent.entries().next().value as [string, SpanRef];
      const overLimit = this.#recent.size > this.#maxPending;
      if (!overLimit && ref.end >= cutoff) break;
      this.#recent.delete(id);
      if (ref.span.kind === SpanKind.CLIENT && !ref.answered) {
        if (overLimit) this.#drop('pendingLimit', 'graph-max-pending');
        this.#recordPeerCall(ref, into);
      }
    }
    if (this.#waitingCount === 0) return;
    for (const [parentId, list] of this.#waiting) {
      const overLimit = this.#waitingCount > this.#maxPending;
      if (!overLimit && list[0].end >= cutoff) break;
      this.#waiting.delete(parentId);
      this.#waitingCount -= list.length;
      for (const w of list) {
        if (overLimit) this.#drop('pendingLimit', 'graph-max-pending');
        if (!this.#recordCallerless(w.span, into)) this.#unknownCallers++;
      }
    }
  }

  #drop(kind: keyof ServiceGraph['dropped'], statsKey: string): void {
    this.#dropped[kind]++;
    this.#stats?.drops.add(statsKey);
  }
}

function bodyBytes(client: ReadableSpan | undefined, server: ReadableSpan | undefined, key: string): number {
  const fromClient = client ? numberAttr(client, key) : undefined;
  const n = fromClient ?? (server ? numberAttr(server, key) : undefined);
  return n !== undefined && n > 0 ? n : 0;
}
