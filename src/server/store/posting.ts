/** What the indexes point at: a span and the trace that holds it (dead once the trace is evicted). */
export interface IndexedSpan {
  readonly startUs: number;
  readonly trace: { evicted: boolean };
}

/** How far back an out-of-order arrival is placed by insertion before the list is marked for a full sort. */
const INSERTION_WINDOW = 64;

/**
 * A list of spans ordered by start time, for one index key. Spans mostly
 * arrive in time order; a late one is slotted in near the end, and only a
 * truly scattered arrival leaves the list to be sorted at the next query.
 * Evicted spans stay until they are more than half the list.
 */
export class PostingList<T extends IndexedSpan> {
  entries: T[] = [];
  #sorted = true;
  dead = 0;

  add(entry: T): void {
    const list = this.entries;
    const n = list.length;
    if (n === 0 || list[n - 1].startUs <= entry.startUs || !this.#sorted) {
      list.push(entry);
      return;
    }
    let i = n - 1;
    const stop = Math.max(0, n - INSERTION_WINDOW);
    while (i > stop && list[i - 1].startUs > entry.startUs) i--;
    if (i === stop && stop > 0 && list[i - 1].startUs > entry.startUs) {
      list.push(entry);
      this.#sorted = false;
      return;
    }
    list.splice(i, 0, entry);
  }

  markDead(n = 1): void {
    this.dead += n;
    if (this.dead > 1024 && this.dead * 2 > this.entries.length) this.compact();
  }

  compact(): void {
    this.entries = this.entries.filter((e) => !e.trace.evicted);
    this.dead = 0;
  }

  get live(): number {
    return this.entries.length - this.dead;
  }

  /** The entries in start-time order (sorting first when arrivals were scattered). */
  ordered(): T[] {
    if (!this.#sorted) {
      this.entries.sort((a, b) => a.startUs - b.startUs);
      this.#sorted = true;
    }
    return this.entries;
  }

  /** Index of the first entry whose start is after `maxStartUs` (binary search over the ordered entries). */
  upperBound(maxStartUs: number): number {
    const list = this.ordered();
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid].startUs <= maxStartUs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
