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
