import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode } from '@opentelemetry/core';
import { JaegerThriftExporter } from '../../src/export/jaeger-thrift.js';
import type { TraceServer } from '../../src/server/index.js';
import { sdkSpans } from '../export/receivers.js';
import { eventually, expectedFromOtlp, expectedProcess, getJson, startServer, url, type WireJson } from './helpers.js';

function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(spans, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error ?? new Error('export failed')))),
  );
}

/** Fresh SDK spans (new ids) for each receiver, so one store holds them all apart. */
function freshSpans(): ReadableSpan[] {
  return sdkSpans();
}

async function traceOf(server: TraceServer, traceId: string): Promise<WireJson> {
  const { status, body } = await getJson(url(server, 'query', `/api/traces/${traceId}`));
  assert.equal(status, 200);
  assert.deepEqual(Object.keys(body).sort(), ['data', 'errors', 'limit', 'offset', 'total']);
  assert.equal(body.total, 1);
  assert.equal(body.errors, null);
  return body.data[0];
}

function sortTags<T extends { key: string }>(tags: T[]): T[] {
  return [...tags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Compares what the Jaeger API returned with what the SDK made, field by field. */
function assertSameAsSdk(trace: WireJson, spans: ReadableSpan[]): void {
  assert.deepEqual(Object.keys(trace).sort(), ['processes', 'spans', 'traceID', 'warnings']);
  assert.equal(trace.traceID, spans[0].spanContext().traceId);
  assert.equal(trace.warnings, null);
  assert.equal(trace.spans.length, spans.length);
  for (const sdk of spans) {
    const got = trace.spans.find((s: WireJson) => s.spanID === sdk.spanContext().spanId);
    assert.ok(got, `span ${sdk.name} came back`);
    const want = expectedFromOtlp(sdk);
    for (const field of ['traceID', 'spanID', 'flags', 'operationName', 'references', 'startTime', 'duration', 'logs', 'warnings']) {
      assert.deepEqual(got[field], want[field], `${sdk.name}: ${field}`);
    }
    assert.deepEqual(sortTags(got.tags), sortTags(want.tags as WireJson[]), `${sdk.name}: tags`);
    assert.deepEqual(got.processes, undefined);
    const process = trace.processes[got.processID];
    const wantProcess = expectedProcess(sdk);
    assert.equal(process.serviceName, wantProcess.serviceName, `${sdk.name}: service`);
    assert.deepEqual(sortTags(process.tags), sortTags(wantProcess.tags), `${sdk.name}: process tags`);
  }
}

describe('OTLP receivers take the official OpenTelemetry JS exporters, and the Jaeger API gives the spans back unchanged', () => {
  let server: TraceServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  test('OTLP/HTTP protobuf (exporter-trace-otlp-proto)', async () => {
    const spans = freshSpans();
    const exporter = new ProtoExporter({ url: url(server, 'otlpHttp', '/v1/traces') });
    await exportWith(exporter, spans);
    await exporter.shutdown();
    assertSameAsSdk(await traceOf(server, spans[0].spanContext().traceId), spans);
  });

  test('OTLP/HTTP protobuf, gzip-compressed', async () => {
    const spans = freshSpans();
    const exporter = new ProtoExporter({ url: url(server, 'otlpHttp', '/v1/traces'), compression: 'gzip' as never });
    await exportWith(exporter, spans);
    await exporter.shutdown();
    assertSameAsSdk(await traceOf(server, spans[0].spanContext().traceId), spans);
  });

  test('OTLP/HTTP JSON (exporter-trace-otlp-http)', async () => {
    const spans = freshSpans();
    const exporter = new JsonExporter({ url: url(server, 'otlpHttp', '/v1/traces') });
    await exportWith(exporter, spans);
    await exporter.shutdown();
    assertSameAsSdk(await traceOf(server, spans[0].spanContext().traceId), spans);
  });

  test('OTLP/gRPC (exporter-trace-otlp-grpc), plain and gzip', async () => {
    for (const compression of ['none', 'gzip']) {
      const spans = freshSpans();
      const exporter = new GrpcExporter({ url: `http://127.0.0.1:${server.ports().otlpGrpc}`, compression: compression as never });
      await exportWith(exporter, spans);
      await exporter.shutdown();
      assertSameAsSdk(await traceOf(server, spans[0].spanContext().traceId), spans);
    }
  });

  test('Zipkin v2 JSON (exporter-zipkin): what Zipkin carries comes back, as strings, with the status read from its tags', async () => {
    const spans = freshSpans();
    const exporter = new ZipkinExporter({ url: url(server, 'zipkin', '/api/v2/spans') });
    await exportWith(exporter, spans);
    await exporter.shutdown();
    const trace = await traceOf(server, spans[0].spanContext().traceId);
    assert.equal(trace.spans.length, spans.length);
    const micros = (t: [number, number]): number => Math.round(t[0] * 1e6 + t[1] / 1e3);
    for (const sdk of spans) {
      const got = trace.spans.find((s: WireJson) => s.spanID === sdk.spanContext().spanId);
      assert.equal(got.operationName, sdk.name);
      assert.equal(got.startTime, micros(sdk.startTime));
      assert.equal(got.duration, Math.round(micros(sdk.duration)));
      assert.deepEqual(got.references, sdk.parentSpanContext ? [{ refType: 'CHILD_OF', traceID: sdk.spanContext().traceId, spanID: sdk.parentSpanContext.spanId }] : []);
      assert.equal(trace.processes[got.processID].serviceName, sdk.resource.attributes['service.name']);
      const tags = new Map(got.tags.map((t: WireJson) => [t.key, t]));
      for (const [k, v] of Object.entries(sdk.attributes)) assert.deepEqual(tags.get(k), { key: k, type: 'string', value: String(v) }, `${sdk.name}: ${k}`);
      assert.deepEqual(tags.get('span.kind'), { key: 'span.kind', type: 'string', value: ['internal', 'server', 'client'][sdk.kind] });
      if (sdk.status.code === 2) {
        assert.deepEqual(tags.get('error'), { key: 'error', type: 'bool', value: true });
        if (sdk.status.message) assert.equal((tags.get('otel.status_description') as WireJson).value, sdk.status.message);
      }
      assert.deepEqual(
        got.logs,
        sdk.events.map((e) => ({ timestamp: micros(e.time), fields: [{ key: 'event', type: 'string', value: e.name }] })),
      );
    }
  });

  test("Jaeger Thrift over HTTP (wiretrace's JaegerThriftExporter, one Batch per service)", async () => {
    const spans = freshSpans();
    const exporter = new JaegerThriftExporter({ url: url(server, 'jaegerThrift', '/api/traces'), headers: {}, compression: 'none', timeoutMs: 5000, tls: {} as never });
    await exportWith(exporter, spans);
    await exporter.shutdown();
    const trace = await traceOf(server, spans[0].spanContext().traceId);
    for (const sdk of spans) {
      const got = trace.spans.find((s: WireJson) => s.spanID === sdk.spanContext().spanId);
      const want = expectedFromOtlp(sdk);
      // Thrift carries the sampled flag and µs times cut from nanoseconds per endpoint; links and parent become references.
      for (const field of ['traceID', 'spanID', 'operationName', 'references', 'startTime', 'logs']) assert.deepEqual(got[field], want[field], `${sdk.name}: ${field}`);
      assert.deepEqual(sortTags(got.tags), sortTags(want.tags as WireJson[]), `${sdk.name}: tags`);
      assert.deepEqual(sortTags(trace.processes[got.processID].tags), sortTags(expectedProcess(sdk).tags));
    }
  });

  test('the services, operations and dependencies the spans imply are listed in Jaeger shapes', async () => {
    const services = await getJson(url(server, 'query', '/api/services'));
    assert.deepEqual(services.body, { data: ['checkout', 'payments'], total: 2, limit: 0, offset: 0, errors: null });
    const ops = await getJson(url(server, 'query', '/api/services/checkout/operations'));
    assert.deepEqual(ops.body, { data: ['GET /api/cart/:id', 'POST'], total: 2, limit: 0, offset: 0, errors: null });
    const typedOps = await getJson(url(server, 'query', '/api/operations?service=checkout&spanKind=client'));
    assert.deepEqual(typedOps.body.data, [{ name: 'POST', spanKind: 'client' }]);
    const missing = await getJson(url(server, 'query', '/api/operations'));
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body.errors, [{ code: 400, msg: "parameter 'service' is required" }]);
    // The SDK spans are dated 2025-11-22; one day back from then.
    const deps = await getJson(url(server, 'query', `/api/dependencies?endTs=${1763776432123 + 60_000}&lookback=86400000`));
    assert.deepEqual(deps.body.data, [{ parent: 'checkout', child: 'payments', callCount: 7 }]);
  });
});

describe('receivers refuse what they cannot take, with a reason, and leave the store as it was', () => {
  let server: TraceServer;
  before(async () => {
    server = await startServer({ token: 's3cret', maxBodyBytes: 64 * 1024 });
  });
  after(async () => {
    await server.close();
  });
  const auth = { authorization: 'Bearer s3cret' };

  test('malformed payloads get 400 with a reason', async () => {
    const cases: Array<[string, string, string | Buffer, RegExp]> = [
      ['otlpHttp', 'application/x-protobuf', Buffer.from([0x0a, 0xff, 0xff, 0x03]), /runs past the end/],
      ['otlpHttp', 'application/json', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"0102030405060708"}]}]}]}', /traceId must be 32 hex digits/],
      ['otlpHttp', 'application/json', '{not json', /not valid JSON/],
      ['zipkin', 'application/json', '{"traceId":"1"}', /JSON array of spans/],
      ['zipkin', 'application/json', '[{"traceId":"0102030405060708","id":"zz"}]', /id must be 16 hex digits/],
      ['jaegerThrift', 'application/x-thrift', Buffer.from([0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff]), /truncated|negative/],
    ];
    for (const [port, type, body, reason] of cases) {
      const path = port === 'otlpHttp' ? '/v1/traces' : port === 'zipkin' ? '/api/v2/spans' : '/api/traces';
      const res = await fetch(url(server, port as 'zipkin', path), { method: 'POST', headers: { 'content-type': type, ...auth }, body });
      assert.equal(res.status, 400, `${port} ${type}`);
      const text = type === 'application/x-protobuf' ? Buffer.from(await res.arrayBuffer()).toString('latin1') : await res.text();
      assert.match(text, reason, `${port} ${type}: reason`);
    }
    assert.equal(server.store.spanCount, 0);
    const services = await getJson(url(server, 'query', '/api/services'), auth);
    assert.deepEqual(services.body.data, []);
  });

  test('a payload with one bad span among good ones is refused whole', async () => {
    const good = { traceId: '0102030405060708', id: '0102030405060708', name: 'ok', timestamp: 1, duration: 1, localEndpoint: { serviceName: 'a' } };
    const res = await fetch(url(server, 'zipkin', '/api/v2/spans'), { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify([good, { ...good, id: 'bad' }]) });
    assert.equal(res.status, 400);
    assert.equal(server.store.spanCount, 0);
  });

  test('bodies over the limit get 413, compressed or not', async () => {
    const big = Buffer.alloc(65 * 1024, 0x20);
    const res = await fetch(url(server, 'zipkin', '/api/v2/spans'), { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: big });
    assert.equal(res.status, 413);
    const { gzipSync } = await import('node:zlib');
    const bomb = gzipSync(Buffer.alloc(10 << 20, 0x20));
    const res2 = await fetch(url(server, 'zipkin', '/api/v2/spans'), { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...auth }, body: bomb });
    assert.equal(res2.status, 413);
    assert.equal(server.store.spanCount, 0);
  });

  test('without the bearer token: 401 on every receiver and on the API; the UI shell is not data', async () => {
    for (const [port, path, method] of [['otlpHttp', '/v1/traces', 'POST'], ['zipkin', '/api/v2/spans', 'POST'], ['jaegerThrift', '/api/traces', 'POST'], ['query', '/api/services', 'GET'], ['query', '/api/traces?service=a', 'GET']] as const) {
      const res = await fetch(url(server, port, path), { method, headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body: method === 'POST' ? '[]' : undefined });
      assert.equal(res.status, 401, `${port} ${path}`);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    const ok = await fetch(url(server, 'zipkin', '/api/v2/spans'), { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '[]' });
    assert.equal(ok.status, 202);
  });

  test('without the bearer token: UNAUTHENTICATED over gRPC, and the official exporter delivers with it', async () => {
    const spans = sdkSpans();
    const denied = new GrpcExporter({ url: `http://127.0.0.1:${server.ports().otlpGrpc}` });
    await assert.rejects(exportWith(denied, spans));
    await denied.shutdown();
    const metadata = new Metadata();
    metadata.set('authorization', 'Bearer s3cret');
    const allowed = new GrpcExporter({ url: `http://127.0.0.1:${server.ports().otlpGrpc}`, metadata, credentials: credentials.createInsecure() });
    await exportWith(allowed, spans);
    await allowed.shutdown();
    await eventually(() => server.store.spanCount === spans.length);
  });
});
