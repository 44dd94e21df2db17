import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { endMs, isErrorSpan, startMs } from '../graph/span-facts.js';

export interface PickedTrace {
  traceId: string;
  spans: ReadableSpan[];
  /** Epoch milliseconds. */
  start: number;
  end: number;
  errors: number;
  /** Spans of this trace not kept (past maxSpansPerTrace). */
  omittedSpans: number;
  /** Arrival order, for stable ties. */
  seq: number;
}

export interface TracePickerOptions {
  slowest?: number;
  failing?: number;
  /** Spans kept per picked trace. Default 1,000. */
  maxSpansPerTrace?: number;
}

function durationOf(t: PickedTrace): number {
  return t.end - t.start;
}

/** Orders traces so that the heap's top is the one to drop first: shortest, then latest seen. */
function lessSlow(a: PickedTrace, b: PickedTrace): boolean {
  const d = durationOf(a) - durationOf(b);
  return d !== 0 ? d < 0 : a.seq > b.seq;
}

/**
 * Keeps, as traces stream past, only what the views show: the n slowest
 * (a min-heap by duration) and the first failing ones. Memory is bounded by
 * (slowest + failing) traces of at most maxSpansPerTrace spans each.
 */
export class TracePicker {
  readonly #slowestLimit: number;
  readonly #failingLimit: number;
  readonly #maxSpans: number;
  /** Min-heap of the slowest traces seen. */
  readonly #heap: PickedTrace[] = [];
  /** First failing traces, in the order seen; enough to fill the failing list after removing those shown as slowest. */
  readonly #failing: PickedTrace[] = [];
  /** Traces currently kept (in the heap or the failing list), so a trace arriving in parts is merged. */
  readonly #kept = new Map<string, PickedTrace>();
  #seq = 0;
  tracesSeen = 0;

  constructor(options: TracePickerOptions = {}) {
    this.#slowestLimit = Math.max(0, options.slowest ?? 5);
    this.#failingLimit = Math.max(0, options.failing ?? 5);
    this.#maxSpans = Math.max(1, options.maxSpansPerTrace ?? 1000);
  }

  add(spans: readonly ReadableSpan[]): void {
    const byTrace = new Map<string, ReadableSpan[]>();
    for (const span of spans) {
      const id = span.spanContext().traceId;
      const list = byTrace.get(id);
      if (list) list.push(span);
      else byTrace.set(id, [span]);
    }
    for (const [traceId, list] of byTrace) this.#offer(traceId, list);
  }

  #offer(traceId: string, spans: ReadableSpan[]): void {
    const kept = this.#kept.get(traceId);
    if (kept) {
      this.#extend(kept, spans);
      this.#heapify();
      if (kept.errors > 0 && !this.#failing.includes(kept)) this.#offerFailing(kept);
      return;
    }
    this.tracesSeen++;
    const trace: PickedTrace = { traceId, spans: [], start: Infinity, end: -Infinity, errors: 0, omittedSpans: 0, seq: this.#seq++ };
    this.#extend(trace, spans);
    let keptSomewhere = false;
    if (this.#slowestLimit > 0) {
      if (this.#heap.length < this.#slowestLimit) {
        this.#push(trace);
        keptSomewhere = true;
      } else if (lessSlow(this.#heap[0], trace)) {
        const dropped = this.#heap[0];
        this.#heap[0] = trace;
        this.#siftDown(0);
        keptSomewhere = true;
        if (!this.#failing.includes(dropped)) this.#kept.delete(dropped.traceId);
      }
    }
    if (trace.errors > 0 && this.#offerFailing(trace)) keptSomewhere = true;
    if (keptSomewhere) this.#kept.set(traceId, trace);
  }

  #offerFailing(trace: PickedTrace): boolean {
    if (this.#failing.length >= this.#failingLimit + this.#slowestLimit || this.#failingLimit === 0) return false;
    this.#failing.push(trace);
    this.#kept.set(trace.traceId, trace);
    return true;
  }

  #extend(trace: PickedTrace, spans: readonly ReadableSpan[]): void {
    for (const span of spans) {
      const s = startMs(span);
      const e = endMs(span);
      if (s < trace.start) trace.start = s;
      if (e > trace.end) trace.end = e;
      if (isErrorSpan(span)) trace.errors++;
      if (trace.spans.length < this.#maxSpans) trace.spans.push(span);
      else trace.omittedSpans++;
    }
  }

  /** Slowest first. */
  slowest(): PickedTrace[] {
    return [...this.#heap].sort((a, b) => durationOf(b) - durationOf(a) || a.seq - b.seq);
  }

  /** The first failing traces seen that are not already among the slowest. */
  failing(): PickedTrace[] {
    const shown = new Set(this.#heap);
    return this.#failing.filter((t) => !shown.has(t)).slice(0, this.#failingLimit);
  }

  #push(trace: PickedTrace): void {
    this.#heap.push(trace);
    let i = this.#heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!lessSlow(this.#heap[i], this.#heap[parent])) break;
      [this.#heap[i], this.#heap[parent]] = [this.#heap[parent], this.#heap[i]];
      i = parent;
    }
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < heap.length && lessSlow(heap[l], heap[least])) least = l;
      if (r < heap.length && lessSlow(heap[r], heap[least])) least = r;
      if (least === i) return;
      [heap[i], heap[least]] = [heap[least], heap[i]];
      i = least;
    }
  }

  #heapify(): void {
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }
}
