import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { createExporters } from '../../src/export/factory.js';
import { byName, factsOf, fastConfig, LoopbackReceiver, sdkSpans, selfSignedCertificate, type SpanFacts } from './receivers.js';

/*
 * The HTTP Event Collector's event format (Splunk docs, "Format events for
 * HTTP Event Collector"): a body of JSON objects one after another, each with
 * `event` and optional time (epoch seconds, fraction allowed), host, source,
 * sourcetype, index and fields. Nothing else is allowed at the top level.
 */
const hecEvent = z.strictObject({
  time: z.number().positive().optional(),
  host: z.string().optional(),
  source: z.string().optional(),
  sourcetype: z.string().optional(),
  index: z.string().optional(),
  fields: z.record(z.string(), z.unknown()).optional(),
  event: z.unknown(),
});

/** Splits a HEC body into its concatenated JSON objects, the way HEC reads it (whitespace between them optional). */
function parseConcatenatedJson(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) {
      out.push(JSON.parse(text.slice(start, i + 1)));
    } else if (depth === 0 && !/\s/.test(c)) throw new Error(`stray ${c} at ${i}`);
  }
  assert.equal(depth, 0, 'body ends inside an object');
  return out;
}

const spanEvent = z.strictObject({
  trace_id: z.string().regex(/^[0-9a-f]{32}$/),
  span_id: z.string().regex(/^[0-9a-f]{16}$/),
  parent_span_id: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  name: z.string(),
  kind: z.enum(['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']),
  start_time: z.string(),
  end_time: z.string(),
  duration_ms: z.number().nonnegative(),
  status: z.strictObject({ code: z.enum(['UNSET', 'OK', 'ERROR']), message: z.string().optional() }),
  service: z.string(),
  attributes: z.record(z.string(), z.unknown()),
});

const SPANS = sdkSpans();

/** RFC 3339 with nanoseconds back to integer nanoseconds. */
function rfc3339ToNanos(s: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z$/.exec(s);
  assert.ok(m, `RFC 3339 with nanoseconds: ${s}`);
  return (BigInt(Date.parse(`${m[1]}Z`) / 1000) * 1_000_000_000n + BigInt(m[2])).toString();
}

test('one HEC event per span, concatenated in one POST to /services/collector with the Splunk token, over TLS with verification explicitly off', async () => {
  const tls = selfSignedCertificate();
  const receiver = await LoopbackReceiver.start(tls);
  const { fanout, queues } = createExporters([
    fastConfig({
      type: 'splunk',
      endpoint: receiver.url('/services/collector'),
      token: '11111111-2222-3333-4444-555555555555',
      index: 'traces',
      source: 'wiretrace',
      sourcetype: 'otel:span',
      host: 'node-1',
      tls: { rejectUnauthorized: false },
    }),
  ]);
  fanout.offer(SPANS);
  await fanout.shutdown(2000);
  await receiver.stop();

  assert.equal(receiver.requests.length, 1);
  const req = receiver.requests[0];
  assert.equal(req.url, '/services/collector');
  assert.equal(req.headers.authorization, 'Splunk 11111111-2222-3333-4444-555555555555');
  assert.equal(req.headers['content-type'], 'application/json');
  const events = parseConcatenatedJson(req.body.toString('utf8')).map((e) => hecEvent.parse(e));
  assert.equal(events.length, 3);

  const expected = byName(SPANS.map((s) => factsOf(s, 'ns')));
  for (const envelope of events) {
    assert.equal(envelope.index, 'traces');
    assert.equal(envelope.source, 'wiretrace');
    assert.equal(envelope.sourcetype, 'otel:span');
    assert.equal(envelope.host, 'node-1');
    const e = spanEvent.parse(envelope.event);
    const facts = expected.get(e.name)!;
    const received: SpanFacts = {
      service: e.service,
      traceId: e.trace_id,
      spanId: e.span_id,
      parentSpanId: e.parent_span_id ?? '',
      name: e.name,
      kind: e.kind,
      start: rfc3339ToNanos(e.start_time),
      end: rfc3339ToNanos(e.end_time),
      status: e.status.code,
      attributes: e.attributes as SpanFacts['attributes'],
    };
    assert.deepEqual(received, facts, `span ${e.name}`);
    assert.equal(envelope.time, Number(BigInt(facts.start) / 1000n) / 1e6, 'time is the start, epoch seconds to the microsecond');
    assert.equal(e.duration_ms, Number(BigInt(facts.end) - BigInt(facts.start)) / 1e6);
    if (e.name === 'POST') assert.equal(e.status.message, 'upstream unavailable');
  }
  assert.equal(queues[0].counters.exported, 3);
});

test('without the opt-out an unverifiable certificate is refused: not retried, counted as rejected, nothing sent', async () => {
  const tls = selfSignedCertificate();
  const receiver = await LoopbackReceiver.start(tls);
  const { fanout, queues } = createExporters([fastConfig({ type: 'splunk', endpoint: receiver.url('/services/collector'), token: 't' })]);
  fanout.offer(SPANS);
  await fanout.shutdown(2000);
  await receiver.stop();
  const c = queues[0].counters;
  assert.equal(receiver.requests.length, 0);
  assert.equal(c.failedAttempts, 1);
  assert.equal(c.dropped.rejected, 3);
  assert.equal(c.lastFailure, 'DEPTH_ZERO_SELF_SIGNED_CERT');
});

test('with tls.caFile the same receiver is verified and trusted; a wrong token (403) is not retried', async () => {
  const tls = selfSignedCertificate();
  const receiver = await LoopbackReceiver.start(tls);
  receiver.replies.push({ status: 403, body: '{"text":"Invalid token","code":4}' });
  const { fanout, queues } = createExporters([
    fastConfig({ type: 'splunk', endpoint: receiver.url('/services/collector'), token: 'wrong', tls: { caFile: tls.certFile } }),
  ]);
  fanout.offer(SPANS);
  await fanout.forceFlush();
  fanout.offer(SPANS);
  await fanout.shutdown(2000);
  await receiver.stop();
  const c = queues[0].counters;
  assert.equal(receiver.requests.length, 2);
  assert.equal(c.dropped.rejected, 3);
  assert.equal(c.lastFailure, 'http-403');
  assert.equal(c.exported, 3);
});
