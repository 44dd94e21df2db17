// The SDK's cost per request: a minimal node:http server and an Express app,
// untraced, traced by the wiretrace SDK, and traced by OpenTelemetry's own
// http instrumentation, each at 100 % and 10 % sampling, exporting OTLP to a
// loopback receiver. Every server runs in its own process (one core); the
// client is autocannon in this process (the other core). Configurations
// alternate within each round, so drift in the machine hits all alike.
//
// Cost per request = 1e6/rps(traced) − 1e6/rps(untraced), from the medians
// of the rounds: at saturation a single-threaded server's time per request.
// The server's own CPU time per request is reported beside it.
import http from 'node:http';
import { EventEmitter } from 'node:events';
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';

const here = new URL('.', import.meta.url).pathname;
const SECONDS = Number(process.env.BENCH_SDK_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_SDK_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_SDK_CONNECTIONS ?? 50);
/**
 * Requests per measured load for the server-CPU figures: a fixed count, so
 * that each server does the same work whatever else the machine runs; 0
 * measures by duration (BENCH_SDK_SECONDS) only.
 */
const REQUESTS = Number(process.env.BENCH_SDK_REQUESTS ?? 0);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Server {
  label: string;
  app: string;
  tracing: string;
  rate: number;
  child: ChildProcess;
  port: number;
  rps: number[];
  p99: number[];
  cpuPerRequestUs: number[];
  userPerRequestUs: number[];
}

function request<T>(child: ChildProcess, type: string, key: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (msg: Record<string, unknown>): void => {
      if (!(key in msg)) return;
      child.off('message', onMessage);
      resolve(msg as T);
    };
    child.on('message', onMessage);
    child.send({ type });
  });
}

async function startServer(app: string, tracing: string, rate: number, otlpUrl: string): Promise<Server> {
  const child = fork(join(here, '..', 'sdk', 'server.ts'), [app, tracing, String(rate), otlpUrl], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (msg: { port: number }) => resolve(msg.port));
    child.once('exit', (code) => reject(new Error(`bench server ${app}/${tracing} exited with ${code}`)));
  });
  const label = tracing === 'none' ? `${app} untraced` : `${app} ${tracing === 'otel' ? 'OpenTelemetry http instrumentation' : 'wiretrace SDK'} ${rate * 100}%`;
  return { label, app, tracing, rate, child, port, rps: [], p99: [], cpuPerRequestUs: [], userPerRequestUs: [] };
}

async function load(server: Server, seconds: number, record: boolean): Promise<void> {
  const before = (await request<{ cpu: NodeJS.CpuUsage }>(server.child, 'cpu', 'cpu')).cpu;
  const byCount = REQUESTS > 0 && record;
  const result = await autocannon({ url: `http://127.0.0.1:${server.port}/`, connections: CONNECTIONS, ...(byCount ? { amount: REQUESTS } : { duration: seconds }) });
  const after = (await request<{ cpu: NodeJS.CpuUsage }>(server.child, 'cpu', 'cpu')).cpu;
  if (!record) return;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  // autocannon ends a counted run on its one-second tick, so the elapsed time is whole seconds: its per-second average is the rate then.
  server.rps.push(byCount ? result.requests.average : result.requests.total / seconds);
  server.p99.push(result.latency.p99);
  const cpuUs = after.user + after.system - before.user - before.system;
  server.cpuPerRequestUs.push(cpuUs / result.requests.total);
  server.userPerRequestUs.push((after.user - before.user) / result.requests.total);
}

/**
 * The SDK's own work per request, without network or contention on the
 * result: the traced node:http listener called in a loop on request and
 * response stand-ins, then every span flushed to the OTLP receiver (the
 * protobuf encoding and the send are in the figure). Process CPU time, so
 * a loaded machine stretches it less than wall time.
 */
export async function inProcess(otlpUrl: string): Promise<Array<{ name: string; value: number; unit: string }>> {
  const sdk = await import('../../src/sdk/index.js');
  const N = Number(process.env.BENCH_SDK_LOOP ?? 200_000);
  const socket = { remoteAddress: '127.0.0.1', encrypted: false };
  const hello = (_req: unknown, res: { statusCode: number }): void => {
    res.statusCode = 200;
  };
  // Yields now and then, as a server between reads, so that the export queue sends batches as it would under load.
  const run = async (listener: (req: http.IncomingMessage, res: http.ServerResponse) => unknown): Promise<number> => {
    const started = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      if ((i & 127) === 0) await new Promise((resolve) => setImmediate(resolve));
      const req = { method: 'GET', url: '/users/42?x=1', headers: { host: 'localhost', 'user-agent': 'bench' }, socket } as unknown as http.IncomingMessage;
      const res = Object.assign(new EventEmitter(), { req, statusCode: 0, writableFinished: true, getHeader: () => '5' }) as unknown as http.ServerResponse;
      listener(req, res);
      res.emit('close');
    }
    const used = process.cpuUsage(started);
    return used.user + used.system;
  };
  const out: Array<{ name: string; value: number; unit: string }> = [];
  const baseline: number[] = [];
  for (let r = 0; r < 5; r++) baseline.push((await run(hello as never)) / N);
  const base = median(baseline);
  // Without an exporter the figure is the span and context work alone; the difference to the OTLP one is the export (protobuf encoding, send).
  for (const rate of [1, 0.1]) {
    const tracing = sdk.createTracing({ enabled: true, serviceName: 'bench-loop', samplingRate: rate, exporters: ['none'] }, { env: false });
    const traced = sdk.traceHttp(hello as never);
    const perRequest: number[] = [];
    for (let r = 0; r < 5; r++) perRequest.push((await run(traced)) / N);
    await tracing.shutdown();
    out.push({ name: `in-process SDK work per request at ${rate * 100}% without export (span, context; CPU)`, value: median(perRequest) - base, unit: 'µs' });
  }
  for (const rate of [1, 0.1]) {
    const tracing = sdk.createTracing(
      { enabled: true, serviceName: 'bench-loop', samplingRate: rate, exporters: [{ type: 'otlp-http', endpoint: otlpUrl }] },
      { env: false },
    );
    const traced = sdk.traceHttp(hello as never);
    const perRequest: number[] = [];
    for (let r = 0; r < 5; r++) {
      const started = process.cpuUsage();
      await run(traced);
      await tracing.forceFlush();
      const used = process.cpuUsage(started);
      perRequest.push((used.user + used.system) / N);
    }
    const [c] = tracing.exportCounters();
    await tracing.shutdown();
    const dropped = Object.values(c.dropped).reduce((a, b) => a + b, 0);
    out.push({ name: `in-process SDK work per request at ${rate * 100}% (span, context, OTLP export; CPU)`, value: median(perRequest) - base, unit: `µs (${c.exported} spans exported, ${dropped} dropped)` });
  }
  return out;
}

export async function bench(): Promise<Array<{ name: string; value: number; unit: string }>> {
  let spansBytes = 0;
  const receiver = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => (spansBytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const otlpUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;

  const servers: Server[] = [];
  for (const app of ['http', 'express']) {
    servers.push(await startServer(app, 'none', 1, otlpUrl));
    for (const rate of [1, 0.1]) for (const tracing of ['wiretrace', 'otel']) servers.push(await startServer(app, tracing, rate, otlpUrl));
  }
  const out: Array<{ name: string; value: number; unit: string }> = [];
  try {
    for (const s of servers) await load(s, 1, false);
    for (let round = 0; round < ROUNDS; round++) for (const s of servers) await load(s, SECONDS, true);
    for (const s of servers) {
      const flushed = await request<{ counters?: Array<{ accepted: number; exported: number; dropped: Record<string, number> }> }>(s.child, 'flush', 'flushed');
      const rps = median(s.rps);
      out.push({ name: `${s.label}: requests/s`, value: rps, unit: 'req/s' });
      out.push({ name: `${s.label}: p99 latency`, value: median(s.p99), unit: 'ms' });
      out.push({ name: `${s.label}: server CPU per request`, value: median(s.cpuPerRequestUs), unit: 'µs' });
      out.push({ name: `${s.label}: server user-mode CPU per request`, value: median(s.userPerRequestUs), unit: 'µs' });
      if (s.tracing !== 'none') {
        const base = servers.find((b) => b.app === s.app && b.tracing === 'none');
        if (base) {
          out.push({ name: `${s.label}: cost per request (traced − untraced, from req/s)`, value: 1e6 / rps - 1e6 / median(base.rps), unit: 'µs' });
          out.push({ name: `${s.label}: cost per request (server CPU)`, value: median(s.cpuPerRequestUs) - median(base.cpuPerRequestUs), unit: 'µs' });
          out.push({ name: `${s.label}: cost per request (server user-mode CPU)`, value: median(s.userPerRequestUs) - median(base.userPerRequestUs), unit: 'µs' });
        }
      }
      for (const c of flushed.counters ?? []) {
        const dropped = Object.values(c.dropped).reduce((a, b) => a + b, 0);
        out.push({ name: `${s.label}: spans exported / dropped (counted)`, value: c.exported, unit: `exported, ${dropped} dropped ${JSON.stringify(c.dropped)}` });
      }
    }
    out.push({ name: 'OTLP received at the loopback receiver', value: spansBytes / 1e6, unit: 'MB' });
    out.push(...(await inProcess(otlpUrl)));
  } finally {
    for (const s of servers) s.child.kill();
    receiver.closeAllConnections();
    receiver.close();
  }
  return out;
}
