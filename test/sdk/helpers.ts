// Shared by the SDK tests: an OTLP/HTTP receiver on loopback that decodes
// with the official protobuf definitions, a port probe for live servers,
// and child services started through tsx.
import http from 'node:http';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
// The OTLP protobuf definitions as generated from opentelemetry-proto by the OpenTelemetry JS project (protobufjs static code).
const otlpRoot = require('@opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js');
const ExportTraceServiceRequest = otlpRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: OtlpValue[] } };
type OtlpKeyValue = { key: string; value: OtlpValue };
export type Value = string | number | boolean | Value[];

function otlpValue(v: OtlpValue): Value {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(otlpValue);
  return '';
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, Value> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, otlpValue(kv.value)]));
}

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUSES = ['UNSET', 'OK', 'ERROR'];

/** One span as it arrived at the receiver. */
export interface ReceivedSpan {
  service: string;
  resource: Record<string, Value>;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  status: string;
  statusMessage: string;
  attributes: Record<string, Value>;
  events: Array<{ name: string; attributes: Record<string, Value> }>;
  durationNs: bigint;
}

function hex(id: unknown): string {
  if (id === undefined || id === null) return '';
  return Buffer.from(id as Uint8Array).toString('hex');
}

interface DecodedRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{
      scope?: { name?: string };
      spans?: Array<{
        traceId: Uint8Array;
        spanId: Uint8Array;
        parentSpanId?: Uint8Array;
        name: string;
        kind?: number;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        attributes?: OtlpKeyValue[];
        events?: Array<{ name: string; attributes?: OtlpKeyValue[] }>;
        status?: { code?: number; message?: string };
      }>;
    }>;
  }>;
}

/** An OTLP/HTTP protobuf receiver on 127.0.0.1: POST /v1/traces. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  requests = 0;
  readonly #server: http.Server;
  #port = 0;
  #waiters: Array<() => void> = [];

  private constructor() {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url !== '/v1/traces' || req.method !== 'POST') {
          res.writeHead(404).end();
          return;
        }
        this.requests++;
        const decoded = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(Buffer.concat(chunks)), {
          longs: String,
          enums: Number,
          bytes: Buffer,
          defaults: false,
        }) as DecodedRequest;
        for (const rs of decoded.resourceSpans ?? []) {
          const resource = attributesOf(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              this.spans.push({
                service: String(resource['service.name']),
                resource,
                scope: ss.scope?.name ?? '',
                traceId: hex(s.traceId),
                spanId: hex(s.spanId),
                parentSpanId: hex(s.parentSpanId),
                name: s.name,
                kind: KINDS[s.kind ?? 0],
                status: STATUSES[s.status?.code ?? 0],
                statusMessage: s.status?.message ?? '',
                attributes: attributesOf(s.attributes),
                events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
                durationNs: BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano),
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        for (const w of this.#waiters) w();
      });
    });
  }

  static async start(): Promise<OtlpReceiver> {
    const r = new OtlpReceiver();
    await new Promise<void>((resolve) => r.#server.listen(0, '127.0.0.1', resolve));
    r.#port = (r.#server.address() as AddressInfo).port;
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/v1/traces`;
  }

  /** Resolves with the spans once `done(spans)` holds; rejects with what did arrive after the timeout. */
  async waitFor(done: (spans: ReceivedSpan[]) => boolean, timeoutMs = 10_000): Promise<ReceivedSpan[]> {
    if (done(this.spans)) return this.spans;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== check);
        reject(new Error(`spans expected within ${timeoutMs} ms did not arrive; got:\n${this.spans.map((s) => `  ${s.service} ${s.kind} ${s.name}`).join('\n')}`));
      }, timeoutMs);
      const check = (): void => {
        if (!done(this.spans)) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== check);
        resolve(this.spans);
      };
      this.#waiters.push(check);
    });
  }

  /** Spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  clear(): void {
    this.spans.length = 0;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A port nothing listens on now (the kernel's pick), for children that must know each other's ports before they start. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Services of `kinds`, each calling the next, started at once; returns them in call order. */
export async function startChain(script: string, receiver: OtlpReceiver, kinds: string[], extraEnv: Record<string, string> = {}): Promise<Child[]> {
  const ports: number[] = [];
  for (let i = 0; i < kinds.length; i++) ports.push(await freePort());
  return Promise.all(
    kinds.map((kind, i) =>
      startChild(script, [kind], {
        ...sdkEnv(receiver, `svc-${kind}`, extraEnv),
        PORT: String(ports[i]),
        ...(i + 1 < kinds.length ? { DOWNSTREAM: `http://127.0.0.1:${ports[i + 1]}` } : {}),
      }),
    ),
  );
}

/** Whether something accepts TCP connections at 127.0.0.1:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A test that needs a live server skips with a visible message where it is
 * not listening, except under CI=true, where its absence is a failure.
 */
export async function requireServer(t: TestContext, name: string, port: number): Promise<boolean> {
  if (await portOpen(port)) return true;
  if (process.env.CI === 'true') throw new Error(`${name} on 127.0.0.1:${port} is required under CI=true but is not listening`);
  t.skip(`${name} is not listening on 127.0.0.1:${port}`);
  return false;
}

/** Environment for a child traced by the SDK, exporting OTLP/HTTP to the receiver quickly. */
export function sdkEnv(receiver: OtlpReceiver, service: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WIRETRACE_SDK_ENABLED: 'true',
    OTEL_SERVICE_NAME: service,
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '20',
    ...extra,
  };
}

export interface Child {
  process: ChildProcess;
  /** What the child printed after "listening", e.g. its port. */
  port: number;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `node --import tsx <script> ...args` and waits for it to print "listening <port>". */
export async function startChild(script: string, args: string[], env: Record<string, string>, extraNodeArgs: string[] = []): Promise<Child> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && !k.startsWith('WIRETRACE_')));
  const child = spawn(process.execPath, ['--import', 'tsx', ...extraNodeArgs, script, ...args], {
    cwd: ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 20 s:\n${out}`)), 20_000);
    const onData = (): void => {
      const m = /listening (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve(Number(m[1]));
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    process: child,
    port,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** GET over loopback with plain node:http (no tracing in the test process), resolving with status and body. */
export function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

export function byKind(spans: ReceivedSpan[], service: string, kind: string): ReceivedSpan {
  const found = spans.filter((s) => s.service === service && s.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} span of ${service}, found ${found.length}: ${JSON.stringify(spans.map((s) => [s.service, s.kind, s.name]))}`);
  return found[0];
}

export const SERVICE = join(FIXTURES, 'service.ts');

/** The chain is one trace with SERVER and CLIENT spans parented hop by hop. */
export function assertOneTrace(spans: ReceivedSpan[], services: string[]): void {
  const traceIds = new Set(spans.map((s) => s.traceId));
  assert.equal(traceIds.size, 1, `one trace, got ${[...traceIds].join(', ')}`);
  let parent = '';
  for (let i = 0; i < services.length; i++) {
    const server = byKind(spans, services[i], 'SERVER');
    assert.equal(server.parentSpanId, parent, `${services[i]} SERVER parent`);
    assert.equal(server.status, 'UNSET');
    if (i === services.length - 1) break;
    const client = byKind(spans, services[i], 'CLIENT');
    assert.equal(client.parentSpanId, server.spanId, `${services[i]} CLIENT parent is its SERVER span`);
    parent = client.spanId;
  }
}

