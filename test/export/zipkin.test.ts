import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { createExporters } from '../../src/export/factory.js';
import { byName, factsOf, fastConfig, LoopbackReceiver, sdkSpans, type SpanFacts } from './receivers.js';

/*
 * Zipkin's v2 JSON model (zipkin-api, zipkin2-api.yaml: ListOfSpans, Span,
 * Endpoint, Annotation, Tags), written down as a schema: ids are lower-hex,
 * times are int64 microseconds, duration at least 1, tags are strings.
 */
const lowerHex = (lengths: number[]) => z.string().regex(new RegExp(`^(${lengths.map((n) => `[0-9a-f]{${n}}`).join('|')})$`));
const int64 = z.number().int().nonnegative();
const zipkinEndpoint = z.strictObject({
  serviceName: z.string().optional(),
  ipv4: z.string().optional(),
  ipv6: z.string().optional(),
  port: z.number().int().optional(),
});
const zipkinSpan = z.strictObject({
  traceId: lowerHex([16, 32]),
  name: z.string().optional(),
  parentId: lowerHex([16]).optional(),
  id: lowerHex([16]),
  kind: z.enum(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER']).optional(),
  timestamp: int64.optional(),
  duration: int64.min(1).optional(),
  debug: z.boolean().optional(),
  shared: z.boolean().optional(),
  localEndpoint: zipkinEndpoint.optional(),
  remoteEndpoint: zipkinEndpoint.optional(),
  annotations: z.array(z.strictObject({ timestamp: int64, value: z.string() })).optional(),
  tags: z.record(z.string(), z.string()).optional(),
});
const listOfSpans = z.array(zipkinSpan);

const SPANS = sdkSpans();

test('spans arrive at /api/v2/spans as Zipkin v2 JSON that satisfies the model, field by field', async () => {
  const receiver = await LoopbackReceiver.start();
  const { fanout, queues } = createExporters([fastConfig({ type: 'zipkin', endpoint: receiver.url('/api/v2/spans'), headers: { 'x-tenant': 'blue' } })]);
  fanout.offer(SPANS);
  await fanout.shutdown(2000);
  await receiver.stop();

  assert.equal(receiver.requests.length, 1);
  const req = receiver.requests[0];
  assert.equal(req.url, '/api/v2/spans');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['x-tenant'], 'blue');
  const spans = listOfSpans.parse(JSON.parse(req.body.toString('utf8')));

  const expected = byName(SPANS.map((s) => factsOf(s, 'us')));
  for (const s of spans) {
    const facts = expected.get(s.name!)!;
    const tags = s.tags ?? {};
    const received: SpanFacts = {
      service: s.localEndpoint?.serviceName ?? '',
      traceId: s.traceId,
      spanId: s.id,
      parentSpanId: s.parentId ?? '',
      name: s.name!,
      kind: s.kind ?? 'INTERNAL',
      start: facts.start,
      end: facts.end,
      status: tags['otel.status_code'] ?? 'UNSET',
      attributes: facts.attributes,
    };
    assert.deepEqual(received, facts, `span ${s.name}`);
    // Times: the start rounded to the microsecond, the duration within a microsecond of end - start.
    assert.ok(Math.abs(s.timestamp! - Number(facts.start)) <= 1, `timestamp of ${s.name}`);
    assert.ok(Math.abs(s.timestamp! + s.duration! - Number(facts.end)) <= 2, `duration of ${s.name}`);
    for (const [key, value] of Object.entries(facts.attributes)) assert.equal(tags[key], String(value), `tag ${key} of ${s.name}`);
  }
  assert.equal(spans.length, 3);
  const client = spans.find((s) => s.name === 'POST')!;
  assert.equal(client.tags?.error, 'upstream unavailable');
  assert.deepEqual(client.annotations?.map((a) => a.value), ['retry']);
  assert.equal(queues[0].counters.exported, 3);
});

test('Zipkin failures follow the same rules: 503 retried, 400 dropped and counted', async () => {
  const receiver = await LoopbackReceiver.start();
  receiver.replies.push({ status: 503 }, { status: 200 }, { status: 400, body: 'bad span' });
  const { fanout, queues } = createExporters([fastConfig({ type: 'zipkin', endpoint: receiver.url('/api/v2/spans') })]);
  fanout.offer(SPANS);
  await fanout.forceFlush();
  fanout.offer(SPANS);
  await fanout.shutdown(2000);
  await receiver.stop();
  const c = queues[0].counters;
  assert.equal(receiver.requests.length, 3);
  assert.equal(c.exported, 3);
  assert.equal(c.dropped.rejected, 3);
  assert.equal(c.lastFailure, 'http-400');
});
