import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MemoryStore, TraceSummary } from './store/memory.js';

export interface LiveFeedOptions {
  /** Clients connected at once; beyond it new ones get 503. */
  maxClients?: number;
  /** Summaries are gathered and sent at most this often. */
  intervalMs?: number;
  /** Bytes a client may leave unread before it is dropped. */
  maxBufferedBytes?: number;
}

/**
 * GET /api/live: Server-Sent Events. Every `intervalMs` while traces are
 * being stored, one `event: traces` whose data is a JSON array of
 * TraceSummary (traceId, rootService, rootName, spanCount, errorCount,
 * services, startUs, durationUs) for each trace that changed. A comment
 * line every 15 s keeps proxies from closing an idle stream.
 */
export class LiveFeed {
  readonly #clients = new Set<ServerResponse>();
  readonly #pending = new Map<string, TraceSummary>();
  readonly #maxClients: number;
  readonly #intervalMs: number;
  readonly #maxBuffered: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(store: MemoryStore, options: LiveFeedOptions = {}) {
    this.#maxClients = options.maxClients ?? 64;
    this.#intervalMs = options.intervalMs ?? 250;
    this.#maxBuffered = options.maxBufferedBytes ?? 1 << 20;
    this.#unsubscribe = store.subscribe((summaries) => {
      if (this.#clients.size === 0) return;
      for (const s of summaries) this.#pending.set(s.traceId, s);
      this.#timer ??= setTimeout(() => this.#flush(), this.#intervalMs).unref();
    });
    this.#heartbeat = setInterval(() => this.#send(': keep-alive\n\n'), 15_000).unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  attach(req: IncomingMessage, res: ServerResponse): void {
    if (this.#clients.size >= this.#maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' });
      res.end('too many live clients\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n: wiretrace live traces\n\n');
    this.#clients.add(res);
    const drop = (): void => {
      this.#clients.delete(res);
    };
    req.on('close', drop);
    res.on('close', drop);
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const data = JSON.stringify([...this.#pending.values()]);
    this.#pending.clear();
    this.#send(`event: traces\ndata: ${data}\n\n`);
  }

  #send(text: string): void {
    for (const res of this.#clients) {
      if (res.writableLength > this.#maxBuffered) {
        // A reader that stopped reading is let go rather than buffered without bound.
        res.destroy();
        this.#clients.delete(res);
        continue;
      }
      res.write(text);
    }
  }

  close(): void {
    this.#unsubscribe();
    clearInterval(this.#heartbeat);
    if (this.#timer) clearTimeout(this.#timer);
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}
