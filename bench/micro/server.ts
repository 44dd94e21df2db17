// Trace server: spans/s ingested over OTLP/HTTP protobuf from OpenTelemetry's
// own exporter (BatchSpanProcessor → OTLPTraceExporter), and search latency
// (p50/p99) through the Jaeger API's store with 1,000,000 spans stored.
import { SpanKind } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { TraceServer } from '../../src/server/index.js';
import { MemoryStore } from '../../src/server/store/memory.js';
import { parseTraceQuery } from '../../src/server/query-params.js';
import type { StoredSpan } from '../../src/server/span.js';

const INGEST_SPANS = 50_000;
const RUNS = 3;
const STORED_SPANS = 1_000_000;
const SEARCHES = 200;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function ingestRun(): Promise<number> {
  const server = await TraceServer.start({
    host: '127.0.0.1',
    ports: { otlpGrpc: -1, otlpHttp: 0, zipkin: -1, jaegerThrift: -1, query: -1 },
    limits: { maxSpans: 10_000_000, maxTraces: 10_000_000, maxAgeSeconds: 0 },
    maxBodyBytes: 64 << 20,
  });
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${server.ports().otlpHttp}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench' }),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: INGEST_SPANS, maxExportBatchSize: 2048, scheduledDelayMillis: 5 })],
  });
  const tracer = provider.getTracer('bench');
  const started = process.hrtime.bigint();
  for (let i = 0; i < INGEST_SPANS; i++) {
    tracer.startSpan('GET /api/users/:id', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'url.path': `/api/users/${i}`, 'http.response.status_code': 200 } }).end();
  }
  await provider.forceFlush();
  while (server.store.spanCount < INGEST_SPANS) await new Promise((r) => setTimeout(r, 1));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await provider.shutdown();
  await server.close();
  return INGEST_SPANS / seconds;
}

function fillStore(): MemoryStore {
  const store = new MemoryStore({ limits: { maxSpans: STORED_SPANS, maxTraces: STORED_SPANS, maxAgeSeconds: 0 } });
  const services = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
  const ops = Array.from({ length: 10 }, (_, i) => `GET /route/${i}`);
  let start = 1_700_000_000_000_000;
  const batch: StoredSpan[] = [];
  for (let i = 0; i < STORED_SPANS; i++) {
    const trace = Math.floor(i / 5);
    start += 37;
    batch.push({
      traceId: trace.toString(16).padStart(32, '0'),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      parentSpanId: i % 5 === 0 ? '' : (i).toString(16).padStart(16, '0'),
      name: ops[i % ops.length],
      kind: 2,
      service: services[(i * 7) % services.length],
      startUs: start,
      durationUs: (i * 7919) % 2_000_000,
      attributes: [
        { key: 'http.response.status_code', type: 'int64', value: i % 50 === 0 ? 500 : 200 },
        { key: 'url.path', type: 'string', value: `/route/${i}` },
      ],
      events: [],
      links: [],
      statusCode: i % 50 === 0 ? 2 : 0,
      statusMessage: '',
      resource: [{ key: 'host.name', type: 'string', value: `node-${i % 8}` }],
      scopeName: 'bench',
      scopeVersion: '',
      traceState: '',
      flags: 1,
    });
    if (batch.length === 5000) store.add(batch.splice(0));
  }
  store.add(batch);
  return store;
}

export async function bench(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const ingest: number[] = [];
  for (let r = 0; r < (process.env.BENCH_SKIP_INGEST ? 0 : RUNS); r++) ingest.push(await ingestRun());
  const store = fillStore();
  const end = 1_700_000_000_000_000 + STORED_SPANS * 37;
  const queries = [
    `service=svc-3&limit=20&end=${end}&lookback=1h`,
    `service=svc-5&operation=GET%20/route/5&limit=20&end=${end}`,
    `service=svc-7&tag=error:true&limit=20&end=${end}`,
    `service=svc-9&minDuration=1.5s&limit=20&end=${end}`,
    `service=svc-11&tags=${encodeURIComponent('{"host.name":"node-3"}')}&limit=20&end=${end}`,
    `service=svc-13&tag=url.path:/route/13&limit=20&end=${end}`,
  ];
  const latencies: number[] = [];
  for (let i = 0; i < SEARCHES; i++) {
    const q = parseTraceQuery(new URLSearchParams(queries[i % queries.length]), end);
    const t0 = process.hrtime.bigint();
    store.findTraces(q);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (process.env.BENCH_VERBOSE) console.log(queries[i % queries.length], latencies[latencies.length - 1].toFixed(2));
  }
  return [
    { name: `ingest over OTLP/HTTP protobuf (official exporter, ${INGEST_SPANS} spans)`, value: median(ingest), unit: 'spans/s' },
    { name: `search p50, ${store.spanCount.toLocaleString('en-US')} spans stored`, value: percentile(latencies, 50), unit: 'ms' },
    { name: `search p99, ${store.spanCount.toLocaleString('en-US')} spans stored`, value: percentile(latencies, 99), unit: 'ms' },
  ];
}
