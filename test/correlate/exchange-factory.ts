// Builds Exchange objects for unit-level specifications of span assembly.
// Times are milliseconds after a fixed capture epoch.
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanKind } from '@opentelemetry/api';
import { TraceAssembler } from '../../src/correlate/assembler.js';
import { configSchema, type WiretraceConfig, type WiretraceConfigInput } from '../../src/config/schema.js';
import type { Endpoint } from '../../src/model/endpoint.js';
import type { Exchange, ExchangeOutcome } from '../../src/model/exchange.js';
import type { HeaderField, HttpResponse } from '../../src/model/http.js';
import { Stats } from '../../src/model/stats.js';
import type { ConnectionInfo } from '../../src/model/stream.js';
import type { HrTime } from '../../src/model/time.js';

export const EPOCH_SEC = 1_700_000_000;

export function at(ms: number): HrTime {
  const whole = Math.floor(ms);
  const sec = EPOCH_SEC + Math.floor(whole / 1000);
  const nsec = (whole % 1000) * 1_000_000 + Math.round((ms - whole) * 1_000_000);
  return [sec, nsec];
}

function endpoint(text: string): Endpoint {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    return { address: text.slice(1, close), port: Number(text.slice(close + 2)) };
  }
  const colon = text.lastIndexOf(':');
  return { address: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
}

let connectionCounter = 0;

/** A connection from `client` to `server` ("addr:port" or "[v6]:port"). */
export function connection(client: string, server: string, id?: string): ConnectionInfo {
  const index = connectionCounter++;
  const info: ConnectionInfo = {
    id: id ?? `conn-${client}-${server}`,
    index,
    client: endpoint(client),
    server: endpoint(server),
    rolesFromHandshake: true,
    firstSeen: at(0),
    swapRoles() {
      const c = info.client;
      info.client = info.server;
      info.server = c;
    },
  };
  return info;
}

export type Headers = Record<string, string | string[]> | Array<[string, string]>;

function headerFields(h: Headers | undefined): HeaderField[] {
  if (!h) return [];
  const entries: Array<[string, string]> = Array.isArray(h)
    ? h
    : Object.entries(h).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x): [string, string] => [k, x]) : [[k, v] as [string, string]]));
  return entries.map(([name, value]) => ({ name: name.toLowerCase(), value }));
}

export interface ExchangeSpec {
  conn: ConnectionInfo;
  seq?: number;
  method?: string;
  target?: string;
  headers?: Headers;
  status?: number;
  responseHeaders?: Headers;
  /** ms */
  start: number;
  end: number;
  outcome?: ExchangeOutcome;
  requestTruncated?: boolean;
  requestBodySize?: number;
  responseBodySize?: number;
  interim?: number[];
  version?: string;
}

export function exchange(spec: ExchangeSpec): Exchange {
  const outcome = spec.outcome ?? 'complete';
  const start = at(spec.start);
  const end = at(spec.end);
  const version = spec.version ?? 'HTTP/1.1';
  const ex: Exchange = {
    protocol: 'http',
    connection: spec.conn,
    sequence: spec.seq ?? 0,
    outcome,
    start,
    end,
  };
  if (outcome !== 'orphan') {
    ex.request = {
      type: 'request',
      method: spec.method ?? 'GET',
      target: spec.target ?? '/',
      version,
      headers: headerFields(spec.headers),
      bodySize: spec.requestBodySize ?? 0,
      headerSize: 100,
      startTime: start,
      endTime: start,
      truncated: spec.requestTruncated ?? false,
    };
  }
  if (outcome === 'complete' || outcome === 'orphan') {
    const response: HttpResponse = {
      type: 'response',
      status: spec.status ?? 200,
      reason: 'OK',
      interim: false,
      version,
      headers: headerFields(spec.responseHeaders),
      bodySize: spec.responseBodySize ?? 2,
      headerSize: 80,
      startTime: end,
      endTime: end,
      truncated: false,
    };
    ex.response = response;
  }
  if (spec.interim) {
    ex.interim = spec.interim.map((status) => ({
      type: 'response',
      status,
      reason: 'Continue',
      interim: true,
      version,
      headers: [],
      bodySize: 0,
      headerSize: 25,
      startTime: start,
      endTime: start,
      truncated: false,
    }));
  }
  return ex;
}

export function config(input: WiretraceConfigInput = {}): WiretraceConfig {
  return configSchema.parse(input);
}

export interface Run {
  spans: ReadableSpan[];
  batches: ReadableSpan[][];
  stats: Stats;
  assembler: TraceAssembler;
}

/** Feeds exchanges in order, then finishes. */
export function assemble(exchanges: Exchange[], input: WiretraceConfigInput = {}): Run {
  const stats = new Stats();
  const batches: ReadableSpan[][] = [];
  const assembler = new TraceAssembler({ config: config(input), stats, onSpans: (s) => batches.push(s), scopeVersion: '9.9.9-test' });
  for (const e of exchanges) assembler.onExchange(e);
  assembler.finish();
  return { spans: batches.flat(), batches, stats, assembler };
}

/** Feeds exchanges in the order their responses complete, as the pairing stage does. */
export function byEnd(exchanges: Exchange[]): Exchange[] {
  return [...exchanges].sort((a, b) => a.end[0] - b.end[0] || a.end[1] - b.end[1]);
}

export function serverSpanOf(spans: ReadableSpan[], conn: ConnectionInfo, seq = 0): ReadableSpan {
  return spanOf(spans, conn, seq, SpanKind.SERVER);
}

export function clientSpanOf(spans: ReadableSpan[], conn: ConnectionInfo, seq = 0): ReadableSpan {
  return spanOf(spans, conn, seq, SpanKind.CLIENT);
}

function spanOf(spans: ReadableSpan[], conn: ConnectionInfo, seq: number, kind: SpanKind): ReadableSpan {
  // The n-th exchange of a connection is the n-th span of that kind on it, in time order.
  const found = spans
    .filter((s) => s.kind === kind && s.attributes['wiretrace.connection.id'] === conn.id)
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  if (found.length <= seq) throw new Error(`no ${SpanKind[kind]} span #${seq} for ${conn.id} among ${spans.length} spans`);
  return found[seq];
}

export function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

export function spanId(span: ReadableSpan): string {
  return span.spanContext().spanId;
}

export function traceId(span: ReadableSpan): string {
  return span.spanContext().traceId;
}

export function serviceName(span: ReadableSpan): unknown {
  return span.resource.attributes['service.name'];
}

export function traceparent(trace: string, parent: string, flags = '01'): string {
  return `00-${trace}-${parent}-${flags}`;
}
