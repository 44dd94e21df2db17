import type { Exchange, ExchangeSink } from '../model/exchange.js';
import type { HttpRequest } from '../model/http.js';
import type { Stats } from '../model/stats.js';
import type { ConnectionInfo } from '../model/stream.js';
import type { LocalProcessResolver } from './owners.js';

/** The span assembly behind the gate: exchanges, request starts and ticks. */
export interface TickingExchangeSink extends ExchangeSink {
  onTick(sec: number, nsec: number): void;
}

type Event =
  | { kind: 'exchange'; exchange: Exchange }
  | { kind: 'request'; connection: ConnectionInfo; request: HttpRequest }
  | { kind: 'tick'; sec: number; nsec: number };

export interface OwnerGateOptions {
  stats: Stats;
  /** Events held at most while owners are looked up; beyond, they go on unnamed (counted). */
  maxHeld?: number;
  /** How long events wait for lookups at most. */
  maxWaitMs?: number;
}

/**
 * Holds exchanges back, in order, while the owners of their sockets are
 * still being looked up in the background, so that spans are named by
 * their processes even when the span assembly would release them at once.
 * Everything behind the gate sees the same events in the same order, only
 * later: request starts, exchanges and ticks alike.
 */
export class OwnerLookupGate implements TickingExchangeSink {
  readonly #inner: TickingExchangeSink;
  readonly #owners: LocalProcessResolver;
  readonly #stats: Stats;
  readonly #maxHeld: number;
  readonly #maxWaitMs: number;
  #held: Event[] = [];
  #waiting = false;

  constructor(inner: TickingExchangeSink, owners: LocalProcessResolver, options: OwnerGateOptions) {
    this.#inner = inner;
    this.#owners = owners;
    this.#stats = options.stats;
    this.#maxHeld = options.maxHeld ?? 10_000;
    this.#maxWaitMs = options.maxWaitMs ?? 2_000;
  }

  /** Events waiting (for tests and metrics). */
  get heldCount(): number {
    return this.#held.length;
  }

  onRequestStart(connection: ConnectionInfo, request: HttpRequest): void {
    if (this.#pass()) this.#inner.onRequestStart?.(connection, request);
    else this.#hold({ kind: 'request', connection, request });
  }

  onExchange(exchange: Exchange): void {
    if (this.#pass()) this.#inner.onExchange(exchange);
    else this.#hold({ kind: 'exchange', exchange });
  }

  onTick(sec: number, nsec: number): void {
    if (this.#pass()) this.#inner.onTick(sec, nsec);
    else this.#hold({ kind: 'tick', sec, nsec });
  }

  /** Lets everything held through now (end of capture). */
  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const e of held) {
      if (e.kind === 'exchange') this.#inner.onExchange(e.exchange);
      else if (e.kind === 'request') this.#inner.onRequestStart?.(e.connection, e.request);
      else this.#inner.onTick(e.sec, e.nsec);
    }
  }

  #pass(): boolean {
    if (this.#held.length > 0) return false;
    return !this.#owners.busy;
  }

  #hold(event: Event): void {
    this.#held.push(event);
    if (this.#held.length > this.#maxHeld) {
      this.#stats.drops.add('owner-lookup-wait', this.#held.length);
      this.release();
      return;
    }
    if (this.#waiting) return;
    this.#waiting = true;
    void this.#waitThenRelease();
  }

  async #waitThenRelease(): Promise<void> {
    // Connections keep arriving while we wait: wait for their lookups too, up to the bound.
    const deadline = Date.now() + this.#maxWaitMs;
    while (this.#owners.busy && Date.now() < deadline) await this.#owners.settle(deadline - Date.now());
    if (this.#owners.busy) this.#stats.drops.add('owner-lookup-wait', this.#held.length);
    this.#waiting = false;
    this.release();
  }
}
