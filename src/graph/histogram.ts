/**
 * A log-bucketed latency histogram with a fixed relative error, in the
 * manner of DDSketch: bucket i holds values in (γ^(i-1), γ^i], and a
 * quantile is answered with the bucket's midpoint 2γ^i/(γ+1), which is
 * within α = (γ-1)/(γ+1) of every value in the bucket. Memory is bounded by
 * the index range: values below MIN_VALUE share one bucket, values above
 * MAX_VALUE are clamped into the last one (the exact min and max are kept,
 * so quantiles never leave the observed range).
 */

/** Relative accuracy of every quantile answered (1%, inside the 2% the graph promises). */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);

/** Smallest value told apart from zero (1 ns when values are milliseconds). */
export const MIN_VALUE = 1e-6;
/** Largest value kept with full accuracy (a day in milliseconds); larger ones land in the last bucket. */
export const MAX_VALUE = 86_400_000;

const MIN_INDEX = Math.ceil(Math.log(MIN_VALUE) / LOG_GAMMA);
const MAX_INDEX = Math.ceil(Math.log(MAX_VALUE) / LOG_GAMMA);
/** Number of log buckets (about 1,750): the fixed upper bound on a histogram's memory. */
export const BUCKET_COUNT = MAX_INDEX - MIN_INDEX + 1;

/** Counts grow in steps so that a histogram of a narrow latency range stays small. */
const GROWTH_STEP = 64;

function indexOf(value: number): number {
  const i = Math.ceil(Math.log(value) / LOG_GAMMA);
  return i < MIN_INDEX ? MIN_INDEX : i > MAX_INDEX ? MAX_INDEX : i;
}

function valueOf(index: number): number {
  return (2 * Math.pow(GAMMA, index)) / (GAMMA + 1);
}

export class LogHistogram {
  /** counts[k] is the count of bucket #offset + k. */
  #counts = new Uint32Array(0);
  #offset = 0;
  /** Values ≤ MIN_VALUE (including zero and, defensively, negatives). */
  #zeroCount = 0;
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  get count(): number {
    return this.#count;
  }
  get sum(): number {
    return this.#sum;
  }
  get min(): number {
    return this.#count ? this.#min : 0;
  }
  get max(): number {
    return this.#count ? this.#max : 0;
  }

  record(value: number, times = 1): void {
    if (!(times > 0)) return;
    if (Number.isNaN(value)) return;
    this.#count += times;
    this.#sum += value * times;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
    if (value <= MIN_VALUE) {
      this.#zeroCount += times;
      return;
    }
    const index = indexOf(value);
    this.#ensure(index);
    this.#counts[index - this.#offset] += times;
  }

  #ensure(index: number): void {
    const counts = this.#counts;
    if (counts.length === 0) {
      const start = Math.max(MIN_INDEX, index - (GROWTH_STEP >> 1));
      const end = Math.min(MAX_INDEX, start + GROWTH_STEP - 1);
      this.#offset = start;
      this.#counts = new Uint32Array(end - start + 1);
      return;
    }
    const first = this.#offset;
    const last = first + counts.length - 1;
    if (index >= first && index <= last) return;
    const newFirst = index < first ? Math.max(MIN_INDEX, index - GROWTH_STEP) : first;
    const newLast = index > last ? Math.min(MAX_INDEX, index + GROWTH_STEP) : last;
    const grown = new Uint32Array(newLast - newFirst + 1);
    grown.set(counts, first - newFirst);
    this.#counts = grown;
    this.#offset = newFirst;
  }

  /**
   * The value at nearest rank ⌈q·n⌉ (q in [0, 1]), within RELATIVE_ACCURACY
   * of the exact one for values in [MIN_VALUE, MAX_VALUE]; 0 when empty.
   */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const clamped = q <= 0 ? 0 : q >= 1 ? 1 : q;
    const rank = Math.max(1, Math.ceil(clamped * this.#count));
    if (rank === this.#count) return this.#max;
    if (rank === 1) return this.#min;
    let seen = this.#zeroCount;
    if (rank <= seen) return this.#min;
    const counts = this.#counts;
    for (let k = 0; k < counts.length; k++) {
      seen += counts[k];
      if (seen >= rank) {
        const v = valueOf(k + this.#offset);
        return v < this.#min ? this.#min : v > this.#max ? this.#max : v;
      }
    }
    return this.#max;
  }

  merge(other: LogHistogram): void {
    if (other.#count === 0) return;
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#min < this.#min) this.#min = other.#min;
    if (other.#max > this.#max) this.#max = other.#max;
    this.#zeroCount += other.#zeroCount;
    const oc = other.#counts;
    if (oc.length === 0) return;
    this.#ensure(other.#offset);
    this.#ensure(other.#offset + oc.length - 1);
    const shift = other.#offset - this.#offset;
    for (let k = 0; k < oc.length; k++) if (oc[k]) this.#counts[k + shift] += oc[k];
  }

  clone(): LogHistogram {
    const copy = new LogHistogram();
    copy.merge(this);
    return copy;
  }

  /** Bytes held by the bucket array (bounded by BUCKET_COUNT × 4). */
  get bucketBytes(): number {
    return this.#counts.byteLength;
  }
}
