/**
 * One HTTP/1 connection: a request parser on the client's stream, a
 * response parser on the server's, and the pairing between them.
 */
import type { ExchangeSink } from '../../model/exchange.js';
import type { HttpRequest, HttpResponse } from '../../model/http.js';
import type { Stats } from '../../model/stats.js';
import { type ConnectionInfo, type Direction, type EndReason, type GapReason, type StreamConsumer, Direction as Dir } from '../../model/stream.js';
import { Http1ExchangePairing, type PairingLimits } from './exchanges.js';
import { Http1DirectionParser, type Http1ParserHost, MessageRole } from './parser.js';

export interface Http1ConnectionOptions extends PairingLimits {
  maxHeaderBytes: number;
  /** The client's stream does not start at a message boundary (capture began mid-connection, or a gap). */
  clientMidStream: boolean;
  serverMidStream: boolean;
}

/** Told when a connection starts or stops having requests that can time out. */
export interface PendingWatcher {
  watch(connection: Http1Connection): void;
  unwatch(connection: Http1Connection): void;
}

export class Http1Connection implements StreamConsumer, Http1ParserHost {
  readonly #requests: Http1DirectionParser;
  readonly #responses: Http1DirectionParser;
  readonly #pairing: Http1ExchangePairing;
  readonly #stats: Stats;
  readonly #watcher: PendingWatcher | undefined;
  #watched = false;
  #switched = false;
  #ended = false;

  constructor(connection: ConnectionInfo, sink: ExchangeSink, stats: Stats, options: Http1ConnectionOptions, watcher?: PendingWatcher) {
    this.#stats = stats;
    this.#watcher = watcher;
    this.#pairing = new Http1ExchangePairing(connection, sink, stats, options);
    this.#requests = new Http1DirectionParser(MessageRole.Request, this, stats, options.maxHeaderBytes, options.clientMidStream);
    this.#responses = new Http1DirectionParser(MessageRole.Response, this, stats, options.maxHeaderBytes, options.serverMidStream);
  }

  onData(dir: Direction, data: Buffer, offset: number, length: number, tsSec: number, tsNsec: number): void {
    if (this.#ended) return;
    this.#pairing.noteTime(tsSec, tsNsec);
    if (dir === Dir.ClientToServer) this.#requests.onData(data, offset, length, tsSec, tsNsec);
    else this.#responses.onData(data, offset, length, tsSec, tsNsec);
  }

  onGap(dir: Direction, length: number, reason: GapReason, tsSec: number, tsNsec: number): void {
    if (this.#ended) return;
    this.#pairing.noteTime(tsSec, tsNsec);
    if (dir === Dir.ClientToServer) this.#requests.onGap(length, reason, tsSec, tsNsec);
    else this.#responses.onGap(length, reason, tsSec, tsNsec);
  }

  onEnd(reason: EndReason, tsSec: number, tsNsec: number): void {
    if (this.#ended) return;
    const onTheWire = reason === 'fin' || reason === 'rst';
    if (onTheWire) this.#pairing.noteTime(tsSec, tsNsec);
    this.#requests.onEnd(onTheWire);
    this.#responses.onEnd(onTheWire);
    this.#pairing.end();
    this.#ended = true;
    this.#updateWatch();
  }

  /** Requests sent and not yet answered (nor timed out). */
  get pendingRequests(): number {
    return this.#pairing.pendingCount;
  }

  /** Capture time advanced: time out requests that waited too long. */
  expire(tsSec: number, tsNsec: number): void {
    this.#pairing.expire(tsSec, tsNsec);
    this.#updateWatch();
  }

  // ---- Http1ParserHost ----------------------------------------------------

  onRequestHead(request: HttpRequest): void {
    this.#pairing.requestHead(request);
  }

  onRequestEnd(request: HttpRequest): void {
    this.#pairing.requestEnd(request);
    this.#updateWatch();
  }

  beginResponse(startSec: number, startNsec: number): string | undefined {
    return this.#pairing.beginResponse(startSec, startNsec);
  }

  onResponseEnd(response: HttpResponse): void {
    const { method } = this.#pairing.responseEnd(response);
    if (method === 'CONNECT' && !response.interim && (response.status < 200 || response.status >= 300)) {
      this.#requests.resumeAfterRefusedTunnel();
    }
    this.#updateWatch();
  }

  onProtocolSwitch(): void {
    if (this.#switched) return;
    this.#switched = true;
    this.#stats.protocols.add('http1-upgraded');
    this.#requests.stop();
    this.#responses.stop();
  }

  #updateWatch(): void {
    if (this.#watcher === undefined) return;
    const want = !this.#ended && this.#pairing.pendingCount > 0;
    if (want === this.#watched) return;
    this.#watched = want;
    if (want) this.#watcher.watch(this);
    else this.#watcher.unwatch(this);
  }
}
