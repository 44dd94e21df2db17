// Spans per second through ExportQueue → our OTLP/HTTP protobuf exporter →
// a loopback receiver, and the same spans through OpenTelemetry's own
// BatchSpanProcessor → OTLPTraceExporter (proto) for the ratio.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ExportQueue } from '../../src/export/queue.js';
import { OtlpHttpSpanExporter } from '../../src/export/otlp-http.js';
import { exportQueueSchema, exportRetrySchema, exportTlsSchema } from '../../src/export/config.js';

const SPANS = 50_000;
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function makeSpans(n: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bench' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('bench');
  for (let i = 0; i < n; i++) {
    tracer
      .startSpan('GET /api/users/:id', {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'GET', 'url.path': `/api/users/${i}`, 'http.response.status_code': 200, 'server.address': 'users' },
      })
      .end();
  }
  return memory.getFinishedSpans();
}

async function startReceiver(): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    received: () => requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function throughQueue(spans: ReadableSpan[], url: string): Promise<number> {
  const exporter = new OtlpHttpSpanExporter({ url, headers: {}, compression: 'none', timeoutMs: 30_000, tls: exportTlsSchema.parse(undefined), protocol: 'protobuf' });
  const queue = new ExportQueue('bench', exporter, {
    queue: exportQueueSchema.parse({ maxQueueSize: spans.length }),
    retry: exportRetrySchema.parse(undefined),
  });
  const started = performance.now();
  for (let i = 0; i < spans.length; i += 100) queue.offer(spans.slice(i, i + 100));
  await queue.forceFlush();
  const seconds = (performance.now() - started) / 1000;
  await queue.shutdown(5000);
  if (queue.counters.exported !== spans.length) throw new Error(`ExportQueue exported ${queue.counters.exported} of ${spans.length}`);
  return spans.length / seconds;
}

async function throughBatchSpanProcessor(spans: ReadableSpan[], url: string): Promise<number> {
  // forceFlush sends every queued batch at once; the exporter's default limit of 30 concurrent exports would refuse most of them.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url, concurrencyLimit: 1000 }), { maxQueueSize: spans.length, maxExportBatchSize: 512, scheduledDelayMillis: 5000 });
  const started = performance.now();
  for (const span of spans) processor.onEnd(span);
  await processor.forceFlush();
  const seconds = (performance.now() - started) / 1000;
  await processor.shutdown();
  return spans.length / seconds;
}

export async function bench(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const spans = makeSpans(SPANS);
  const receiver = await startReceiver();
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      ours.push(await throughQueue(spans, receiver.url));
      theirs.push(await throughBatchSpanProcessor(spans, receiver.url));
    }
  } finally {
    await receiver.close();
  }
  const a = median(ours);
  const b = median(theirs);
  return [
    { name: 'ExportQueue → OTLP/HTTP protobuf → loopback', value: a / 1e3, unit: 'K spans/s' },
    { name: 'OTel BatchSpanProcessor → OTLPTraceExporter (proto) → loopback', value: b / 1e3, unit: 'K spans/s' },
    { name: 'ratio ExportQueue / BatchSpanProcessor', value: a / b, unit: '×' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await bench()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}`);
}
