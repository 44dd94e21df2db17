import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { WiretraceError } from '../errors.js';
import { Stats } from '../model/stats.js';
import { queryHandler, type ApiRoute } from './api.js';
import { storedFromReadable } from './convert/readable.js';
import { startGrpcReceiver } from './grpc.js';
import { LiveFeed } from './live.js';
import { receiverHandler, type ReceiverContext, type ReceiverKind } from './receivers.js';
import type { StoredSpan } from './span.js';
import { DiskPersistence } from './store/disk.js';
import { MemoryStore, type StoreLimits } from './store/memory.js';

export interface ServerPorts {
  otlpGrpc: number;
  otlpHttp: number;
  zipkin: number;
  jaegerThrift: number;
  query: number;
}

export interface TraceServerOptions {
  /** Address every listener binds; 127.0.0.1 unless told otherwise. */
  host: string;
  /** 0 picks a free port (reported by ports()); -1 turns that listener off. */
  ports: ServerPorts;
  /** When set, receivers and the API require `Authorization: Bearer <token>`. */
  token?: string;
  /** LMDB directory: traces survive restarts. Without it the store is in memory only. */
  storagePath?: string;
  limits: StoreLimits;
  /** Largest request body accepted, on the wire and decompressed (413 beyond). */
  maxBodyBytes: number;
  /** Directory of the built web UI served on the query port. */
  uiDir?: string;
  stats?: Stats;
  /** More /api routes on the query port, made once the store exists (e.g. the UI's /api/graph). */
  apiRoutes?: (store: MemoryStore) => ApiRoute[];
}

/**
 * The trace server: receivers (OTLP gRPC and HTTP, Zipkin v2, Jaeger
 * Thrift) into one embedded store, and the Jaeger query API, live feed and
 * web UI out on the query port.
 */
export class TraceServer {
  readonly store: MemoryStore;
  readonly stats: Stats;
  readonly #live: LiveFeed;
  readonly #disk: DiskPersistence | undefined;
  readonly #closers: Array<() => Promise<void>> = [];
  readonly #ports: Partial<ServerPorts> = {};
  readonly #host: string;
  readonly #expiry: NodeJS.Timeout;
  #closed = false;

  private constructor(options: TraceServerOptions) {
    this.stats = options.stats ?? new Stats();
    this.#host = options.host;
    this.store = new MemoryStore({ limits: options.limits, stats: this.stats });
    if (options.storagePath) {
      this.#disk = DiskPersistence.open(options.storagePath);
      this.#disk.load(this.store);
      this.store.setPersistence(this.#disk);
    }
    this.#live = new LiveFeed(this.store);
    this.#expiry = setInterval(() => this.store.expire(), 5000).unref();
  }

  static async start(options: TraceServerOptions): Promise<TraceServer> {
    const server = new TraceServer(options);
    try {
      await server.#listen(options);
    } catch (err) {
      await server.close();
      const e = err as NodeJS.ErrnoException;
      throw new WiretraceError('WT_ERR_USAGE', `trace server cannot listen: ${e.message}`, { cause: err });
    }
    return server;
  }

  async #listen(options: TraceServerOptions): Promise<void> {
    const ctx: ReceiverContext = {
      token: options.token,
      maxBodyBytes: options.maxBodyBytes,
      stats: this.stats,
      accept: (spans) => this.store.add(spans),
    };
    const httpReceivers: Array<[keyof ServerPorts, ReceiverKind]> = [
      ['otlpHttp', 'otlp-http'],
      ['zipkin', 'zipkin'],
      ['jaegerThrift', 'jaeger-thrift'],
    ];
    for (const [name, kind] of httpReceivers) {
      if (options.ports[name] < 0) continue;
      this.#ports[name] = await this.#serveHttp(options.ports[name], receiverHandler(kind, ctx));
    }
    if (options.ports.query >= 0) {
      this.#ports.query = await this.#serveHttp(options.ports.query, queryHandler({ store: this.store, token: options.token, uiDir: options.uiDir, live: this.#live, routes: options.apiRoutes?.(this.store) }));
    }
    if (options.ports.otlpGrpc >= 0) {
      const grpc = await startGrpcReceiver(options.host, options.ports.otlpGrpc, ctx);
      this.#ports.otlpGrpc = grpc.port;
      this.#closers.push(() => grpc.close());
    }
  }

  async #serveHttp(port: number, handler: http.RequestListener): Promise<number> {
    const server = http.createServer({ keepAliveTimeout: 5000, headersTimeout: 30_000, requestTimeout: 60_000 }, handler);
    const sockets = new Set<Socket>();
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.#host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        }),
    );
    return (server.address() as AddressInfo).port;
  }

  /** The ports actually bound (a 0 in the options becomes the port chosen). */
  ports(): Partial<ServerPorts> {
    return { ...this.#ports };
  }

  get host(): string {
    return this.#host;
  }

  /** Stores spans made in this process (the agent's `--serve`): no encoding, no network hop. */
  addReadableSpans(spans: readonly ReadableSpan[]): number {
    const stored: StoredSpan[] = new Array(spans.length);
    for (let i = 0; i < spans.length; i++) stored[i] = storedFromReadable(spans[i]);
    this.stats.spans.add('server-received-in-process', stored.length);
    return this.store.add(stored);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#expiry);
    this.#live.close();
    await Promise.all(this.#closers.map((c) => c()));
    await this.#disk?.close();
  }
}
