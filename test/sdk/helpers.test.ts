import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import winston from 'winston';
import {
  addEvent,
  Attr,
  createTracing,
  database,
  instrument,
  job,
  pinoMixin,
  providerCall,
  recordError,
  setAttributes,
  setStatus,
  tracedFetch,
  withRetry,
  winstonTraceFormat,
  type Tracing,
} from '../../src/sdk/index.js';
import { OtlpReceiver, type ReceivedSpan } from './helpers.js';

// Helpers run in this process, with spans exported to a loopback OTLP receiver.

describe('helpers', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  before(async () => {
    receiver = await OtlpReceiver.start();
    tracing = createTracing(
      { enabled: true, serviceName: 'helpers', exporters: [{ type: 'otlp-http', endpoint: receiver.url, queue: { scheduledDelayMillis: 10 } }] },
      { env: false },
    );
  });
  after(async () => {
    await tracing.shutdown();
    await receiver.close();
  });

  async function exported(): Promise<ReceivedSpan[]> {
    await tracing.forceFlush();
    const spans = [...receiver.spans];
    receiver.clear();
    return spans;
  }

  function named(spans: ReceivedSpan[], name: string): ReceivedSpan {
    const s = spans.find((x) => x.name === name);
    assert.ok(s, `span ${name} among ${spans.map((x) => x.name).join(', ')}`);
    return s;
  }

  test('instrument: sync and async results pass through, children nest, errors are recorded and rethrown', async () => {
    const value = await instrument('outer', async () => {
      const inner = instrument('inner', () => 21 * 2, { 'user.id': 7 });
      await new Promise((r) => setTimeout(r, 5));
      return inner;
    });
    assert.equal(value, 42);
    await assert.rejects(
      instrument('failing', async () => {
        throw new TypeError('bad input');
      }),
      TypeError,
    );
    assert.throws(() =>
      instrument('failing-sync', () => {
        throw new RangeError('too far');
      }),
    );
    const spans = await exported();
    const outer = named(spans, 'outer');
    const inner = named(spans, 'inner');
    assert.equal(inner.parentSpanId, outer.spanId);
    assert.equal(inner.attributes['user.id'], 7);
    assert.ok(outer.durationNs >= 4_000_000n, 'the async span ends when the work does');
    const failing = named(spans, 'failing');
    assert.equal(failing.status, 'ERROR');
    assert.equal(failing.statusMessage, 'bad input');
    assert.equal(failing.attributes['error.type'], 'TypeError');
    assert.equal(failing.events[0].name, 'exception');
    assert.equal(named(spans, 'failing-sync').attributes['error.type'], 'RangeError');
  });

  test('withRetry: a span per attempt under one span with the outcome', async () => {
    let calls = 0;
    const result = await withRetry('charge', 4, async (attempt) => {
      calls++;
      if (attempt < 3) throw new Error(`attempt ${attempt} failed`);
      return 'charged';
    });
    assert.equal(result, 'charged');
    assert.equal(calls, 3);
    await assert.rejects(
      withRetry('refund', 2, () => {
        throw new Error('always');
      }),
      /always/,
    );
    await assert.rejects(
      withRetry('validate', 5, () => Promise.reject(new Error('fatal')), { retryable: (e) => !(e as Error).message.includes('fatal') }),
      /fatal/,
    );
    const spans = await exported();
    const charge = named(spans, 'charge');
    assert.deepEqual([charge.attributes['retry.attempts'], charge.attributes[Attr.RETRY_OUTCOME], charge.attributes[Attr.RETRY_MAX_ATTEMPTS], charge.status], [3, 'success', 4, 'UNSET']);
    for (const n of [1, 2, 3]) {
      const attempt = named(spans, `charge attempt ${n}`);
      assert.equal(attempt.parentSpanId, charge.spanId);
      assert.equal(attempt.attributes[Attr.RETRY_ATTEMPT], n);
      assert.equal(attempt.status, n < 3 ? 'ERROR' : 'UNSET');
    }
    const refund = named(spans, 'refund');
    assert.deepEqual([refund.attributes['retry.attempts'], refund.attributes[Attr.RETRY_OUTCOME], refund.status], [2, 'exhausted', 'ERROR']);
    const validate = named(spans, 'validate');
    assert.deepEqual([validate.attributes['retry.attempts'], validate.attributes[Attr.RETRY_OUTCOME]], [1, 'not-retryable']);
  });

  test('job, database and provider spans carry their kinds and attributes', async () => {
    await job('nightly-report', async () => undefined, { id: 991 });
    await assert.rejects(job('import', async () => Promise.reject(new Error('no file'))));
    database('SELECT', { system: 'postgresql', namespace: 'shop', collection: 'orders', statement: 'SELECT * FROM orders WHERE id = $1' }, () => 1);
    await providerCall('stripe', 'charges.create', async () => 'ok', { amount: 1200 });
    const spans = await exported();
    const nightly = named(spans, 'job nightly-report');
    assert.deepEqual([nightly.kind, nightly.attributes[Attr.JOB_NAME], nightly.attributes[Attr.JOB_ID], nightly.attributes[Attr.JOB_STATUS]], ['INTERNAL', 'nightly-report', '991', 'succeeded']);
    const failed = named(spans, 'job import');
    assert.deepEqual([failed.attributes[Attr.JOB_STATUS], failed.status], ['failed', 'ERROR']);
    const db = named(spans, 'SELECT orders');
    assert.deepEqual(
      [db.kind, db.attributes['db.system.name'], db.attributes['db.namespace'], db.attributes['db.collection.name'], db.attributes['db.query.text']],
      ['CLIENT', 'postgresql', 'shop', 'orders', 'SELECT * FROM orders WHERE id = $1'],
    );
    const provider = named(spans, 'stripe charges.create');
    assert.deepEqual([provider.kind, provider.attributes[Attr.PROVIDER], provider.attributes[Attr.OPERATION], provider.attributes.amount], ['CLIENT', 'stripe', 'charges.create', 1200]);
  });

  test('setAttributes, addEvent, setStatus and recordError take plain records of any value type; objects become JSON', async () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    instrument('annotated', () => {
      setAttributes({
        [Attr.USER_ID]: 'u-1',
        count: 3,
        ok: true,
        tags: ['a', 'b'],
        mixed: [1, 'x'],
        order: { id: 5, items: [{ sku: 'x' }] },
        big: 12345678901234567890n,
        when: new Date('2026-01-02T03:04:05Z'),
        nothing: null,
        gone: undefined,
        circular,
      });
      addEvent('cache-miss', { key: { table: 'users', id: 1 } });
      setStatus('ok');
    });
    instrument('with-error', () => {
      const error = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
      recordError(error, { [Attr.OPERATION]: 'connect' });
    });
    const spans = await exported();
    const a = named(spans, 'annotated');
    assert.deepEqual(a.attributes, {
      'user.id': 'u-1',
      count: 3,
      ok: true,
      tags: ['a', 'b'],
      mixed: '[1,"x"]',
      order: '{"id":5,"items":[{"sku":"x"}]}',
      big: '12345678901234567890',
      when: '2026-01-02T03:04:05.000Z',
      circular: '[unserializable]',
    });
    assert.deepEqual(a.events, [{ name: 'cache-miss', attributes: { key: '{"table":"users","id":1}' } }]);
    assert.equal(a.status, 'OK');
    const e = named(spans, 'with-error');
    assert.deepEqual([e.status, e.statusMessage, e.attributes['error.type'], e.attributes['operation.name']], ['ERROR', 'connection refused', 'ECONNREFUSED', 'connect']);
  });

  test('log correlation: pino mixin and winston format put the active trace_id and span_id in each line, nothing outside a span', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const plog = pino({ mixin: pinoMixin }, sink);
    const wlog = winston.createLogger({ format: winston.format.combine(winstonTraceFormat(), winston.format.json()), transports: [new winston.transports.Stream({ stream: sink })] });
    let ids: { traceId: string; spanId: string } | undefined;
    instrument('logging', (span) => {
      ids = span.spanContext();
      plog.info('inside');
      wlog.info('inside');
    });
    plog.info('outside');
    wlog.info('outside');
    await new Promise((r) => setImmediate(r));
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const inside = parsed.filter((p) => (p.msg ?? p.message) === 'inside');
    const outside = parsed.filter((p) => (p.msg ?? p.message) === 'outside');
    assert.equal(inside.length, 2);
    assert.equal(outside.length, 2);
    for (const line of inside) assert.deepEqual([line.trace_id, line.span_id, line.trace_flags], [ids?.traceId, ids?.spanId, '01']);
    for (const line of outside) assert.equal(line.trace_id, undefined);
    const [span] = await exported();
    assert.equal(span.spanId, ids?.spanId);
  });

  test('tracedFetch: a CLIENT span per call, the context in the request headers, 4xx is a client error, a refused connection too', async () => {
    let seen: string | undefined;
    const server = http.createServer((req, res) => {
      seen = req.headers.traceparent as string | undefined;
      res.writeHead(req.url === '/missing' ? 404 : 200).end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await instrument('caller', async () => {
      assert.equal((await tracedFetch(`${base}/ok`, { method: 'post', body: 'a' })).status, 200);
      assert.equal((await tracedFetch(`${base}/missing`)).status, 404);
    });
    server.close();
    await assert.rejects(tracedFetch(base));
    const spans = await exported();
    const caller = named(spans, 'caller');
    const clients = spans.filter((s) => s.kind === 'CLIENT');
    assert.equal(clients.length, 3);
    const [post, missing] = clients;
    assert.equal(post.name, 'POST');
    assert.equal(post.parentSpanId, caller.spanId);
    assert.equal(missing.status, 'ERROR');
    assert.equal(missing.attributes['http.response.status_code'], 404);
    assert.equal(seen, `00-${missing.traceId}-${missing.spanId}-01`);
    assert.equal(clients[2].status, 'ERROR');
    assert.equal(clients[2].parentSpanId, '');
  });
});

test('no span dropped silently: spans past maxQueueSize are counted and reported', async () => {
  const dead = await OtlpReceiver.start();
  const url = dead.url;
  await dead.close();
  const drops: Array<[string, string, number]> = [];
  const tracing = createTracing(
    {
      enabled: true,
      serviceName: 'overflow',
      maxQueueSize: 4,
      maxExportBatchSize: 2,
      exporters: [{ type: 'otlp-http', endpoint: url, queue: { maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMillis: 1000 }, retry: { maxAttempts: 1 } }],
    },
    { env: false, registerGlobal: false, onDrop: (exporter, reason, count) => drops.push([exporter, reason, count]) },
  );
  const tracer = tracing.tracer('t');
  for (let i = 0; i < 10; i++) tracer.startSpan(`s${i}`).end();
  await tracing.shutdown();
  const [counters] = tracing.exportCounters();
  assert.equal(counters.accepted, 4);
  assert.equal(counters.dropped['queue-full'], 6);
  const total = Object.values(counters.dropped).reduce((a, b) => a + b, 0);
  assert.equal(total, 10, 'every span is either exported or counted as dropped');
  assert.ok(drops.some(([e, r, n]) => e === 'otlp-http' && r === 'queue-full' && n === 6), JSON.stringify(drops));
});
