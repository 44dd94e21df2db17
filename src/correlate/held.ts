import type { Exchange } from '../model/exchange.js';
import type { HrTime } from '../model/time.js';
import { hrCompare } from '../model/time.js';
import type { WireTraceContext } from '../model/trace.js';
import type { DerivedIds } from './ids.js';

export type LinkKind = 'context' | 'inferred';

/** A completed exchange waiting until its tree is final. */
export interface HeldExchange {
  readonly exchange: Exchange;
  /** Arrival order: ties broken by it keep every choice deterministic. */
  readonly order: number;
  /** Capture time (seconds) when it arrived; never decreases with `order`. */
  readonly arrivalNow: number;
  readonly start: HrTime;
  /** End as the spans show it (a timeout ends start + timeout). */
  readonly end: HrTime;
  readonly endSeconds: number;
  /** Capture time after which no enclosing server exchange is waited for. */
  readonly deadline: number;
  readonly context: WireTraceContext | undefined;
  /** Host keys of the two ends (all loopback addresses are one host). */
  readonly clientHost: string;
  readonly serverHost: string;
  readonly ids: DerivedIds;

  // Enclosing server exchanges seen so far (candidates for the one that made this call).
  candidates: number;
  firstCandidate: HeldExchange | undefined;
  /** Candidates without propagated context. */
  untraced: number;
  firstUntraced: HeldExchange | undefined;
  /** Innermost candidate of the same trace. */
  sameTraceBest: HeldExchange | undefined;
  /** Every candidate, until decided (each is told when this call no longer waits on it). */
  candidateList: HeldExchange[] | undefined;
  /** Undecided calls that may still turn out to be this exchange's children. */
  pendingCalls: number;

  decided: boolean;
  parent: HeldExchange | undefined;
  link: LinkKind | undefined;
  children: HeldExchange[] | undefined;

  emitted: boolean;
  /** Set at emission. */
  traceId: string | undefined;
  /** The link was dropped at emission because the two ends carry different traces. */
  cut: boolean;
  serverService: string | undefined;
}

/** `outer` encloses `inner` in time, and is not the same range. */
export function encloses(outer: HeldExchange, inner: HeldExchange): boolean {
  const s = hrCompare(outer.start, inner.start);
  const e = hrCompare(inner.end, outer.end);
  return s <= 0 && e <= 0 && (s < 0 || e < 0);
}

/** The innermost of two enclosing exchanges: the one that completes first. */
export function isInner(a: HeldExchange, b: HeldExchange): boolean {
  const e = hrCompare(a.end, b.end);
  if (e !== 0) return e < 0;
  const s = hrCompare(a.start, b.start);
  if (s !== 0) return s > 0;
  return a.order < b.order;
}

/**
 * Held exchanges in arrival order. Emission is roughly first-in first-out, so
 * emitted entries are trimmed from the head and skipped elsewhere.
 */
export class ArrivalList {
  #items: HeldExchange[] = [];
  #head = 0;

  push(h: HeldExchange): void {
    this.#items.push(h);
  }

  /** The oldest entry not yet emitted. */
  first(): HeldExchange | undefined {
    this.trim();
    return this.#items[this.#head];
  }

  get isEmpty(): boolean {
    this.trim();
    return this.#head >= this.#items.length;
  }

  trim(): void {
    const items = this.#items;
    while (this.#head < items.length && items[this.#head].emitted) this.#head++;
    if (this.#head >= items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Visits entries newest first while they arrived at or after capture time `since`. */
  forEachArrivedSince(since: number, visit: (h: HeldExchange) => void): void {
    const items = this.#items;
    for (let i = items.length - 1; i >= this.#head; i--) {
      const h = items[i];
      if (h.arrivalNow < since) break;
      if (!h.emitted) visit(h);
    }
  }

  *[Symbol.iterator](): IterableIterator<HeldExchange> {
    for (let i = this.#head; i < this.#items.length; i++) if (!this.#items[i].emitted) yield this.#items[i];
  }
}

/** Min-heap of exchanges by link deadline, then arrival. */
export class DeadlineHeap {
  readonly #heap: HeldExchange[] = [];

  get size(): number {
    return this.#heap.length;
  }

  push(h: HeldExchange): void {
    const heap = this.#heap;
    heap.push(h);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  }

  /** Drops entries `keep` rejects (those decided early), so the heap stays as small as what is held. */
  retain(keep: (h: HeldExchange) => boolean): void {
    const kept = this.#heap.filter(keep);
    this.#heap.length = 0;
    for (const h of kept) this.push(h);
  }

  peek(): HeldExchange | undefined {
    return this.#heap[0];
  }

  pop(): HeldExchange | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = i * 2 + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: HeldExchange, b: HeldExchange): boolean {
  return a.deadline !== b.deadline ? a.deadline < b.deadline : a.order < b.order;
}

/** A binary min-heap ordered by a numeric key; equal keys leave in the order they came. */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #keys: number[] = [];
  readonly #seqs: number[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  #less(i: number, j: number): boolean {
    const a = this.#keys[i];
    const b = this.#keys[j];
    return a < b || (a === b && this.#seqs[i] < this.#seqs[j]);
  }

  #swap(i: number, j: number): void {
    const items = this.#items;
    const keys = this.#keys;
    const seqs = this.#seqs;
    [items[i], items[j]] = [items[j], items[i]];
    [keys[i], keys[j]] = [keys[j], keys[i]];
    [seqs[i], seqs[j]] = [seqs[j], seqs[i]];
  }

  push(item: T, key: number): void {
    this.#items.push(item);
    this.#keys.push(key);
    this.#seqs.push(this.#seq++);
    let i = this.#items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(i, p)) break;
      this.#swap(i, p);
      i = p;
    }
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  peekKey(): number {
    return this.#items.length > 0 ? this.#keys[0] : Infinity;
  }

  /** Drops the entries `keep` rejects, keeping the order of the rest. */
  retain(keep: (item: T) => boolean): void {
    const entries: [T, number, number][] = [];
    for (let i = 0; i < this.#items.length; i++) if (keep(this.#items[i])) entries.push([this.#items[i], this.#keys[i], this.#seqs[i]]);
    entries.sort((a, b) => a[1] - b[1] || a[2] - b[2]);
    // A sorted array is a valid heap.
    this.#items.length = this.#keys.length = this.#seqs.length = 0;
    for (const [item, key, seq] of entries) {
      this.#items.push(item);
      this.#keys.push(key);
      this.#seqs.push(seq);
    }
  }

  pop(): T | undefined {
    const n = this.#items.length;
    if (n === 0) return undefined;
    const top = this.#items[0];
    this.#swap(0, n - 1);
    this.#items.pop();
    this.#keys.pop();
    this.#seqs.pop();
    let i = 0;
    const size = n - 1;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const m = r < size && this.#less(r, l) ? r : l;
      if (!this.#less(m, i)) break;
      this.#swap(i, m);
      i = m;
    }
    return top;
  }
}

/**
 * Server requests seen on one host and not answered yet, by start time:
 * a call that started before the earliest of them cannot be enclosed by
 * any server exchange still to come on that host.
 */
export class OpenRequests {
  readonly #open = new Set<object>();
  readonly #byStart = new MinHeap<object>();

  add(request: object, startSeconds: number): void {
    this.#open.add(request);
    this.#byStart.push(request, startSeconds);
  }

  /** Returns whether the request was open. */
  delete(request: object): boolean {
    const was = this.#open.delete(request);
    // Answered requests leave the heap lazily; behind one that stays open they
    // would pile up (and keep their requests alive), so compact now and then.
    if (this.#byStart.size > 2 * this.#open.size + 1024) this.#byStart.retain((r) => this.#open.has(r));
    return was;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Start (seconds) of the earliest open request; Infinity when none. Answered ones leave lazily. */
  earliestStart(): number {
    while (this.#byStart.size > 0 && !this.#open.has(this.#byStart.peek() as object)) this.#byStart.pop();
    return this.#byStart.peekKey();
  }
}
