// Spans/s delivered end to end to an OTLP/HTTP receiver on loopback: spans
// made by the wire pipeline from a real capture, sent through wiretrace's
// exporter path as the agent builds it (createExporters → ExportQueue → OTLP
// protobuf over HTTP), and the same spans through OpenTelemetry JS's own
// BatchSpanProcessor → OTLPTraceExporter (proto), for the ratio.
//
// Unlike export.ts (synthetic SDK spans, a receiver that only acknowledges),
// the receiver here is a separate process that decodes every request with the
// OTLP protobuf definitions and counts the spans in it: a run counts only
// when every span arrived.
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { analyze } from '../../src/pipeline.js';
import { defaultConfig } from '../../src/config/schema.js';
import { createExporters } from '../../src/export/factory.js';
import { exporterSchema } from '../../src/export/config.js';

const CAPTURE = fileURLToPath(new URL('../../examples/demo/demo.pcap', import.meta.url));
const TARGET_SPANS = 60_000;
const BATCH = 512;
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The capture's spans, in the batches the pipeline hands them out, repeated up to about TARGET_SPANS. */
async function wireSpans(): Promise<ReadableSpan[][]> {
  const batches: ReadableSpan[][] = [];
  await analyze(createReadStream(CAPTURE), { config: defaultConfig(), onSpans: (spans) => batches.push(spans) });
  const perPass = batches.reduce((a, b) => a + b.length, 0);
  const passes = Math.max(1, Math.round(TARGET_SPANS / perPass));
  return Array.from({ length: passes }, () => batches).flat();
}

const RECEIVER = `
const http = require('node:http');
const root = require(process.argv[1]);
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
let spans = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET') { res.end(String(spans)); if (req.url === '/reset') spans = 0; return; }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const message = Request.decode(Buffer.concat(chunks));
    for (const rs of message.resourceSpans) for (const ss of rs.scopeSpans) spans += ss.spans.length;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

interface Receiver {
  url: string;
  /** Spans decoded since the last reset; resets the count. */
  take(): Promise<number>;
  close(): void;
}

async function startReceiver(): Promise<Receiver> {
  const require = createRequire(import.meta.url);
  const root = require.resolve('@opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js');
  const child: ChildProcess = spawn(process.execPath, ['-e', RECEIVER, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `${base}/v1/traces`,
    take: async () => Number(await (await fetch(`${base}/reset`)).text()),
    close: () => child.kill(),
  };
}

async function throughWiretrace(batches: ReadableSpan[][], total: number, receiver: Receiver): Promise<number> {
  const config = exporterSchema.parse({ type: 'otlp-http', endpoint: receiver.url, protocol: 'protobuf', queue: { maxQueueSize: total, maxExportBatchSize: BATCH } });
  const { fanout } = createExporters([config]);
  const started = performance.now();
  for (const batch of batches) fanout.offer(batch);
  await fanout.forceFlush();
  const seconds = (performance.now() - started) / 1000;
  await fanout.shutdown(5000);
  const delivered = await receiver.take();
  if (delivered !== total) throw new Error(`wiretrace delivered ${delivered} of ${total} spans`);
  return total / seconds;
}

async function throughOpenTelemetry(batches: ReadableSpan[][], total: number, receiver: Receiver): Promise<number> {
  // forceFlush sends every queued batch at once; the exporter's default limit of 30 concurrent exports would refuse most of them.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: receiver.url, concurrencyLimit: 1000 }), {
    maxQueueSize: total,
    maxExportBatchSize: BATCH,
    scheduledDelayMillis: 5000,
  });
  const started = performance.now();
  for (const batch of batches) for (const span of batch) processor.onEnd(span);
  await processor.forceFlush();
  const seconds = (performance.now() - started) / 1000;
  await processor.shutdown();
  const delivered = await receiver.take();
  if (delivered !== total) throw new Error(`OpenTelemetry delivered ${delivered} of ${total} spans`);
  return total / seconds;
}

export async function bench(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const batches = await wireSpans();
  const total = batches.reduce((a, b) => a + b.length, 0);
  const receiver = await startReceiver();
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      ours.push(await throughWiretrace(batches, total, receiver));
      theirs.push(await throughOpenTelemetry(batches, total, receiver));
    }
  } finally {
    receiver.close();
  }
  const a = median(ours);
  const b = median(theirs);
  return [
    { name: `wire spans (${total} from demo.pcap) → createExporters otlp-http protobuf → decoding receiver`, value: a / 1e3, unit: 'K spans/s delivered' },
    { name: 'same spans → OTel BatchSpanProcessor → OTLPTraceExporter (proto) → decoding receiver', value: b / 1e3, unit: 'K spans/s delivered' },
    { name: 'ratio wiretrace / OpenTelemetry JS, delivered end to end', value: a / b, unit: '×' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await bench()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}`);
}
