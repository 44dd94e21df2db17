import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { WiretraceConfig } from '../config/schema.js';
import type { Exchange, ExchangeSink } from '../model/exchange.js';
import type { HttpRequest } from '../model/http.js';
import type { ConnectionInfo } from '../model/stream.js';
import type { Stats } from '../model/stats.js';
import { hrToSeconds } from '../model/time.js';
import { hostKey } from '../process/address.js';
import { ATTR_WIRETRACE_LINK, HttpSpanDescriber, spanEndTime } from '../process/attributes.js';
import { ExchangeFilter } from '../process/filters.js';
import type { LocalProcessResolver } from '../process/owners.js';
import { ResourceCache, ServiceNamer, type ServiceIdentity } from '../process/services.js';
import { traceFlagsFor, WireSpan } from '../process/spans.js';
import { extractTraceContext } from './context.js';
import { ArrivalList, DeadlineHeap, encloses, isInner, MinHeap, OpenRequests, type HeldExchange } from './held.js';
import { deriveExchangeIds } from './ids.js';

export interface TraceAssemblerOptions {
  config: WiretraceConfig;
  stats: Stats;
  /** Receives the spans of whole trees as they become final. */
  onSpans(spans: ReadableSpan[]): void;
  /** Version in the instrumentation scope `wiretrace`. */
  scopeVersion: string;
  /** Owners of sockets on this host (live capture): they name services and enrich resources. */
  processes?: LocalProcessResolver;
}

/** Capture-time slack (seconds) when scanning arrival lists: times are compared exactly afterwards. */
const SCAN_SLACK = 1e-6;

/**
 * Turns exchanges into OpenTelemetry spans (DESIGN "Span semantics on the
 * wire"): a SERVER span per exchange, a CLIENT span unless turned off, trace
 * context read from the request, client calls linked to the server span that
 * made them, ids derived deterministically where the wire shows none.
 *
 * Streaming with bounded memory: a call is decided (its parent chosen) as
 * soon as no server request that started before it is still open on its
 * host — the protocol layer announces requests as they start — and at the
 * latest when capture time passes its end + `spans.linkWindowSeconds`. A
 * tree is emitted once its root is decided and no undecided call may still
 * join it. Beyond `limits.maxHeldExchanges` the oldest tree is emitted early
 * (counted).
 */
export class TraceAssembler implements ExchangeSink {
  readonly #config: WiretraceConfig;
  readonly #stats: Stats;
  readonly #onSpans: (spans: ReadableSpan[]) => void;
  readonly #scope: { name: string; version: string };
  readonly #filter: ExchangeFilter;
  readonly #describer: HttpSpanDescriber;
  readonly #namer: ServiceNamer;
  readonly #resources: ResourceCache;
  readonly #clientSpans: boolean;
  readonly #window: number;
  readonly #maxHeld: number;

  /** Capture time in seconds: the latest of ticks and exchange ends seen. */
  #now = -Infinity;
  #order = 0;
  #held = 0;
  readonly #arrivals = new ArrivalList();
  readonly #deadlines = new DeadlineHeap();
  /** Held exchanges by the host of their server end, and of their client end. */
  readonly #byServerHost = new Map<string, ArrivalList>();
  readonly #byClientHost = new Map<string, ArrivalList>();
  /** Server requests still awaiting their answer, by the host serving them. */
  readonly #open = new Map<string, OpenRequests>();
  /** The producer announces requests as they start (onRequestStart), so early decisions are safe. */
  #announced = false;
  /** Decided exchanges, and candidates no call waits on any more: their trees may now be final. */
  readonly #ready: HeldExchange[] = [];
  /** Exchanges since the undecided heaps were last compacted. */
  #sinceCompaction = 0;
  /** Undecided held calls by calling host, earliest start first. */
  readonly #undecided = new Map<string, MinHeap<HeldExchange>>();
  /** Propagated parent ids already given to a CLIENT span, oldest first. */
  readonly #claimedClientIds = new Set<string>();
  /** Trace ids emitted, for `stats.traces`; bounded, so a trace emitted again much later may count twice. */
  readonly #seenTraces = new Set<string>();
  #batch: ReadableSpan[] = [];

  constructor(options: TraceAssemblerOptions) {
    const { config } = options;
    this.#config = config;
    this.#stats = options.stats;
    this.#onSpans = options.onSpans;
    this.#scope = { name: 'wiretrace', version: options.scopeVersion };
    this.#filter = new ExchangeFilter(config.filters);
    this.#describer = new HttpSpanDescriber(config);
    this.#namer = new ServiceNamer(config.services.mappings, options.processes);
    this.#resources = new ResourceCache(options.scopeVersion, undefined, { attributes: config.resource.attributes, hostName: options.processes?.hostName });
    this.#clientSpans = config.spans.clientSpans;
    this.#window = config.spans.linkWindowSeconds;
    this.#maxHeld = config.limits.maxHeldExchanges;
  }

  /** Exchanges currently held (for tests and metrics). */
  get heldCount(): number {
    return this.#held;
  }

  onRequestStart(connection: ConnectionInfo, request: HttpRequest): void {
    this.#announced = true;
    const host = hostKey(connection.server.address);
    let open = this.#open.get(host);
    if (open === undefined) this.#open.set(host, (open = new OpenRequests()));
    open.add(request, hrToSeconds(request.startTime));
  }

  onExchange(exchange: Exchange): void {
    const spansPerExchange = this.#clientSpans ? 2 : 1;
    const serverHost = hostKey(exchange.connection.server.address);
    if (exchange.request !== undefined) this.#open.get(serverHost)?.delete(exchange.request);
    const start = exchange.start;
    const end = spanEndTime(exchange, this.#config.spans.timeoutSeconds);
    const endSeconds = hrToSeconds(end);
    if (endSeconds > this.#now) this.#now = endSeconds;

    if (exchange.outcome === 'orphan' && this.#config.spans.dropOrphans) {
      this.#stats.spans.add('orphan-dropped', spansPerExchange);
    } else if (this.#filter.excludes(exchange)) {
      this.#stats.spans.add('filtered', spansPerExchange);
    } else {
      const context = exchange.request ? extractTraceContext(exchange.request.headers, this.#stats) : undefined;
      const held: HeldExchange = {
        exchange,
        order: this.#order++,
        arrivalNow: this.#now,
        start,
        end,
        endSeconds,
        deadline: endSeconds + this.#window,
        context,
        clientHost: hostKey(exchange.connection.client.address),
        serverHost,
        ids: deriveExchangeIds(exchange.connection.id, exchange.sequence),
        candidates: 0,
        firstCandidate: undefined,
        untraced: 0,
        firstUntraced: undefined,
        sameTraceBest: undefined,
        candidateList: undefined,
        pendingCalls: 0,
        decided: false,
        parent: undefined,
        link: undefined,
        children: undefined,
        emitted: false,
        traceId: undefined,
        cut: false,
        serverService: undefined,
      };
      this.#pair(held);
      this.#hold(held);
      this.#decideReady(held.clientHost);
    }
    this.#decideReady(serverHost);
    this.#decideDue();
    this.#enforceLimit();
    this.#emitReady();
    this.#flush();
  }

  onTick(sec: number, nsec: number): void {
    const t = sec + nsec / 1e9;
    if (t > this.#now) this.#now = t;
    this.#decideDue();
    this.#emitReady();
    this.#flush();
  }

  /** Emits everything still held: the capture is over. */
  finish(): void {
    for (let h = this.#deadlines.pop(); h !== undefined; h = this.#deadlines.pop()) if (!h.decided) this.#decide(h);
    for (const h of [...this.#arrivals]) if (!h.emitted && this.#isTreeRoot(h)) this.#emitTree(h);
    this.#ready.length = 0;
    this.#flush();
  }

  // ── pairing: which held server exchanges enclose which calls ──

  #pair(h: HeldExchange): void {
    // As a call: server exchanges on the calling host that arrived after this call had ended.
    this.#byServerHost.get(h.clientHost)?.forEachArrivedSince(h.endSeconds - SCAN_SLACK, (x) => {
      if (x.exchange.connection.id !== h.exchange.connection.id && encloses(x, h)) this.#addCandidate(h, x);
    });
    // As a server exchange: calls made from its host while it was in progress.
    this.#byClientHost.get(h.serverHost)?.forEachArrivedSince(hrToSeconds(h.start) - SCAN_SLACK, (e) => {
      if (!e.decided && e.exchange.connection.id !== h.exchange.connection.id && encloses(h, e)) this.#addCandidate(e, h);
    });
  }

  #addCandidate(call: HeldExchange, server: HeldExchange): void {
    call.candidates++;
    (call.candidateList ??= []).push(server);
    server.pendingCalls++;
    call.firstCandidate ??= server;
    if (server.context === undefined) {
      call.untraced++;
      call.firstUntraced ??= server;
    } else if (call.context !== undefined && server.context.traceId === call.context.traceId) {
      if (call.sameTraceBest === undefined || isInner(server, call.sameTraceBest)) call.sameTraceBest = server;
    }
  }

  #hold(h: HeldExchange): void {
    this.#held++;
    this.#arrivals.push(h);
    this.#deadlines.push(h);
    listFor(this.#byServerHost, h.serverHost).push(h);
    listFor(this.#byClientHost, h.clientHost).push(h);
    if (!this.#announced) return;
    let undecided = this.#undecided.get(h.clientHost);
    if (undecided === undefined) this.#undecided.set(h.clientHost, (undecided = new MinHeap()));
    undecided.push(h, hrToSeconds(h.start));
  }

  /** Decides the calls from `host` that no open server request on that host can enclose any more. */
  #decideReady(host: string): void {
    if (!this.#announced) return;
    const undecided = this.#undecided.get(host);
    if (undecided === undefined) return;
    const earliestOpen = this.#open.get(host)?.earliestStart() ?? Infinity;
    while (undecided.size > 0 && undecided.peekKey() < earliestOpen) {
      const h = undecided.pop() as HeldExchange;
      if (!h.decided) this.#decide(h);
    }
    if (undecided.size === 0) this.#undecided.delete(host);
    if (this.#open.get(host)?.size === 0) this.#open.delete(host);
  }

  // ── deciding links ──

  /**
   * Chooses the server exchange that made this call. With context: the
   * innermost enclosing server exchange of the same trace; else the only
   * enclosing one without context (it will adopt this trace). Without
   * context: the only enclosing server exchange, if exactly one.
   */
  #decide(h: HeldExchange): void {
    this.#link(h);
    this.#ready.push(h);
    const candidates = h.candidateList;
    h.candidateList = undefined;
    if (candidates !== undefined) {
      for (const c of candidates) if (--c.pendingCalls === 0) this.#ready.push(c);
    }
  }

  /** Emits the trees that became final since the last call. */
  #emitReady(): void {
    for (let i = 0; i < this.#ready.length; i++) this.#tryEmit(this.#ready[i]);
    this.#ready.length = 0;
  }

  #link(h: HeldExchange): void {
    h.decided = true;
    let parent: HeldExchange | undefined;
    if (h.context !== undefined && h.sameTraceBest !== undefined) {
      parent = h.sameTraceBest;
      h.link = 'context';
    } else if (h.context !== undefined ? h.untraced === 1 : h.candidates === 1) {
      parent = h.context !== undefined ? h.firstUntraced : h.firstCandidate;
      h.link = 'inferred';
    }
    if (parent === undefined) return;
    h.parent = parent;
    if (!parent.emitted) (parent.children ??= []).push(h);
  }

  #decideDue(): void {
    const due: HeldExchange[] = [];
    for (let top = this.#deadlines.peek(); top !== undefined && top.deadline < this.#now; top = this.#deadlines.peek()) {
      this.#deadlines.pop();
      if (top.decided) continue;
      this.#decide(top);
      due.push(top);
    }
    // Roots last decided: every exchange their trees can hold is decided by now (it ends no later than its root).
    for (const h of due) if (!h.emitted && this.#isTreeRoot(h)) this.#emitTree(h);
  }

  /** Emits the tree holding `h` if its root is decided and no undecided call may still join it. */
  #tryEmit(h: HeldExchange): void {
    if (h.emitted) return;
    let root = h;
    while (root.parent !== undefined && !root.parent.emitted) root = root.parent;
    if (!root.decided) return;
    const stack = [root];
    while (stack.length > 0) {
      const x = stack.pop() as HeldExchange;
      if (!x.decided || x.pendingCalls > 0) return;
      if (x.children) for (const c of x.children) if (!c.emitted) stack.push(c);
    }
    this.#emitTree(root);
  }

  #isTreeRoot(h: HeldExchange): boolean {
    return h.decided && (h.parent === undefined || h.parent.emitted);
  }

  #enforceLimit(): void {
    while (this.#held > this.#maxHeld) {
      const oldest = this.#arrivals.first();
      if (oldest === undefined) break;
      let root = oldest;
      for (;;) {
        if (!root.decided) this.#decide(root);
        if (root.parent === undefined || root.parent.emitted) break;
        root = root.parent;
      }
      this.#stats.drops.add('max-held-exchanges', this.#emitTree(root));
    }
    // Exchanges decided early stay in these heaps until their turn comes; compact
    // relative to what is really held, so memory follows the traffic in flight,
    // not the link window.
    if (this.#deadlines.size > 2 * this.#held + 1024) this.#deadlines.retain((h) => !h.decided);
    if (++this.#sinceCompaction > 2 * this.#held + 1024) {
      this.#sinceCompaction = 0;
      for (const [host, heap] of this.#undecided) {
        heap.retain((h) => !h.decided);
        if (heap.size === 0) this.#undecided.delete(host);
      }
    }
  }

  // ── emission ──

  /** Emits a decided root and every exchange linked below it; returns how many exchanges. */
  #emitTree(root: HeldExchange): number {
    if (root.emitted) return 0;
    const order: HeldExchange[] = [];
    const stack: HeldExchange[] = [root];
    while (stack.length > 0) {
      const h = stack.pop() as HeldExchange;
      order.push(h);
      if (h.children) for (let i = h.children.length - 1; i >= 0; i--) if (!h.children[i].emitted) stack.push(h.children[i]);
    }
    // Parents before children: a child's trace follows its parent's.
    for (const h of order) this.#resolveTrace(h);
    for (const h of order) this.#emitSpans(h);
    for (const h of order) {
      h.emitted = true;
      this.#held--;
      h.children = undefined;
      h.firstCandidate = h.firstUntraced = h.sameTraceBest = undefined;
    }
    for (const h of order) {
      trimList(this.#byServerHost, h.serverHost);
      trimList(this.#byClientHost, h.clientHost);
    }
    this.#arrivals.trim();
    return order.length;
  }

  /**
   * The trace of an exchange: its own context's; else the trace its outgoing
   * calls carry (a server span without incoming context heads the trace its
   * SDK started); else its parent's; else one derived from itself. A link
   * between two different traces is cut.
   */
  #resolveTrace(h: HeldExchange): void {
    let own = h.context?.traceId;
    if (own === undefined && h.children) {
      let first: HeldExchange | undefined;
      for (const c of h.children) {
        if (c.context === undefined || c.emitted) continue;
        if (first === undefined || c.start[0] < first.start[0] || (c.start[0] === first.start[0] && (c.start[1] < first.start[1] || (c.start[1] === first.start[1] && c.order < first.order)))) first = c;
      }
      own = first?.context?.traceId;
    }
    const parentTrace = h.parent?.traceId;
    if (h.parent !== undefined && own !== undefined && own !== parentTrace) h.cut = true;
    h.traceId = own ?? parentTrace ?? h.ids.traceId;
  }

  #serverService(h: HeldExchange): string {
    h.serverService ??= this.#namer.serverService(h.exchange.connection.server, h.exchange.request, h.exchange.connection.client);
    return h.serverService;
  }

  #emitSpans(h: HeldExchange): void {
    const traceId = h.traceId as string;
    const context = h.context;
    const linked = h.parent !== undefined && !h.cut ? h.parent : undefined;
    const description = this.#describer.describe(h.exchange, context);
    const traceFlags = traceFlagsFor(context?.sampled);
    const traceState = context?.traceState ? new TraceState(context.traceState) : undefined;
    const serverResource = this.#resources.get(this.#namer.serverIdentity(h.exchange.connection, this.#serverService(h)));

    // The caller forwarded the context it received (a proxy): the propagated
    // parent is the enclosing exchange's, not this call's. (With CLIENT spans
    // on, the claim on the parent id settles it: the enclosing exchange is
    // emitted first and takes the id.)
    const forwarded =
      linked !== undefined &&
      context !== undefined &&
      linked.context !== undefined &&
      linked.context.traceId === context.traceId &&
      linked.context.parentSpanId === context.parentSpanId;

    let serverParent: { spanId: string; isRemote: boolean } | undefined;
    if (this.#clientSpans) {
      // Keyed by the parent id alone: two traces sharing a random 64-bit id is not a case to pay for.
      const clientSpanId = context !== undefined && this.#claim(context.parentSpanId) ? context.parentSpanId : h.ids.clientSpanId;
      serverParent = { spanId: clientSpanId, isRemote: true };

      const identity: ServiceIdentity = this.#namer.callerIdentity(
        h.exchange.connection,
        h.parent !== undefined ? { name: this.#serverService(h.parent), conn: h.parent.exchange.connection } : undefined,
      );
      const attributes = description.client.attributes;
      if (linked !== undefined && h.link !== undefined) attributes[ATTR_WIRETRACE_LINK] = h.link;
      this.#push(
        new WireSpan({
          name: description.name,
          kind: SpanKind.CLIENT,
          traceId,
          spanId: clientSpanId,
          traceFlags,
          traceState,
          parent: linked !== undefined ? { spanId: linked.ids.serverSpanId, isRemote: false } : undefined,
          startTime: h.start,
          endTime: h.end,
          status: description.client.status,
          attributes,
          events: description.events,
          resource: this.#resources.get(identity),
          instrumentationScope: this.#scope,
        }),
      );
    } else if (context !== undefined && !forwarded) {
      serverParent = { spanId: context.parentSpanId, isRemote: true };
    } else if (linked !== undefined) {
      serverParent = { spanId: linked.ids.serverSpanId, isRemote: true };
      if (h.link !== undefined) description.server.attributes[ATTR_WIRETRACE_LINK] = h.link;
    }

    this.#push(
      new WireSpan({
        name: description.name,
        kind: SpanKind.SERVER,
        traceId,
        spanId: h.ids.serverSpanId,
        traceFlags,
        traceState,
        parent: serverParent,
        startTime: h.start,
        endTime: h.end,
        status: description.server.status,
        attributes: description.server.attributes,
        events: description.events,
        resource: serverResource,
        instrumentationScope: this.#scope,
      }),
    );
    if (!this.#seenTraces.has(traceId)) {
      this.#stats.traces++;
      boundedAdd(this.#seenTraces, traceId, this.#maxHeld);
    }
  }

  /** Gives a propagated parent id to one CLIENT span only (a client resending the same headers would repeat it). */
  #claim(key: string): boolean {
    if (this.#claimedClientIds.has(key)) return false;
    boundedAdd(this.#claimedClientIds, key, this.#maxHeld);
    return true;
  }

  #push(span: WireSpan): void {
    this.#batch.push(span);
    this.#stats.spans.add('emitted');
    if (span.status.code === SpanStatusCode.ERROR) this.#stats.errorSpans++;
  }

  #flush(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#onSpans(batch);
  }
}

function listFor(map: Map<string, ArrivalList>, key: string): ArrivalList {
  let list = map.get(key);
  if (list === undefined) {
    list = new ArrivalList();
    map.set(key, list);
  }
  return list;
}

function trimList(map: Map<string, ArrivalList>, key: string): void {
  const list = map.get(key);
  if (list !== undefined && list.isEmpty) map.delete(key);
}

function boundedAdd(set: Set<string>, key: string, limit: number): void {
  if (set.size >= limit) {
    const oldest = set.values().next();
    if (!oldest.done) set.delete(oldest.value);
  }
  set.add(key);
}
