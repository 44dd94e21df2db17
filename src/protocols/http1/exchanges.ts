/**
 * Pairing HTTP/1 requests with responses on one connection.
 *
 * It lives beside the parser, not in correlate/, because HTTP/1 framing
 * depends on it: a response to HEAD has no body, a 2xx to CONNECT ends
 * HTTP on the connection, 1xx responses are interim. HTTP/1 answers in
 * request order, so a FIFO of pending requests is the whole model.
 *
 * Timeouts run on capture time. A request that times out stays in the
 * FIFO as a marker, so that its late response, should one come, is
 * recognised (and counted) instead of being paired with the next request.
 */
import type { Exchange, ExchangeOutcome, ExchangeSink } from '../../model/exchange.js';
import type { HttpRequest, HttpResponse } from '../../model/http.js';
import type { Stats } from '../../model/stats.js';
import type { ConnectionInfo } from '../../model/stream.js';
import { type HrTime, hrAddNanos } from '../../model/time.js';

export interface PairingLimits {
  maxPendingRequests: number;
  timeoutSeconds: number;
}

/** Interim responses kept per request (a server sending more is misbehaving). */
const MAX_INTERIM_PER_REQUEST = 16;
/** Interim responses kept for a response whose request was not seen. */
const MAX_ORPHAN_INTERIM = 4;

interface PendingRequest {
  request: HttpRequest;
  requestDone: boolean;
  /** A response head for it has arrived: it can no longer time out. */
  responseStarted: boolean;
  timedOut: boolean;
  interim: HttpResponse[] | undefined;
  /** Capture time (seconds) after which it times out; set when the request ends. */
  deadline: number;
}

/** What a final response was paired with. */
export interface PairingResult {
  /** Method of the request answered, if it was seen (even if it had timed out). */
  method: string | undefined;
}

export class Http1ExchangePairing {
  readonly #connection: ConnectionInfo;
  readonly #sink: ExchangeSink;
  readonly #stats: Stats;
  readonly #maxPending: number;
  readonly #timeoutSeconds: number;
  readonly #timeoutNanos: number;

  #queue: PendingRequest[] = [];
  #head = 0;
  /** Timed-out markers form a prefix of the queue (deadlines grow in request order). */
  #timedOutAtHead = 0;
  /** Answered before its own request finished (an early response); emitted when it does. */
  #answered: { entry: PendingRequest; response: HttpResponse } | undefined;
  #orphanInterim: HttpResponse[] = [];
  #sequence = 0;
  #lastSeen: HrTime | undefined;
  #lastSeenSec = 0;
  #lastSeenNsec = 0;
  #ended = false;

  constructor(connection: ConnectionInfo, sink: ExchangeSink, stats: Stats, limits: PairingLimits) {
    this.#connection = connection;
    this.#sink = sink;
    this.#stats = stats;
    this.#maxPending = limits.maxPendingRequests;
    this.#timeoutSeconds = limits.timeoutSeconds;
    this.#timeoutNanos = Math.round(limits.timeoutSeconds * 1e9);
  }

  /** Requests still awaiting an answer (not counting timed-out markers). */
  get pendingCount(): number {
    return this.#queue.length - this.#head - this.#timedOutAtHead;
  }

  /** Capture time of bytes seen on the connection: incomplete exchanges end here. */
  noteTime(sec: number, nsec: number): void {
    this.#lastSeenSec = sec;
    this.#lastSeenNsec = nsec;
    this.#lastSeen = undefined;
  }

  requestHead(request: HttpRequest): void {
    if (this.#ended) return;
    if (this.#queue.length - this.#head >= this.#maxPending) {
      this.#stats.drops.add('max-pending-requests');
      const oldest = this.#shift();
      if (oldest.timedOut) this.#timedOutAtHead--;
      else this.#emit(oldest.request, undefined, oldest.interim, 'incomplete', oldest.request.startTime, this.#lastSeenTime());
    }
    this.#queue.push({
      request,
      requestDone: false,
      responseStarted: false,
      timedOut: false,
      interim: undefined,
      deadline: Infinity,
    });
    this.#sink.onRequestStart?.(this.#connection, request);
  }

  requestEnd(request: HttpRequest): void {
    const answered = this.#answered;
    if (answered !== undefined && answered.entry.request === request) {
      this.#answered = undefined;
      answered.entry.requestDone = true;
      this.#emit(request, answered.response, answered.entry.interim, 'complete', request.startTime, answered.response.endTime);
      return;
    }
    const last = this.#queue.length > this.#head ? this.#queue[this.#queue.length - 1] : undefined;
    if (last === undefined || last.request !== request) return;
    last.requestDone = true;
    last.deadline = request.endTime[0] + request.endTime[1] / 1e9 + this.#timeoutSeconds;
  }

  /** A response head arrived at this time: returns the method of the request it answers. */
  beginResponse(sec: number, nsec: number): string | undefined {
    this.expire(sec, nsec);
    const entry = this.#peek();
    if (entry === undefined) return undefined;
    entry.responseStarted = true;
    return entry.request.method;
  }

  responseEnd(response: HttpResponse): PairingResult {
    const entry = this.#peek();
    if (response.interim) {
      if (entry === undefined) {
        if (this.#orphanInterim.length < MAX_ORPHAN_INTERIM) this.#orphanInterim.push(response);
        else this.#stats.drops.add('max-interim-responses');
      } else if (!entry.timedOut) {
        entry.responseStarted = false;
        entry.interim ??= [];
        if (entry.interim.length < MAX_INTERIM_PER_REQUEST) entry.interim.push(response);
        else this.#stats.drops.add('max-interim-responses');
      }
      return { method: entry?.request.method };
    }
    if (entry === undefined) {
      const interim = this.#orphanInterim.length > 0 ? this.#orphanInterim : undefined;
      this.#orphanInterim = [];
      this.#emit(undefined, response, interim, 'orphan', interim !== undefined ? interim[0].startTime : response.startTime, response.endTime);
      return { method: undefined };
    }
    this.#shift();
    if (entry.timedOut) {
      this.#timedOutAtHead--;
      this.#stats.exchanges.add('late-response');
      return { method: entry.request.method };
    }
    if (entry.requestDone) {
      this.#emit(entry.request, response, entry.interim, 'complete', entry.request.startTime, response.endTime);
    } else {
      this.#answered = { entry, response };
    }
    return { method: entry.request.method };
  }

  /** Times out requests whose deadline passed at this capture time. */
  expire(sec: number, nsec: number): void {
    const now = sec + nsec / 1e9;
    while (true) {
      const index = this.#head + this.#timedOutAtHead;
      if (index >= this.#queue.length) return;
      const entry = this.#queue[index];
      if (!entry.requestDone || entry.responseStarted || entry.deadline > now) return;
      entry.timedOut = true;
      this.#timedOutAtHead++;
      const request = entry.request;
      this.#emit(request, undefined, entry.interim, 'timeout', request.startTime, hrAddNanos(request.endTime, this.#timeoutNanos));
    }
  }

  /** The connection (or the capture) ended: whatever still waits is incomplete. */
  end(): void {
    if (this.#ended) return;
    const answered = this.#answered;
    if (answered !== undefined) {
      this.#answered = undefined;
      const request = answered.entry.request;
      this.#emit(request, answered.response, answered.entry.interim, 'complete', request.startTime, answered.response.endTime);
    }
    const end = this.#lastSeenTime();
    while (this.#queue.length > this.#head) {
      const entry = this.#shift();
      if (entry.timedOut) continue;
      this.#emit(entry.request, undefined, entry.interim, 'incomplete', entry.request.startTime, end);
    }
    this.#timedOutAtHead = 0;
    this.#ended = true;
  }

  #peek(): PendingRequest | undefined {
    return this.#head < this.#queue.length ? this.#queue[this.#head] : undefined;
  }

  #shift(): PendingRequest {
    const entry = this.#queue[this.#head];
    this.#queue[this.#head] = undefined as unknown as PendingRequest;
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return entry;
  }

  #lastSeenTime(): HrTime {
    this.#lastSeen ??= [this.#lastSeenSec, this.#lastSeenNsec];
    return this.#lastSeen;
  }

  #emit(
    request: HttpRequest | undefined,
    response: HttpResponse | undefined,
    interim: HttpResponse[] | undefined,
    outcome: ExchangeOutcome,
    start: HrTime,
    end: HrTime,
  ): void {
    const exchange: Exchange = {
      protocol: 'http',
      connection: this.#connection,
      sequence: this.#sequence++,
      request,
      response,
      outcome,
      start,
      end,
    };
    if (interim !== undefined && interim.length > 0) exchange.interim = interim;
    this.#stats.exchanges.add(outcome);
    this.#sink.onExchange(exchange);
  }
}
