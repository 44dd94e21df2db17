import type { Stats } from '../../model/stats.js';
import type { StoredSpan, Tag } from '../span.js';
import { PostingList } from './posting.js';

export interface StoreLimits {
  /** Spans kept; beyond it the oldest traces are evicted (counted in drops 'server-max-spans'). */
  maxSpans: number;
  /** Traces kept; beyond it the oldest are evicted (drops 'server-max-traces'). */
  maxTraces: number;
  /** Seconds a trace is kept after its first span arrived; 0 keeps traces until a count limit evicts them (drops 'server-max-age'). */
  maxAgeSeconds: number;
}

/** Distinct values indexed per tag key; a key with more is searched by scanning (an id, a path) rather than indexed. */
export const MAX_INDEXED_VALUES_PER_KEY = 256;

export interface TraceQuery {
  service?: string;
  operation?: string;
  /** Span kind name (server, client, ...) the matching span must have. */
  spanKind?: string;
  /** Every pair must match a tag of the same span: its attributes, Jaeger's derived tags, its process tags or a log field. */
  tags?: Array<[string, string]>;
  startMinUs?: number;
  startMaxUs?: number;
  durationMinUs?: number;
  durationMaxUs?: number;
  /** Traces returned at most, most recent matching span first. */
  limit: number;
}

export interface TraceSummary {
  traceId: string;
  rootService: string;
  rootName: string;
  spanCount: number;
  errorCount: number;
  services: string[];
  startUs: number;
  durationUs: number;
}

export class TraceEntry {
  readonly traceId: string;
  readonly spans: StoredSpan[];
  /** Wall-clock ms when its first span arrived: eviction by age and by order. */
  readonly receivedAtMs: number;
  /** Insertion sequence (oldest first), kept across restarts by the disk store. */
  readonly seq: number;
  evicted: boolean;
  #ids: Set<string> | undefined;
  constructor(traceId: string, receivedAtMs: number, seq: number) {
    this.traceId = traceId;
    this.spans = [];
    this.receivedAtMs = receivedAtMs;
    this.seq = seq;
    this.evicted = false;
  }
  has(spanId: string): boolean {
    if (this.#ids) return this.#ids.has(spanId);
    for (const s of this.spans) if (s.spanId === spanId) return true;
    return false;
  }
  push(span: StoredSpan): void {
    this.spans.push(span);
    if (this.#ids) this.#ids.add(span.spanId);
    else if (this.spans.length > 32) this.#ids = new Set(this.spans.map((s) => s.spanId));
  }
}

interface Entry {
  readonly startUs: number;
  readonly span: StoredSpan;
  readonly trace: TraceEntry;
}

/** What persists the store (the LMDB store): told of every accepted span and every evicted trace. */
export interface StorePersistence {
  saveSpans(trace: TraceEntry, spans: StoredSpan[]): void;
  deleteTraces(traces: TraceEntry[]): void;
}

export type StoreListener = (updated: TraceSummary[]) => void;

const KIND_NAMES = ['', 'internal', 'server', 'client', 'producer', 'consumer'];

/** Jaeger's derived tags of a span, as its query service sees them (and as /api/traces returns them). */
export function derivedTags(span: StoredSpan): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (span.kind !== 0) out.push(['span.kind', KIND_NAMES[span.kind]]);
  if (span.scopeName) out.push(['otel.scope.name', span.scopeName]);
  if (span.scopeVersion) out.push(['otel.scope.version', span.scopeVersion]);
  if (span.statusCode === 2) {
    out.push(['otel.status_code', 'ERROR'], ['error', 'true']);
    if (span.statusMessage) out.push(['otel.status_description', span.statusMessage]);
  } else if (span.statusCode === 1) out.push(['otel.status_code', 'OK']);
  return out;
}

const tagText = (t: Tag): string => String(t.value);

const DERIVED_KEYS = new Set(['span.kind', 'otel.scope.name', 'otel.scope.version', 'otel.status_code', 'error', 'otel.status_description']);

function spanHasTag(span: StoredSpan, key: string, value: string): boolean {
  for (const t of span.attributes) if (t.key === key && tagText(t) === value) return true;
  // Derived tags are built only for the few keys they can hold: a scan over many spans allocates nothing.
  if (DERIVED_KEYS.has(key)) for (const [k, v] of derivedTags(span)) if (k === key && v === value) return true;
  for (const t of span.resource) if (t.key === key && tagText(t) === value) return true;
  for (const e of span.events) {
    if (key === 'event' && e.name === value) return true;
    for (const t of e.attributes) if (t.key === key && tagText(t) === value) return true;
  }
  return false;
}

/** Every (key, value) a tag search can match on this span, without repeats. */
function searchablePairs(span: StoredSpan): Map<string, Set<string>> {
  const pairs = new Map<string, Set<string>>();
  const add = (k: string, v: string): void => {
    let set = pairs.get(k);
    if (!set) pairs.set(k, (set = new Set()));
    set.add(v);
  };
  for (const t of span.attributes) add(t.key, tagText(t));
  for (const [k, v] of derivedTags(span)) add(k, v);
  for (const t of span.resource) add(t.key, tagText(t));
  for (const e of span.events) {
    if (e.name) add('event', e.name);
    for (const t of e.attributes) add(t.key, tagText(t));
  }
  return pairs;
}

interface KeyIndex {
  /** undefined once the key has more distinct values than MAX_INDEXED_VALUES_PER_KEY: searched by scanning. */
  values: Map<string, PostingList<Entry>> | undefined;
}

interface ServiceIndex {
  spans: PostingList<Entry>;
  /** Per operation name: its spans and live span counts by kind. */
  operations: Map<string, { spans: PostingList<Entry>; kinds: number[] }>;
}

/**
 * The embedded trace store: traces in arrival order with limits and
 * eviction (oldest first, counted), and in-memory indexes by service,
 * operation, tag value and start time, every list ordered by start so a
 * search walks back from the newest match and stops at its limit.
 */
export class MemoryStore {
  readonly #traces = new Map<string, TraceEntry>();
  readonly #services = new Map<string, ServiceIndex>();
  readonly #tagIndex = new Map<string, KeyIndex>();
  readonly #all = new PostingList<Entry>();
  readonly #limits: StoreLimits;
  readonly #stats: Stats | undefined;
  readonly #listeners = new Set<StoreListener>();
  #persistence: StorePersistence | undefined;
  #spanCount = 0;
  #seq = 0;
  #now: () => number;

  constructor(options: { limits: StoreLimits; stats?: Stats; now?: () => number }) {
    this.#limits = options.limits;
    this.#stats = options.stats;
    this.#now = options.now ?? Date.now;
  }

  /** Attaches the disk layer after it has replayed what it holds (so replay is not written back). */
  setPersistence(p: StorePersistence | undefined): void {
    this.#persistence = p;
  }

  get spanCount(): number {
    return this.#spanCount;
  }

  get traceCount(): number {
    return this.#traces.size;
  }

  /** Called with summaries of the traces each add() touched. */
  subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stores spans (duplicates of a span id already in its trace are ignored,
   * counted in spans 'server-duplicate'). Returns how many were stored.
   * `restore` replays a trace from disk with its original arrival time.
   */
  add(spans: readonly StoredSpan[], restore?: { receivedAtMs: number; seq: number }): number {
    const now = restore?.receivedAtMs ?? this.#now();
    const touched = new Map<TraceEntry, StoredSpan[]>();
    let stored = 0;
    for (const span of spans) {
      let trace = this.#traces.get(span.traceId);
      if (!trace) {
        if (restore) this.#seq = Math.max(this.#seq, restore.seq + 1);
        trace = new TraceEntry(span.traceId, now, restore?.seq ?? this.#seq++);
        this.#traces.set(span.traceId, trace);
      } else if (trace.has(span.spanId)) {
        this.#stats?.spans.add('server-duplicate');
        continue;
      }
      trace.push(span);
      this.#index(span, trace);
      this.#spanCount++;
      stored++;
      let list = touched.get(trace);
      if (!list) touched.set(trace, (list = []));
      list.push(span);
    }
    if (!restore && this.#persistence) for (const [trace, list] of touched) this.#persistence.saveSpans(trace, list);
    this.#enforceLimits(touched);
    if (this.#listeners.size > 0 && touched.size > 0) {
      const summaries: TraceSummary[] = [];
      for (const trace of touched.keys()) if (!trace.evicted) summaries.push(summarise(trace));
      if (summaries.length) for (const l of this.#listeners) l(summaries);
    }
    return stored;
  }

  #index(span: StoredSpan, trace: TraceEntry): void {
    const entry: Entry = { startUs: span.startUs, span, trace };
    this.#all.add(entry);
    let svc = this.#services.get(span.service);
    if (!svc) this.#services.set(span.service, (svc = { spans: new PostingList(), operations: new Map() }));
    svc.spans.add(entry);
    let op = svc.operations.get(span.name);
    if (!op) svc.operations.set(span.name, (op = { spans: new PostingList(), kinds: [0, 0, 0, 0, 0, 0] }));
    op.spans.add(entry);
    op.kinds[span.kind]++;
    for (const [key, values] of searchablePairs(span)) {
      let ki = this.#tagIndex.get(key);
      if (!ki) this.#tagIndex.set(key, (ki = { values: new Map() }));
      if (!ki.values) continue;
      for (const value of values) {
        let list = ki.values.get(value);
        if (!list) {
          if (ki.values.size >= MAX_INDEXED_VALUES_PER_KEY) {
            ki.values = undefined;
            break;
          }
          ki.values.set(value, (list = new PostingList()));
        }
        list.add(entry);
      }
    }
  }

  #unindex(trace: TraceEntry): void {
    trace.evicted = true;
    for (const span of trace.spans) {
      this.#all.markDead();
      const svc = this.#services.get(span.service);
      if (svc) {
        svc.spans.markDead();
        const op = svc.operations.get(span.name);
        if (op) {
          op.spans.markDead();
          op.kinds[span.kind]--;
          if (op.spans.live <= 0) svc.operations.delete(span.name);
        }
        if (svc.spans.live <= 0) this.#services.delete(span.service);
      }
      for (const [key, values] of searchablePairs(span)) {
        const ki = this.#tagIndex.get(key);
        if (!ki?.values) continue;
        for (const value of values) {
          const list = ki.values.get(value);
          if (!list) continue;
          list.markDead();
          if (list.live <= 0) ki.values.delete(value);
        }
      }
    }
    this.#spanCount -= trace.spans.length;
    this.#traces.delete(trace.traceId);
  }

  #enforceLimits(justTouched?: Map<TraceEntry, StoredSpan[]>): void {
    const evicted: TraceEntry[] = [];
    const { maxSpans, maxTraces, maxAgeSeconds } = this.#limits;
    const oldestAllowed = maxAgeSeconds > 0 ? this.#now() - maxAgeSeconds * 1000 : -Infinity;
    for (const trace of this.#traces.values()) {
      let reason: string | undefined;
      if (trace.receivedAtMs < oldestAllowed) reason = 'server-max-age';
      else if (this.#traces.size > maxTraces) reason = 'server-max-traces';
      else if (this.#spanCount > maxSpans) reason = 'server-max-spans';
      if (!reason) break;
      // The newest trace is never evicted to make room for itself; its surplus spans are cut below.
      if (reason !== 'server-max-age' && this.#traces.size === 1) break;
      this.#stats?.drops.add(reason, trace.spans.length);
      this.#stats?.drops.add(`${reason}-traces`);
      this.#unindex(trace);
      evicted.push(trace);
    }
    if (this.#spanCount > maxSpans && justTouched) {
      // One trace larger than the whole store: keep its first maxSpans spans.
      for (const trace of justTouched.keys()) {
        if (trace.evicted || this.#spanCount <= maxSpans) continue;
        const surplus = this.#spanCount - maxSpans;
        this.#stats?.drops.add('server-max-spans', surplus);
        this.#unindex(trace);
        const kept = trace.spans.slice(0, trace.spans.length - surplus);
        evicted.push(trace);
        if (kept.length) {
          this.#persistence?.deleteTraces([trace]);
          evicted.pop();
          const fresh = new TraceEntry(trace.traceId, trace.receivedAtMs, trace.seq);
          this.#traces.set(trace.traceId, fresh);
          for (const s of kept) {
            fresh.push(s);
            this.#index(s, fresh);
            this.#spanCount++;
          }
          this.#persistence?.saveSpans(fresh, kept);
        }
      }
    }
    if (evicted.length && this.#persistence) this.#persistence.deleteTraces(evicted);
  }

  /** Evicts traces past maxAgeSeconds (called on a timer and before each search). */
  expire(): void {
    this.#enforceLimits();
  }

  getTrace(traceId: string): StoredSpan[] | undefined {
    return this.#traces.get(traceId)?.spans;
  }

  services(): string[] {
    return [...this.#services.keys()].sort();
  }

  /** Operation names of a service with the span kinds seen for each (kind '' for unspecified). */
  operations(service: string): Array<{ name: string; spanKind: string }> {
    const svc = this.#services.get(service);
    if (!svc) return [];
    const out: Array<{ name: string; spanKind: string }> = [];
    for (const [name, op] of svc.operations) {
      for (let k = 0; k < op.kinds.length; k++) if (op.kinds[k] > 0) out.push({ name, spanKind: KIND_NAMES[k] });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.spanKind < b.spanKind ? -1 : 1));
  }

  #candidates(q: TraceQuery): PostingList<Entry> | undefined | null {
    let best: PostingList<Entry> | undefined;
    const consider = (list: PostingList<Entry> | undefined): void => {
      if (list && (!best || list.entries.length < best.entries.length)) best = list;
    };
    if (q.service !== undefined) {
      const svc = this.#services.get(q.service);
      if (!svc) return null;
      if (q.operation !== undefined) {
        const op = svc.operations.get(q.operation);
        if (!op) return null;
        consider(op.spans);
      } else consider(svc.spans);
    }
    for (const [key, value] of q.tags ?? []) {
      const ki = this.#tagIndex.get(key);
      if (!ki) return null;
      if (!ki.values) continue;
      const list = ki.values.get(value);
      if (!list) return null;
      consider(list);
    }
    return best ?? this.#all;
  }

  /** Traces holding a span that matches every criterion, most recent match first. */
  findTraces(q: TraceQuery): StoredSpan[][] {
    this.expire();
    const list = this.#candidates(q);
    if (!list || q.limit <= 0) return [];
    const entries = list.ordered();
    const minStart = q.startMinUs ?? -Infinity;
    const minDuration = q.durationMinUs ?? 0;
    const maxDuration = q.durationMaxUs ?? Infinity;
    const kind = q.spanKind ? KIND_NAMES.indexOf(q.spanKind) : -1;
    const found = new Set<TraceEntry>();
    for (let i = list.upperBound(q.startMaxUs ?? Infinity) - 1; i >= 0; i--) {
      const e = entries[i];
      if (e.startUs < minStart) break;
      if (e.trace.evicted || found.has(e.trace)) continue;
      const span = e.span;
      if (span.durationUs < minDuration || span.durationUs > maxDuration) continue;
      if (q.service !== undefined && span.service !== q.service) continue;
      if (q.operation !== undefined && span.name !== q.operation) continue;
      if (kind >= 0 && span.kind !== kind) continue;
      if (q.tags && !q.tags.every(([k, v]) => spanHasTag(span, k, v))) continue;
      found.add(e.trace);
      if (found.size >= q.limit) break;
    }
    return [...found].map((t) => t.spans);
  }

  /** Every live trace with a span starting in [startMinUs, startMaxUs], for dependencies. */
  *tracesBetween(startMinUs: number, startMaxUs: number): Generator<StoredSpan[]> {
    const entries = this.#all.ordered();
    const seen = new Set<TraceEntry>();
    for (let i = this.#all.upperBound(startMaxUs) - 1; i >= 0; i--) {
      const e = entries[i];
      if (e.startUs < startMinUs) break;
      if (e.trace.evicted || seen.has(e.trace)) continue;
      seen.add(e.trace);
      yield e.trace.spans;
    }
  }

  summary(traceId: string): TraceSummary | undefined {
    const t = this.#traces.get(traceId);
    return t ? summarise(t) : undefined;
  }
}

export function summarise(trace: TraceEntry): TraceSummary {
  let start = Infinity;
  let end = -Infinity;
  let errors = 0;
  const services = new Set<string>();
  const ids = new Set<string>();
  for (const s of trace.spans) ids.add(s.spanId);
  let root: StoredSpan | undefined;
  for (const s of trace.spans) {
    if (s.startUs < start) start = s.startUs;
    if (s.startUs + s.durationUs > end) end = s.startUs + s.durationUs;
    if (s.statusCode === 2) errors++;
    services.add(s.service);
    if (!ids.has(s.parentSpanId) && (!root || s.startUs < root.startUs)) root = s;
  }
  return {
    traceId: trace.traceId,
    rootService: root?.service ?? '',
    rootName: root?.name ?? '',
    spanCount: trace.spans.length,
    errorCount: errors,
    services: [...services].sort(),
    startUs: start === Infinity ? 0 : start,
    durationUs: end === -Infinity ? 0 : end - start,
  };
}
