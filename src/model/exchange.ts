import type { ConnectionInfo } from './stream.js';
import type { HttpRequest, HttpResponse } from './http.js';
import type { HrTime } from './time.js';

export type ExchangeOutcome =
  /** request and final response both seen */
  | 'complete'
  /** no response within the span timeout (capture time) */
  | 'timeout'
  /** still awaiting a response when the capture or the connection ended */
  | 'incomplete'
  /** a response whose request was not captured */
  | 'orphan';

/** A request paired with its response: the unit that becomes spans. */
export interface Exchange {
  protocol: 'http';
  connection: ConnectionInfo;
  /** 0-based position of this exchange within its connection (deterministic ids). */
  sequence: number;
  request?: HttpRequest;
  response?: HttpResponse;
  /** Interim (1xx) responses seen before the final one. */
  interim?: HttpResponse[];
  outcome: ExchangeOutcome;
  start: HrTime;
  end: HrTime;
}

export interface ExchangeSink {
  onExchange(exchange: Exchange): void;
  /**
   * A request was seen and now awaits its answer; the exchange holding this
   * same request object follows (complete, timeout or incomplete). Lets the
   * trace assembler know which server requests are still open, so that it
   * waits for them only as long as they really are.
   */
  onRequestStart?(connection: ConnectionInfo, request: HttpRequest): void;
}
