import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { analyze, type LivePipeline } from '../../src/pipeline.js';
import { configSchema } from '../../src/config/schema.js';
import { Stats } from '../../src/model/stats.js';
import { createExporters } from '../../src/export/factory.js';
import type { ExportQueueCounters } from '../../src/export/queue.js';
import { createAgentMetrics, createHealthCheck, createLogger, exportFailureLogger, startObserveServer } from '../../src/observe/index.js';
import { fastConfig, LoopbackReceiver } from '../export/receivers.js';
import { parseExposition, valueOf } from './exposition.js';
import { get, repoFile, splitPcap, until } from './helpers.js';

function counters(exporter: string, failingSince: number | undefined, lastFailure?: string): ExportQueueCounters {
  return {
    exporter,
    accepted: 0,
    exported: 0,
    exportedBatches: 0,
    failedAttempts: failingSince === undefined ? 0 : 1,
    retries: 0,
    dropped: { 'queue-full': 0, 'retries-exhausted': 0, rejected: 0, 'shutdown-deadline': 0, 'after-shutdown': 0 },
    queueLength: 0,
    inFlight: 0,
    latency: { count: 0, sumMs: 0, maxMs: 0, bucketCounts: [] },
    lastFailure,
    failingSince,
  };
}

describe('health checks', () => {
  const now = 1_000_000;
  const limits = { maxAwaitingRequests: 10, exporterFailureSeconds: 30 };

  test('healthy: awaiting requests at the limit, an exporter failing for less than the limit', () => {
    const check = createHealthCheck(
      { live: () => ({ connectionsTracked: 3, requestsAwaitingResponse: 10 }), exporters: () => [counters('otlp-http', now - 29_000, 'http-503'), counters('zipkin', undefined)], now: () => now },
      limits,
    );
    assert.deepEqual(check(), { healthy: true, problems: [] });
  });

  test('one line per failing check, naming the value, the limit and the exporter', () => {
    const check = createHealthCheck(
      {
        live: () => ({ connectionsTracked: 3, requestsAwaitingResponse: 11 }),
        exporters: () => [counters('otlp-http', now - 31_000, 'ECONNREFUSED'), counters('zipkin', undefined), counters('jaeger', now - 90_000, 'http-503')],
        now: () => now,
      },
      limits,
    );
    assert.deepEqual(check(), {
      healthy: false,
      problems: [
        'requests awaiting a response: 11 > limit 10',
        'exporter otlp-http failing for 31.0 s > limit 30 s (last failure ECONNREFUSED)',
        'exporter jaeger failing for 90.0 s > limit 30 s (last failure http-503)',
      ],
    });
  });

  test('before the pipeline starts and without exporters, all is well', () => {
    assert.deepEqual(createHealthCheck({}, limits)(), { healthy: true, problems: [] });
  });
});

describe('/healthz over HTTP follows the running agent', () => {
  test('503 while more requests await a response than allowed, 200 again when they are answered', async (t) => {
    // timeout.pcap: after packet 22, GET /slow and GET /never both wait; /slow is answered later, /never never is.
    const { head, tail } = splitPcap(readFileSync(repoFile('test/fixtures/http/timeout.pcap')), 22);
    const input = new PassThrough();
    const stats = new Stats();
    let live: LivePipeline | undefined;
    const done = analyze(input, { config: configSchema.parse({}), stats, onSpans: () => {}, onPipeline: (l) => (live = l) });
    const server = await startObserveServer({
      host: '127.0.0.1',
      port: 0,
      metrics: createAgentMetrics({ stats, live: () => live }, { processMetrics: false }),
      health: createHealthCheck({ live: () => live }, { maxAwaitingRequests: 1, exporterFailureSeconds: 60 }),
    });
    t.after(() => server.close());

    assert.deepEqual(await get(`${server.url}/healthz`).then((r) => [r.status, r.body]), [200, 'ok\n']);
    input.write(head);
    await until(() => stats.packets, (n) => n === 22, 'first 22 packets read');
    const flooded = await get(`${server.url}/healthz`);
    assert.equal(flooded.status, 503);
    assert.equal(flooded.body, 'requests awaiting a response: 2 > limit 1\n');

    input.write(tail);
    await until(() => stats.packets, (n) => n === 30, 'every packet read');
    assert.deepEqual(await get(`${server.url}/healthz`).then((r) => [r.status, r.body]), [200, 'ok\n'], 'one request awaiting is within the limit');
    input.end();
    await done;
  });

  test('503 when an exporter has failed for longer than allowed, 200 again once the receiver is back; one warning per failure streak', async (t) => {
    const receiver = await LoopbackReceiver.start();
    const endpoint = receiver.url('/v1/traces');
    await receiver.stop();

    const lines: string[] = [];
    const log = createLogger({
      level: 'debug',
      format: 'json',
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(...chunk.toString().split('\n').filter(Boolean));
          callback();
        },
      }),
    });
    const stats = new Stats();
    let exporterCounters = (): readonly ExportQueueCounters[] => [];
    const { fanout, queues } = createExporters(
      [fastConfig({ type: 'otlp-http', endpoint, retry: { initialBackoffMs: 10, maxBackoffMs: 40, maxAttempts: 10_000, maxElapsedMs: 60_000 } })],
      { stats, onFailure: exportFailureLogger(log, () => exporterCounters()) },
    );
    exporterCounters = () => fanout.counters();
    const limitSeconds = 0.3;
    const source = { stats, exporters: exporterCounters };
    const server = await startObserveServer({
      host: '127.0.0.1',
      port: 0,
      metrics: createAgentMetrics(source, { processMetrics: false }),
      health: createHealthCheck(source, { maxAwaitingRequests: 10_000, exporterFailureSeconds: limitSeconds }),
    });
    t.after(async () => {
      await server.close();
      await fanout.shutdown(1000);
      await receiver.stop();
    });
    const c = queues[0].counters;

    assert.equal((await get(`${server.url}/healthz`)).status, 200, 'nothing has failed yet');
    await analyze(createReadStream(repoFile('examples/demo/demo.pcap')), { config: configSchema.parse({}), stats, onSpans: fanout.onSpans });
    const unhealthy = await until(() => get(`${server.url}/healthz`), (r) => r.status === 503, 'healthz turns 503');
    const seenAt = Date.now();
    assert.ok(c.failingSince !== undefined && seenAt - c.failingSince > limitSeconds * 1000, 'not reported before the limit has passed');
    assert.match(unhealthy.body, /^exporter otlp-http failing for \d+\.\d s > limit 0\.3 s \(last failure ECONNREFUSED\)\n$/);
    const failing = parseExposition((await get(`${server.url}/metrics`)).body);
    assert.ok(valueOf(failing, 'wiretrace_exporter_failing_seconds', { exporter: 'otlp-http' }) > limitSeconds);
    assert.equal(valueOf(failing, 'wiretrace_exporter_spans_exported_total', { exporter: 'otlp-http' }), 0);

    await receiver.restart();
    const healthy = await until(() => get(`${server.url}/healthz`), (r) => r.status === 200, 'healthz back to 200');
    assert.equal(healthy.body, 'ok\n');
    assert.equal(c.failingSince, undefined);
    await fanout.forceFlush();
    const recovered = parseExposition((await get(`${server.url}/metrics`)).body);
    assert.equal(valueOf(recovered, 'wiretrace_exporter_failing_seconds', { exporter: 'otlp-http' }), 0);
    assert.equal(valueOf(recovered, 'wiretrace_exporter_spans_exported_total', { exporter: 'otlp-http' }), stats.spans.get('emitted'));
    assert.equal(valueOf(recovered, 'wiretrace_exporter_failed_attempts_total', { exporter: 'otlp-http' }), c.failedAttempts);

    const records = lines.map((l) => JSON.parse(l) as { level: string; msg: string; exporter: string; reason: string });
    const warnings = records.filter((r) => r.level === 'warn');
    assert.ok(c.failedAttempts > 3, `several failed attempts (${c.failedAttempts})`);
    assert.deepEqual(
      warnings.map((r) => r.msg),
      ['exporter otlp-http failing: ECONNREFUSED'],
      'the streak is announced once, however many attempts fail',
    );
    assert.equal(records.filter((r) => r.level === 'debug').length, c.failedAttempts - 1, 'every other failed attempt at debug level');
  });
});
