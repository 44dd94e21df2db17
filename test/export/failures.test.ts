import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stats } from '../../src/model/stats.js';
import { createExporters } from '../../src/export/factory.js';
import { ExportQueue, type ExportQueueCounters } from '../../src/export/queue.js';
import { exportQueueSchema, exportRetrySchema } from '../../src/export/config.js';
import { delay, fastConfig, LoopbackReceiver, manySpans, sdkSpans } from './receivers.js';

const SPANS = sdkSpans();

function otlp(receiver: LoopbackReceiver, extra: Record<string, unknown> = {}) {
  return fastConfig({ type: 'otlp-http', endpoint: receiver.url('/v1/traces'), ...extra });
}

/** Every accepted span ends up exported or dropped for a reason: nothing is lost uncounted. */
function assertAccountedFor(c: ExportQueueCounters): void {
  const dropped = c.dropped['retries-exhausted'] + c.dropped.rejected + c.dropped['shutdown-deadline'];
  assert.equal(c.exported + dropped + c.queueLength + c.inFlight, c.accepted, `accepted = exported + dropped for ${c.exporter}`);
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await delay(5);
  }
}

test('503 then 200: the batch is retried and arrives once', async () => {
  const receiver = await LoopbackReceiver.start();
  receiver.replies.push({ status: 503 });
  const { fanout, queues } = createExporters([otlp(receiver)]);
  fanout.offer(SPANS);
  await fanout.forceFlush();
  await fanout.shutdown(1000);
  await receiver.stop();
  const c = queues[0].counters;
  assert.deepEqual(
    receiver.requests.map((r) => r.status),
    [503, 200],
  );
  assert.deepEqual(receiver.requests[0].body, receiver.requests[1].body, 'the same batch is sent again');
  assert.equal(c.exported, 3);
  assert.equal(c.failedAttempts, 1);
  assert.equal(c.retries, 1);
  assert.equal(c.lastFailure, 'http-503');
  assertAccountedFor(c);
});

test('429 with Retry-After: the retry waits as long as the receiver asked, not the (much shorter) backoff', async () => {
  const receiver = await LoopbackReceiver.start();
  receiver.replies.push({ status: 429, headers: { 'retry-after': '1' } });
  const arrivals: number[] = [];
  const { fanout, queues } = createExporters([otlp(receiver, { retry: { initialBackoffMs: 10, maxBackoffMs: 20 } })]);
  fanout.offer(SPANS);
  await receiver.waitForRequests(1);
  arrivals.push(Date.now());
  await receiver.waitForRequests(2);
  arrivals.push(Date.now());
  await fanout.shutdown(1000);
  await receiver.stop();
  assert.ok(arrivals[1] - arrivals[0] >= 950, `retried after ${arrivals[1] - arrivals[0]} ms`);
  assert.equal(queues[0].counters.exported, 3);
  assert.equal(queues[0].counters.lastFailure, 'http-429');
});

test('400 is not retried: one request, the spans dropped and counted as rejected (in the shared Stats too)', async () => {
  const receiver = await LoopbackReceiver.start();
  receiver.replies.push({ status: 400, body: 'malformed' });
  const stats = new Stats();
  const { fanout, queues } = createExporters([otlp(receiver)], { stats });
  fanout.offer(SPANS);
  await fanout.forceFlush();
  await delay(100); // time enough for a retry that must not happen
  await fanout.shutdown(1000);
  await receiver.stop();
  const c = queues[0].counters;
  assert.equal(receiver.requests.length, 1);
  assert.equal(c.dropped.rejected, 3);
  assert.equal(c.retries, 0);
  assert.equal(stats.drops.get('exporter:otlp-http:rejected'), 3);
  assertAccountedFor(c);
});

test('retryable failures stop at the retry budget: maxAttempts requests, then counted as retries-exhausted', async () => {
  const receiver = await LoopbackReceiver.start();
  receiver.replies.push({ status: 503 }, { status: 502 }, { status: 504 }, { status: 503 });
  const { fanout, queues } = createExporters([otlp(receiver, { retry: { maxAttempts: 3 } })]);
  fanout.offer(SPANS);
  await fanout.forceFlush();
  await fanout.shutdown(1000);
  await receiver.stop();
  const c = queues[0].counters;
  assert.equal(receiver.requests.length, 3);
  assert.equal(c.failedAttempts, 3);
  assert.equal(c.retries, 2);
  assert.equal(c.dropped['retries-exhausted'], 3);
  assert.equal(c.exported, 0);
});

test('a stalled receiver times out and is retried, while another exporter delivers without waiting for it', async () => {
  const stalled = await LoopbackReceiver.start();
  const healthy = await LoopbackReceiver.start();
  stalled.replies.push('stall', 'stall', 'stall');
  const { fanout, queues } = createExporters([
    otlp(stalled, { name: 'stalled', queue: { exportTimeoutMillis: 1000, scheduledDelayMillis: 0 }, retry: { maxAttempts: 2 } }),
    otlp(healthy, { name: 'healthy', queue: { scheduledDelayMillis: 0 } }),
  ]);
  fanout.offer(SPANS);
  await healthy.waitForRequests(1);
  assert.equal(queues[0].counters.failedAttempts, 0, "the healthy exporter delivered while the stalled one's first attempt was still hanging");
  assert.equal(queues[0].counters.inFlight, 3);
  await fanout.forceFlush();
  const [s, h] = queues.map((q) => q.counters);
  assert.equal(h.exported, 3);
  assert.equal(s.failedAttempts, 2);
  assert.equal(s.lastFailure, 'timeout');
  assert.equal(s.dropped['retries-exhausted'], 3);
  await fanout.shutdown(500);
  await Promise.all([stalled.stop(), healthy.stop()]);
});

test('a receiver that is down and comes back: refused connections are retried and the spans arrive', async () => {
  const receiver = await LoopbackReceiver.start();
  await receiver.stop();
  const { fanout, queues } = createExporters([otlp(receiver, { retry: { initialBackoffMs: 50, maxBackoffMs: 100, maxAttempts: 50 } })]);
  fanout.offer(SPANS);
  await until(() => queues[0].counters.failedAttempts >= 2);
  assert.equal(queues[0].counters.lastFailure, 'ECONNREFUSED');
  await receiver.restart();
  await fanout.forceFlush();
  const c = queues[0].counters;
  assert.equal(c.exported, 3);
  assert.equal(receiver.requests.length, 1);
  assert.equal(Object.values(c.dropped).reduce((a, b) => a + b), 0);
  await fanout.shutdown(1000);
  await receiver.stop();
});

test('a connection cut mid-request (reset) is retried', async () => {
  const receiver = await LoopbackReceiver.start();
  receiver.replies.push('hang-up');
  const { fanout, queues } = createExporters([otlp(receiver)]);
  fanout.offer(SPANS);
  await fanout.forceFlush();
  await fanout.shutdown(1000);
  await receiver.stop();
  assert.equal(queues[0].counters.exported, 3);
  assert.equal(queues[0].counters.failedAttempts, 1);
  assert.match(queues[0].counters.lastFailure ?? '', /ECONNRESET|socket hang up|EPIPE/);
});

test('overflow: the queue never holds more than maxQueueSize, the rest is counted queue-full; shutdown gives up at its deadline and counts what is left', async () => {
  const receiver = await LoopbackReceiver.start();
  for (let i = 0; i < 50; i++) receiver.replies.push('stall');
  const { fanout, queues } = createExporters([
    otlp(receiver, { queue: { maxQueueSize: 10, maxExportBatchSize: 5, scheduledDelayMillis: 0, exportTimeoutMillis: 5000 } }),
  ]);
  const c = queues[0].counters;
  const spans = manySpans(1000);
  let maxQueued = 0;
  let maxInFlight = 0;
  for (let i = 0; i < spans.length; i += 20) {
    fanout.offer(spans.slice(i, i + 20));
    maxQueued = Math.max(maxQueued, c.queueLength);
    maxInFlight = Math.max(maxInFlight, c.inFlight);
    if (i % 100 === 0) await delay(2);
  }
  assert.ok(maxQueued <= 10, `queue length peaked at ${maxQueued}`);
  assert.ok(maxInFlight <= 5, `in flight peaked at ${maxInFlight}`);
  assert.equal(c.accepted + c.dropped['queue-full'], 1000, 'every offered span is either queued or counted');
  assert.ok(c.dropped['queue-full'] >= 985);

  const started = Date.now();
  await fanout.shutdown(200);
  const took = Date.now() - started;
  assert.ok(took < 2500, `shutdown took ${took} ms with a 200 ms deadline, not the 5 s export timeout`);
  assert.equal(c.dropped['shutdown-deadline'], c.accepted, 'the stalled receiver took nothing: all accepted spans are counted at the deadline');
  assert.equal(c.queueLength, 0);
  assertAccountedFor(c);

  fanout.offer(spans.slice(0, 7));
  assert.equal(c.dropped['after-shutdown'], 7);
  await receiver.stop();
});

test('shutdown flushes a partial batch at once instead of waiting for the batch delay', async () => {
  const receiver = await LoopbackReceiver.start();
  const { fanout, queues } = createExporters([otlp(receiver, { queue: { scheduledDelayMillis: 60_000 } })]);
  fanout.offer(SPANS);
  const started = Date.now();
  await fanout.shutdown(2000);
  assert.ok(Date.now() - started < 1000);
  assert.equal(queues[0].counters.exported, 3);
  assert.equal(queues[0].counters.latency.count, 1);
  await receiver.stop();
});

test('an exporter that throws, or calls back twice, cannot break its queue: the throw is a counted rejection, the second answer is ignored', async () => {
  let calls = 0;
  const exporter = {
    export(_spans: unknown[], done: (r: { code: number }) => void): void {
      calls++;
      if (calls === 1) throw new Error('encoder bug');
      done({ code: 0 });
      done({ code: 1 });
    },
    shutdown: async () => {},
  };
  const queue = new ExportQueue('odd', exporter, { queue: exportQueueSchema.parse({ scheduledDelayMillis: 0 }), retry: exportRetrySchema.parse(undefined) });
  queue.offer(SPANS);
  await queue.forceFlush();
  queue.offer(SPANS);
  await queue.shutdown(1000);
  assert.equal(queue.counters.dropped.rejected, 3);
  assert.equal(queue.counters.exported, 3);
  assert.equal(queue.counters.failedAttempts, 1);
});
