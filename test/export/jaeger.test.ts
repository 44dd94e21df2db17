import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { AttributeValue } from '@opentelemetry/api';
import { createExporters } from '../../src/export/factory.js';
import { byName, factsOf, fastConfig, LoopbackReceiver, sdkSpans, type SpanFacts } from './receivers.js';

// The Jaeger IDL (jaeger-idl's thrift/jaeger.thrift, as shipped in jaeger-client) read at test time by a real Thrift library.
const require = createRequire(import.meta.url);
const { Thrift } = require('thriftrw');
const jaegerIdl = new Thrift({
  entryPoint: require.resolve('jaeger-client/dist/src/jaeger-idl/thrift/jaeger.thrift'),
  allowFilesystemAccess: true,
  allowOptionalArguments: true,
});
const BatchRW = jaegerIdl.getType('Batch');

interface ThriftTag {
  key: string;
  vType: 'STRING' | 'DOUBLE' | 'BOOL' | 'LONG' | 'BINARY';
  vStr: string | null;
  vDouble: number | null;
  vBool: boolean | null;
  vLong: Buffer | null;
}
interface ThriftSpan {
  traceIdLow: Buffer;
  traceIdHigh: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  operationName: string;
  references: Array<{ refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceIdLow: Buffer; traceIdHigh: Buffer; spanId: Buffer }> | null;
  flags: number;
  startTime: Buffer;
  duration: Buffer;
  tags: ThriftTag[] | null;
  logs: Array<{ timestamp: Buffer; fields: ThriftTag[] }> | null;
}
interface ThriftBatch {
  process: { serviceName: string; tags: ThriftTag[] | null };
  spans: ThriftSpan[];
}

function decodeBatch(body: Buffer): ThriftBatch {
  const result = BatchRW.fromBufferResult(body);
  if (result.err) throw result.err;
  return result.value as ThriftBatch;
}

const i64 = (b: Buffer): bigint => b.readBigInt64BE(0);
const hex = (b: Buffer): string => b.toString('hex');

function tagValue(tag: ThriftTag): AttributeValue {
  switch (tag.vType) {
    case 'STRING':
      return tag.vStr as string;
    case 'DOUBLE':
      return tag.vDouble as number;
    case 'BOOL':
      return tag.vBool as boolean;
    case 'LONG':
      return Number(i64(tag.vLong as Buffer));
    default:
      throw new Error(`unexpected tag type ${tag.vType}`);
  }
}

const SPANS = sdkSpans();
const CONVENTION_TAGS = new Set(['span.kind', 'otel.status_code', 'otel.status_description', 'error', 'otel.scope.name', 'otel.scope.version']);

test('each service arrives as its own Thrift Batch at /api/traces and decodes with jaeger.thrift, field by field', async () => {
  const receiver = await LoopbackReceiver.start();
  const { fanout, queues } = createExporters([fastConfig({ type: 'jaeger', endpoint: receiver.url('/api/traces') })]);
  fanout.offer(SPANS);
  await fanout.shutdown(2000);
  await receiver.stop();

  assert.equal(receiver.requests.length, 2, 'one POST per service');
  for (const req of receiver.requests) {
    assert.equal(req.url, '/api/traces');
    assert.equal(req.headers['content-type'], 'application/x-thrift');
  }
  const batches = receiver.requests.map((r) => decodeBatch(r.body));
  assert.deepEqual(batches.map((b) => b.process.serviceName).sort(), ['checkout', 'payments']);
  const checkout = batches.find((b) => b.process.serviceName === 'checkout')!;
  assert.deepEqual(
    checkout.process.tags?.map((t) => [t.key, tagValue(t)]),
    [['host.name', 'node-1']],
    'process tags are the resource attributes',
  );

  const expected = byName(SPANS.map((s) => factsOf(s, 'us')));
  const received: SpanFacts[] = [];
  for (const batch of batches) {
    for (const s of batch.spans) {
      const tags = new Map((s.tags ?? []).map((t) => [t.key, t]));
      const traceId = hex(s.traceIdHigh) + hex(s.traceIdLow);
      const facts = expected.get(s.operationName)!;
      assert.equal(s.flags, 1, 'sampled');
      const start = i64(s.startTime);
      const kindTag = tags.get('span.kind');
      const statusTag = tags.get('otel.status_code');
      received.push({
        service: batch.process.serviceName,
        traceId,
        spanId: hex(s.spanId),
        parentSpanId: i64(s.parentSpanId) === 0n ? '' : hex(s.parentSpanId),
        name: s.operationName,
        kind: kindTag ? String(tagValue(kindTag)).toUpperCase() : 'INTERNAL',
        start: start.toString(),
        end: (start + i64(s.duration)).toString(),
        status: statusTag ? String(tagValue(statusTag)) : 'UNSET',
        attributes: Object.fromEntries(
          (s.tags ?? []).filter((t) => !CONVENTION_TAGS.has(t.key)).map((t) => [t.key, t.key === 'tags' ? JSON.parse(t.vStr as string) : tagValue(t)]),
        ),
      });
      // End times are floored to µs independently; the duration is their difference, so allow the one µs of rounding.
      assert.ok(Math.abs(Number(BigInt(facts.end) - (start + i64(s.duration)))) <= 1, `duration of ${s.operationName}`);
      received[received.length - 1].end = facts.end;
      if (facts.parentSpanId) {
        assert.deepEqual(
          s.references?.filter((r) => r.refType === 'CHILD_OF').map((r) => [hex(r.traceIdHigh) + hex(r.traceIdLow), hex(r.spanId)]),
          [[traceId, facts.parentSpanId]],
        );
      }
      assert.equal(tags.get('otel.scope.name')?.vStr, 'wiretrace-test');
    }
  }
  for (const facts of received) assert.deepEqual(facts, expected.get(facts.name), `span ${facts.name}`);
  assert.equal(received.length, 3);

  const client = batches.flatMap((b) => b.spans).find((s) => s.operationName === 'POST')!;
  const tags = new Map((client.tags ?? []).map((t) => [t.key, t]));
  assert.equal(tags.get('http.response.status_code')?.vType, 'LONG');
  assert.equal(tags.get('error')?.vBool, true);
  assert.equal(tags.get('otel.status_description')?.vStr, 'upstream unavailable');
  assert.deepEqual(
    client.references?.filter((r) => r.refType === 'FOLLOWS_FROM').map((r) => hex(r.spanId)),
    ['cccccccccccccccc'],
    'links become FOLLOWS_FROM references',
  );
  assert.equal(client.logs?.length, 1);
  assert.deepEqual(
    client.logs?.[0].fields.map((t) => [t.key, tagValue(t)]),
    [
      ['event', 'retry'],
      ['attempt', 2],
    ],
  );
  const server = batches.flatMap((b) => b.spans).find((s) => s.operationName === 'GET /api/cart/:id')!;
  const serverTags = new Map((server.tags ?? []).map((t) => [t.key, t]));
  assert.equal(serverTags.get('ratio')?.vType, 'DOUBLE');
  assert.equal(serverTags.get('cached')?.vType, 'BOOL');
  assert.equal(queues[0].counters.exported, 3);
});

test('a batch of two services that fails half-way is retried without sending the accepted service twice', async () => {
  const receiver = await LoopbackReceiver.start();
  receiver.replies.push({ status: 200 }, { status: 503 });
  const { fanout, queues } = createExporters([fastConfig({ type: 'jaeger', endpoint: receiver.url('/api/traces') })]);
  fanout.offer(SPANS);
  await fanout.shutdown(2000);
  await receiver.stop();
  const services = receiver.requests.filter((r) => r.status === 200).map((r) => decodeBatch(r.body).process.serviceName);
  assert.deepEqual(services.sort(), ['checkout', 'payments']);
  assert.equal(receiver.requests.length, 3);
  assert.equal(queues[0].counters.exported, 3);
  assert.equal(queues[0].counters.retries, 1);
});
