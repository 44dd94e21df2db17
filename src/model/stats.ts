/**
 * Counters shared by every stage: each drop at a limit, each parse problem,
 * each thing counted for the summary. Plain numbers on the hot path; the
 * metrics exporter reads them.
 */
export class Stats {
  packets = 0;
  bytes = 0;
  /** Frames the link/IP layers could not place, by reason. */
  readonly undecodable = new Counter();
  /** Frames that were not TCP (UDP, ICMP, ARP, ...). */
  nonTcpPackets = 0;
  connections = 0;
  /** TCP anomalies by kind: 'retransmission', 'overlap', 'out-of-order', 'gap', 'reused-tuple', ... */
  readonly tcp = new Counter();
  /** Bytes missing from streams (holes and snaplen truncation). */
  gapBytes = 0;
  /** Things dropped at a limit, by limit name: 'max-connections', 'max-buffered-bytes', ... */
  readonly drops = new Counter();
  /** Connections by detected protocol: 'http1', 'tls', 'unknown', ... */
  readonly protocols = new Counter();
  /** Parse problems by 'protocol:kind'. */
  readonly parseErrors = new Counter();
  /** HTTP messages read, and those truncated. */
  messages = 0;
  truncatedMessages = 0;
  /** Exchanges by outcome. */
  readonly exchanges = new Counter();
  /** Spans by fate: 'emitted', 'filtered', 'orphan-dropped', ... */
  readonly spans = new Counter();
  traces = 0;
  errorSpans = 0;
}

export class Counter {
  readonly #counts = new Map<string, number>();
  add(key: string, n = 1): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
  total(): number {
    let t = 0;
    for (const v of this.#counts.values()) t += v;
    return t;
  }
  entries(): [string, number][] {
    return [...this.#counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.entries());
  }
}
