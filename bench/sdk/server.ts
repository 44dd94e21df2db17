// One server of the SDK benchmark: `server.ts <http|express> <none|wiretrace|otel> <rate> <otlp-url>`.
// Answers "hello" on GET /; reports its CPU time and export counters over IPC.
import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';
import type { AddressInfo } from 'node:net';

const [app, tracing, rateArg, otlpUrl] = process.argv.slice(2);
const rate = Number(rateArg);
let counters: () => unknown = () => undefined;
let flush: () => Promise<void> = async () => {};

if (tracing === 'otel') {
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, AlwaysOnSampler } = await import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `bench-${app}` }),
    sampler: new ParentBasedSampler({ root: rate >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(rate) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpUrl }))],
  });
  provider.register();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
  flush = () => provider.forceFlush();
} else if (tracing === 'wiretrace') {
  const { createTracing } = await import('../../src/sdk/index.js');
  const handle = createTracing(
    { enabled: true, serviceName: `bench-${app}`, samplingRate: rate, exporters: [{ type: 'otlp-http', endpoint: otlpUrl }] },
    { env: false },
  );
  counters = () => handle.exportCounters();
  flush = () => handle.forceFlush();
}

// Through require, so that OpenTelemetry's http instrumentation patches the module this server uses.
const http = createRequire(import.meta.url)('http') as typeof NodeHttp;
const sdk = tracing === 'wiretrace' ? await import('../../src/sdk/index.js') : undefined;

let server: NodeHttp.Server;
if (app === 'express') {
  const { default: express } = await import('express');
  const e = express();
  if (sdk) e.use(sdk.expressMiddleware());
  e.get('/', (_req, res) => {
    res.send('hello');
  });
  server = http.createServer(e);
} else {
  const hello = (_req: NodeHttp.IncomingMessage, res: NodeHttp.ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
    res.end('hello');
  };
  server = http.createServer(sdk ? sdk.traceHttp(hello) : hello);
}
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));

process.once('SIGINT', () => process.exit(0));
process.on('message', (msg: { type: string }) => {
  if (msg.type === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  else if (msg.type === 'flush') void flush().then(() => process.send?.({ flushed: true, counters: counters() }));
});
