// Loopback receivers and real SDK spans shared by the exporter tests.
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo, Socket } from 'node:net';
import { context, trace, SpanKind, SpanStatusCode, type AttributeValue } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { exporterSchema, type ExporterConfig, type ExporterConfigInput } from '../../src/export/config.js';

/**
 * Spans made by the OpenTelemetry SDK itself: a SERVER span of "checkout"
 * with a CLIENT child (an event, a link, an error status), and a SERVER span
 * of "payments" joined to the same trace. Attribute values of every type.
 */
export function sdkSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const checkout = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'host.name': 'node-1' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const payments = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'payments' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = checkout.getTracer('wiretrace-test', '1.2.3');
  // Capture times carry nanoseconds (pcapng); every encoder has to cope with the digits below a microsecond.
  const at = (nanosAfter: number): [number, number] => [1763776432, 123456789 + nanosAfter];
  const server = tracer.startSpan('GET /api/cart/:id', {
    kind: SpanKind.SERVER,
    startTime: at(0),
    attributes: { 'http.request.method': 'GET', 'url.path': '/api/cart/7', 'http.response.status_code': 200, ratio: 0.25, cached: false, tags: ['a', 'b'] },
  });
  const serverCtx = server.spanContext();
  const parentContext = { traceId: serverCtx.traceId, spanId: serverCtx.spanId, traceFlags: 1 };
  const ctx = trace.setSpanContext(context.active(), parentContext);
  const client = tracer.startSpan(
    'POST',
    { kind: SpanKind.CLIENT, startTime: at(1_234_567), attributes: { 'http.request.method': 'POST', 'server.address': 'payments', 'http.response.status_code': 503 }, links: [{ context: { traceId: 'aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb', spanId: 'cccccccccccccccc', traceFlags: 1 } }] },
    ctx,
  );
  client.addEvent('retry', { attempt: 2 }, at(2_500_001));
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream unavailable' });
  const paymentsSpan = payments
    .getTracer('wiretrace-test')
    .startSpan('POST /charge', { kind: SpanKind.SERVER, startTime: at(1_900_333), attributes: { 'http.response.status_code': 503 } }, trace.setSpanContext(context.active(), client.spanContext()));
  paymentsSpan.setStatus({ code: SpanStatusCode.ERROR });
  paymentsSpan.end(at(7_654_321));
  client.end(at(8_000_999));
  server.setStatus({ code: SpanStatusCode.OK });
  server.end(at(9_999_999));
  return memory.getFinishedSpans();
}


export function manySpans(n: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bulk' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('wiretrace-test');
  for (let i = 0; i < n; i++) tracer.startSpan(`span ${i}`, { kind: SpanKind.SERVER, attributes: { i } }).end();
  return memory.getFinishedSpans();
}

/** What every protocol must carry for a span, in one comparable shape. */
export interface SpanFacts {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  /** Start and end as integer strings, in the protocol's unit (ns or µs). */
  start: string;
  end: string;
  status: string;
  attributes: Record<string, AttributeValue>;
}

const KINDS = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUSES = ['UNSET', 'OK', 'ERROR'];

export function factsOf(span: ReadableSpan, unit: 'ns' | 'us'): SpanFacts {
  const ctx = span.spanContext();
  const time = (t: [number, number]): string =>
    unit === 'ns' ? (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString() : (BigInt(t[0]) * 1_000_000n + BigInt(Math.floor(t[1] / 1000))).toString();
  return {
    service: String(span.resource.attributes['service.name']),
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? '',
    name: span.name,
    kind: KINDS[span.kind],
    start: time(span.startTime),
    end: time(span.endTime),
    status: STATUSES[span.status.code],
    attributes: { ...(span.attributes as Record<string, AttributeValue>) },
  };
}

export function byName<T extends { name: string }>(list: T[]): Map<string, T> {
  return new Map(list.map((x) => [x.name, x]));
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body as sent, gunzipped when it was gzip-encoded. */
  body: Buffer;
  wireBytes: number;
  /** What the receiver answered. */
  status: number;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'stall' | 'hang-up';

/**
 * An HTTP(S) server on 127.0.0.1 that records what arrives and answers as
 * scripted: each request takes the next scripted reply, then 200.
 */
export class LoopbackReceiver {
  readonly requests: ReceivedRequest[] = [];
  readonly replies: Reply[] = [];
  #server: http.Server;
  #sockets = new Set<Socket>();
  #port = 0;
  #waiters: Array<{ n: number; resolve: () => void }> = [];
  readonly #tls: { key: Buffer; cert: Buffer } | undefined;

  private constructor(tls?: { key: Buffer; cert: Buffer }) {
    this.#tls = tls;
    this.#server = this.#create();
  }

  static async start(tls?: { key: Buffer; cert: Buffer }): Promise<LoopbackReceiver> {
    const receiver = new LoopbackReceiver(tls);
    await receiver.#listen(0);
    return receiver;
  }

  #create(): http.Server {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const reply = this.replies.shift() ?? { status: 200 };
        if (reply === 'stall') return; // never answers
        if (reply === 'hang-up') {
          req.socket.destroy();
          return;
        }
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw,
          wireBytes: raw.length,
          status: reply.status,
        });
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
        this.#waiters = this.#waiters.filter((w) => (this.requests.length >= w.n ? (w.resolve(), false) : true));
      });
    };
    const server = this.#tls ? https.createServer({ key: this.#tls.key, cert: this.#tls.cert }, handler) : http.createServer(handler);
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    return server;
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `${this.#tls ? 'https' : 'http'}://127.0.0.1:${this.#port}${path}`;
  }

  /** Bodies of the requests answered 2xx. */
  delivered(): Buffer[] {
    return this.requests.filter((r) => r.status < 300).map((r) => r.body);
  }

  /** Resolves when n requests have been answered (stalled and hung-up ones do not count). */
  waitForRequests(n: number, timeoutMs = 5000): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.requests.length} of ${n} requests arrived within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Goes away: the port stops listening and open connections are cut. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
  }

  /** Comes back on the same port. */
  async restart(): Promise<void> {
    this.#server = this.#create();
    await this.#listen(this.#port);
  }
}

/** One exporter entry through the real schema, with timings small enough for tests. */
export function fastConfig(entry: Record<string, unknown>): ExporterConfig {
  const input = {
    queue: { scheduledDelayMillis: 20, exportTimeoutMillis: 1000, ...(entry.queue as object) },
    retry: { initialBackoffMs: 20, maxBackoffMs: 100, maxAttempts: 5, maxElapsedMs: 5000, ...(entry.retry as object) },
    ...Object.fromEntries(Object.entries(entry).filter(([k]) => k !== 'queue' && k !== 'retry')),
  };
  return exporterSchema.parse(input as ExporterConfigInput);
}

/** A self-signed certificate for 127.0.0.1, made by openssl for this run. */
export function selfSignedCertificate(): { key: Buffer; cert: Buffer; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wt-tls-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
