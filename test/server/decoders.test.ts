import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { ProtobufTraceSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeOtlpProtobuf } from '../../src/server/convert/otlp-proto.js';
import { decodeOtlpJson } from '../../src/server/convert/otlp-json.js';
import { decodeZipkinJson } from '../../src/server/convert/zipkin.js';
import { decodeJaegerBatch } from '../../src/server/convert/jaeger-thrift.js';
import { encodeJaegerBatch, groupByService } from '../../src/export/jaeger-thrift.js';
import type { WireJson } from './helpers.js';
import { safeDecode, type StoredSpan } from '../../src/server/span.js';
import { manySpans, sdkSpans } from '../export/receivers.js';

// The OTLP definitions generated from opentelemetry-proto by the OpenTelemetry JS project (protobufjs static code).
const require = createRequire(import.meta.url);
const otlpRoot = require('@opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js');
const Request = otlpRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

/** What the official decoder reads from the same bytes, reduced to the stored shape's facts. */
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function officialFacts(bytes: Uint8Array): unknown[] {
  const msg = Request.toObject(Request.decode(bytes), { longs: String, enums: Number, bytes: Buffer, defaults: true });
  const out: unknown[] = [];
  for (const rs of msg.resourceSpans) {
    const attrs = Object.fromEntries(rs.resource.attributes.map((kv: WireJson) => [kv.key, kv.value]));
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: s.parentSpanId.length ? hex(s.parentSpanId) : '',
          name: s.name,
          kind: s.kind,
          service: attrs['service.name'].stringValue,
          startUs: Number(BigInt(s.startTimeUnixNano) / 1000n),
          durationUs: Number((BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1000n),
          attributeKeys: s.attributes.map((kv: WireJson) => kv.key),
          events: s.events.map((e: WireJson) => [e.name, Number(BigInt(e.timeUnixNano) / 1000n)]),
          links: s.links.map((l: WireJson) => [hex(l.traceId), hex(l.spanId)]),
          status: [s.status.code, s.status.message],
          scope: [ss.scope.name, ss.scope.version],
        });
      }
    }
  }
  return out;
}

function ownFacts(spans: StoredSpan[]): unknown[] {
  return spans.map((s) => ({
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    service: s.service,
    startUs: s.startUs,
    durationUs: s.durationUs,
    attributeKeys: s.attributes.map((t) => t.key),
    events: s.events.map((e) => [e.name, e.timeUs]),
    links: s.links.map((l) => [l.traceId, l.spanId]),
    status: [s.statusCode, s.statusMessage],
    scope: [s.scopeName, s.scopeVersion],
  }));
}

test('the hand-written OTLP protobuf decoder reads what the official generated decoder reads, span for span', () => {
  for (const spans of [sdkSpans(), manySpans(50)]) {
    const bytes = ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array;
    const own = decodeOtlpProtobuf(Buffer.from(bytes));
    assert.deepEqual(ownFacts(own), officialFacts(bytes));
  }
});

test('attribute values keep their OTLP types through protobuf and JSON alike', () => {
  const spans = sdkSpans();
  const fromProto = decodeOtlpProtobuf(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array));
  const fromJson = decodeOtlpJson(JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans) as Uint8Array).toString()));
  assert.deepEqual(fromJson, fromProto);
  const server = fromProto.find((s) => s.name === 'GET /api/cart/:id')!;
  assert.deepEqual(server.attributes, [
    { key: 'http.request.method', type: 'string', value: 'GET' },
    { key: 'url.path', type: 'string', value: '/api/cart/7' },
    { key: 'http.response.status_code', type: 'int64', value: 200 },
    { key: 'ratio', type: 'float64', value: 0.25 },
    { key: 'cached', type: 'bool', value: false },
    { key: 'tags', type: 'string', value: '["a","b"]' },
  ]);
});

test('the Jaeger Thrift decoder reads back every Batch the exporter encodes', () => {
  const spans = sdkSpans();
  for (const [service, group] of groupByService(spans)) {
    const decoded = decodeJaegerBatch(encodeJaegerBatch(service, group));
    assert.equal(decoded.length, group.length);
    for (let i = 0; i < group.length; i++) {
      assert.equal(decoded[i].service, service);
      assert.equal(decoded[i].spanId, group[i].spanContext().spanId);
      assert.equal(decoded[i].traceId, group[i].spanContext().traceId);
      assert.equal(decoded[i].parentSpanId, group[i].parentSpanContext?.spanId ?? '');
      assert.equal(decoded[i].kind, group[i].kind + 1);
      assert.equal(decoded[i].statusCode, group[i].status.code);
    }
  }
});

const decoders: Array<[string, (b: Buffer) => unknown]> = [
  ['OTLP protobuf', (b) => decodeOtlpProtobuf(b)],
  ['Jaeger Thrift', (b) => decodeJaegerBatch(b)],
  ['OTLP JSON', (b) => decodeOtlpJson(JSON.parse(b.toString()))],
  ['Zipkin JSON', (b) => decodeZipkinJson(JSON.parse(b.toString()))],
];

test('garbage never throws out of a decoder: it is a reason or spans', () => {
  for (const [name, decode] of decoders) {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const r = safeDecode(() => decode(Buffer.from(bytes)) as StoredSpan[]);
        assert.ok(r.ok ? Array.isArray(r.spans) : typeof r.reason === 'string', name);
      }),
      { numRuns: 500 },
    );
  }
});

test('byte flips and truncations of real payloads never throw either', () => {
  const spans = sdkSpans();
  const proto = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
  const [[service, group]] = [...groupByService(spans)];
  const thrift = encodeJaegerBatch(service, group);
  for (const [name, payload, decode] of [['OTLP protobuf', proto, decodeOtlpProtobuf], ['Jaeger Thrift', thrift, decodeJaegerBatch]] as const) {
    fc.assert(
      fc.property(fc.nat(payload.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(payload.length), (at, byte, cut) => {
        const mutated = Buffer.from(payload.subarray(0, cut));
        if (at < mutated.length) mutated[at] = byte;
        const r = safeDecode(() => decode(mutated));
        assert.ok(r.ok || r.reason.length > 0, name);
      }),
      { numRuns: 1000 },
    );
  }
});

test('structured JSON of the wrong shapes gives reasons, not exceptions', () => {
  const values = fc.jsonValue({ maxDepth: 4 });
  fc.assert(
    fc.property(values, (v) => {
      for (const decode of [decodeOtlpJson, decodeZipkinJson]) {
        const r = safeDecode(() => decode(v));
        assert.ok(r.ok || typeof r.reason === 'string');
      }
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.array(fc.record({ traceId: fc.oneof(fc.string(), fc.integer()), id: fc.string(), timestamp: fc.oneof(fc.double(), fc.string()), tags: fc.dictionary(fc.string(), fc.jsonValue()) })), (zipkin) => {
      const r = safeDecode(() => decodeZipkinJson(zipkin));
      assert.ok(r.ok || typeof r.reason === 'string');
    }),
    { numRuns: 300 },
  );
});

test('a Batch written by a real Thrift library from the official jaeger.thrift IDL decodes field by field', () => {
  const { Thrift } = require('thriftrw');
  const idl = new Thrift({ entryPoint: require.resolve('jaeger-client/dist/src/jaeger-idl/thrift/jaeger.thrift'), allowFilesystemAccess: true, allowOptionalArguments: true });
  const Batch = idl.getType('Batch');
  const i64 = (v: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    return b;
  };
  const tag = (key: string, vType: string, v: Record<string, unknown>): Record<string, unknown> => ({ key, vType, vStr: null, vDouble: null, vBool: null, vLong: null, vBinary: null, ...v });
  const bytes: Buffer = Batch.toBuffer({
    process: { serviceName: 'legacy', tags: [tag('hostname', 'STRING', { vStr: 'box-1' })] },
    spans: [
      {
        traceIdLow: i64(-2n),
        traceIdHigh: i64(0n),
        spanId: i64(0x1122334455667788n),
        parentSpanId: i64(0x0102030405060708n),
        operationName: 'query',
        references: [{ refType: 'FOLLOWS_FROM', traceIdLow: i64(5n), traceIdHigh: i64(0n), spanId: i64(6n) }],
        flags: 1,
        startTime: i64(1_700_000_000_123_456n),
        duration: i64(789n),
        tags: [tag('span.kind', 'STRING', { vStr: 'client' }), tag('error', 'BOOL', { vBool: true }), tag('db.rows', 'LONG', { vLong: i64(-42n) }), tag('ratio', 'DOUBLE', { vDouble: 0.5 }), tag('blob', 'BINARY', { vBinary: Buffer.from([1, 2, 3]) })],
        logs: [{ timestamp: i64(1_700_000_000_123_500n), fields: [tag('event', 'STRING', { vStr: 'retry' }), tag('attempt', 'LONG', { vLong: i64(2n) })] }],
      },
    ],
    seqNo: null,
    stats: null,
  });
  const [span] = decodeJaegerBatch(bytes);
  assert.deepEqual(span, {
    traceId: '0000000000000000fffffffffffffffe',
    spanId: '1122334455667788',
    parentSpanId: '0102030405060708',
    name: 'query',
    kind: 3,
    service: 'legacy',
    startUs: 1_700_000_000_123_456,
    durationUs: 789,
    attributes: [
      { key: 'db.rows', type: 'int64', value: -42 },
      { key: 'ratio', type: 'float64', value: 0.5 },
      { key: 'blob', type: 'binary', value: 'AQID' },
    ],
    events: [{ timeUs: 1_700_000_000_123_500, name: 'retry', attributes: [{ key: 'attempt', type: 'int64', value: 2 }] }],
    links: [{ traceId: '00000000000000000000000000000005', spanId: '0000000000000006', refType: 'FOLLOWS_FROM', attributes: [] }],
    statusCode: 2,
    statusMessage: '',
    resource: [{ key: 'hostname', type: 'string', value: 'box-1' }],
    scopeName: '',
    scopeVersion: '',
    traceState: '',
    flags: 1,
  });
});
