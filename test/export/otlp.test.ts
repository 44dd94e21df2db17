import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Server, ServerCredentials, status as GrpcStatus, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { AttributeValue } from '@opentelemetry/api';
import { createExporters } from '../../src/export/factory.js';
import { otlpTraceService } from '../../src/server/grpc.js';
import { byName, factsOf, fastConfig, LoopbackReceiver, sdkSpans, selfSignedCertificate, type SpanFacts } from './receivers.js';

// The OTLP protobuf definitions as generated from opentelemetry-proto by the OpenTelemetry JS project (protobufjs static code).
const require = createRequire(import.meta.url);
const otlpRoot = require('@opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js');
const ExportTraceServiceRequest = otlpRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const ExportTraceServiceResponse = otlpRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: OtlpValue[] } };
type OtlpKeyValue = { key: string; value: OtlpValue };

function otlpValue(v: OtlpValue): AttributeValue {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(otlpValue) as AttributeValue;
  throw new Error(`unexpected OTLP value ${JSON.stringify(v)}`);
}

function otlpAttributes(list: OtlpKeyValue[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, otlpValue(kv.value)]));
}

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUSES = ['UNSET', 'OK', 'ERROR'];

interface OtlpJsonRequest {
  resourceSpans: Array<{
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: Array<{
      scope: { name: string; version?: string };
      spans: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        attributes?: OtlpKeyValue[];
        events?: Array<{ name: string; timeUnixNano: string; attributes?: OtlpKeyValue[] }>;
        links?: Array<{ traceId: string; spanId: string }>;
        status?: { code?: number; message?: string };
      }>;
    }>;
  }>;
}

/** Decodes with the official protobuf definitions; ids as hex, 64-bit numbers as decimal strings. */
function decodeProtobuf(body: Uint8Array): OtlpJsonRequest {
  const message = ExportTraceServiceRequest.decode(body);
  return ExportTraceServiceRequest.toObject(message, { longs: String, enums: Number, bytes: Buffer, defaults: false }) as OtlpJsonRequest;
}

function toHex(id: unknown): string {
  return Buffer.isBuffer(id) ? id.toString('hex') : typeof id === 'string' ? id : Buffer.from(id as Uint8Array).toString('hex');
}

function factsFromOtlp(request: OtlpJsonRequest): SpanFacts[] {
  const out: SpanFacts[] = [];
  for (const rs of request.resourceSpans) {
    const service = String(otlpAttributes(rs.resource.attributes)['service.name']);
    for (const ss of rs.scopeSpans) {
      assert.equal(ss.scope.name, 'wiretrace-test');
      for (const s of ss.spans) {
        out.push({
          service,
          traceId: toHex(s.traceId),
          spanId: toHex(s.spanId),
          parentSpanId: s.parentSpanId ? toHex(s.parentSpanId) : '',
          name: s.name,
          kind: KINDS[s.kind],
          start: String(s.startTimeUnixNano),
          end: String(s.endTimeUnixNano),
          status: STATUSES[s.status?.code ?? 0],
          attributes: otlpAttributes(s.attributes),
        });
      }
    }
  }
  return out;
}

const SPANS = sdkSpans();

function assertSameSpans(received: SpanFacts[]): void {
  const expected = byName(SPANS.map((s) => factsOf(s, 'ns')));
  assert.equal(received.length, expected.size);
  for (const facts of received) assert.deepEqual(facts, expected.get(facts.name), `span ${facts.name}`);
}

describe('OTLP over HTTP', () => {
  test('protobuf: every span arrives at /v1/traces and decodes with the opentelemetry-proto definitions, field by field', async () => {
    const receiver = await LoopbackReceiver.start();
    const { fanout, queues } = createExporters([fastConfig({ type: 'otlp-http', endpoint: receiver.url('/v1/traces') })]);
    fanout.offer(SPANS);
    await fanout.shutdown(2000);
    await receiver.stop();
    assert.equal(receiver.requests.length, 1);
    const req = receiver.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/v1/traces');
    assert.equal(req.headers['content-type'], 'application/x-protobuf');
    const decoded = decodeProtobuf(req.body);
    assertSameSpans(factsFromOtlp(decoded));
    const client = decoded.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).find((s) => s.name === 'POST');
    assert.equal(client?.events?.[0].name, 'retry');
    assert.deepEqual(otlpAttributes(client?.events?.[0].attributes), { attempt: 2 });
    assert.equal(toHex(client?.links?.[0].spanId), 'cccccccccccccccc');
    assert.equal(client?.status?.message, 'upstream unavailable');
    assert.equal(queues[0].counters.exported, 3);
    assert.equal(queues[0].counters.exportedBatches, 1);
  });

  test('JSON: the OTLP/JSON encoding (hex ids, string nanoseconds), with custom headers and gzip', async () => {
    const receiver = await LoopbackReceiver.start();
    const { fanout } = createExporters([
      fastConfig({ type: 'otlp-http', protocol: 'json', endpoint: receiver.url('/v1/traces'), headers: { 'x-tenant': 'blue' }, compression: 'gzip' }),
    ]);
    fanout.offer(SPANS);
    await fanout.shutdown(2000);
    await receiver.stop();
    const req = receiver.requests[0];
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['content-encoding'], 'gzip');
    assert.equal(req.headers['x-tenant'], 'blue');
    assert.ok(req.wireBytes < req.body.length, 'the body on the wire is compressed');
    const decoded = JSON.parse(req.body.toString('utf8')) as OtlpJsonRequest;
    for (const s of decoded.resourceSpans[0].scopeSpans[0].spans) assert.match(s.traceId, /^[0-9a-f]{32}$/);
    assertSameSpans(factsFromOtlp(decoded));
  });

  test('TLS: an https receiver is trusted through tls.caFile', async () => {
    const tls = selfSignedCertificate();
    const receiver = await LoopbackReceiver.start(tls);
    const { fanout, queues } = createExporters([fastConfig({ type: 'otlp-http', endpoint: receiver.url('/v1/traces'), tls: { caFile: tls.certFile } })]);
    fanout.offer(SPANS);
    await fanout.shutdown(2000);
    await receiver.stop();
    assertSameSpans(factsFromOtlp(decodeProtobuf(receiver.requests[0].body)));
    assert.equal(queues[0].counters.exported, 3);
  });
});

describe('OTLP over gRPC', () => {
  async function grpcReceiver(answer: (n: number) => GrpcStatus | undefined) {
    const requests: Buffer[] = [];
    const metadata: Record<string, unknown>[] = [];
    const server = new Server();
    server.addService(
      otlpTraceService,
      {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          const code = answer(requests.length + metadata.length);
          metadata.push(call.metadata.getMap());
          if (code !== undefined) {
            callback({ code, details: 'try later' });
            return;
          }
          requests.push(call.request);
          callback(null, Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create({})).finish()));
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return { requests, metadata, endpoint: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
  }

  test('a real grpc-js server receives TraceService/Export; the request decodes field by field, metadata and gzip included', async () => {
    const receiver = await grpcReceiver(() => undefined);
    const { fanout, queues } = createExporters([
      fastConfig({ type: 'otlp-grpc', endpoint: receiver.endpoint, headers: { 'x-tenant': 'blue' }, compression: 'gzip' }),
    ]);
    fanout.offer(SPANS);
    await fanout.shutdown(3000);
    await receiver.close();
    assert.equal(receiver.requests.length, 1);
    assert.equal(receiver.metadata[0]['x-tenant'], 'blue');
    assertSameSpans(factsFromOtlp(decodeProtobuf(receiver.requests[0])));
    assert.equal(queues[0].counters.exported, 3);
  });

  test('UNAVAILABLE is retried by the queue (once per failure), INVALID_ARGUMENT is not', async () => {
    const flaky = await grpcReceiver((n) => (n === 0 ? GrpcStatus.UNAVAILABLE : undefined));
    const refusing = await grpcReceiver(() => GrpcStatus.INVALID_ARGUMENT);
    const { fanout, queues } = createExporters([
      fastConfig({ type: 'otlp-grpc', name: 'flaky', endpoint: flaky.endpoint }),
      fastConfig({ type: 'otlp-grpc', name: 'refusing', endpoint: refusing.endpoint }),
    ]);
    fanout.offer(SPANS);
    await fanout.forceFlush();
    await fanout.shutdown(2000);
    await Promise.all([flaky.close(), refusing.close()]);
    const [a, b] = queues.map((q) => q.counters);
    assert.equal(flaky.metadata.length, 2, 'one failed call, one retry: the OTel exporter adds no retries of its own');
    assert.equal(a.exported, 3);
    assert.equal(a.failedAttempts, 1);
    assert.equal(a.lastFailure, 'grpc-UNAVAILABLE');
    assert.equal(refusing.metadata.length, 1, 'not retried');
    assert.equal(b.dropped.rejected, 3);
    assert.equal(b.lastFailure, 'grpc-INVALID_ARGUMENT');
  });
});
