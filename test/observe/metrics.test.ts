import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { analyze, type LivePipeline } from '../../src/pipeline.js';
import { configSchema } from '../../src/config/schema.js';
import { Stats, type Counter } from '../../src/model/stats.js';
import { createExporters } from '../../src/export/factory.js';
import { EXPORT_LATENCY_BUCKETS_MS } from '../../src/export/queue.js';
import { createAgentMetrics, createHealthCheck, startObserveServer, type ObserveServer } from '../../src/observe/index.js';
import { fastConfig, LoopbackReceiver } from '../export/receivers.js';
import { parseExposition, seriesOf, valueOf, type Family } from './exposition.js';
import { get, promtoolProblems, promtoolSkip, repoFile, splitPcap, until } from './helpers.js';

const DEMO = repoFile('examples/demo/demo.pcap');
const TIMEOUT = repoFile('test/fixtures/http/timeout.pcap');

async function serve(stats: Stats, live: () => LivePipeline | undefined, exporters = () => [] as ReturnType<ReturnType<typeof createExporters>['fanout']['counters']>): Promise<ObserveServer> {
  const source = { stats, live, exporters };
  return startObserveServer({
    host: '127.0.0.1',
    port: 0,
    metrics: createAgentMetrics(source),
    health: createHealthCheck(source, { maxAwaitingRequests: 1, exporterFailureSeconds: 60 }),
  });
}

async function scrape(server: ObserveServer): Promise<Map<string, Family>> {
  const r = await get(`${server.url}/metrics`);
  assert.equal(r.status, 200, r.body);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(r.body);
}

/** Every series of a labelled counter, keyed by the labels that carry the Stats key. */
function seriesAsObject(families: Map<string, Family>, name: string, key: (labels: Record<string, string>) => string): Record<string, number> {
  return Object.fromEntries(seriesOf(families, name).map((s) => [key(s.labels), s.value]));
}

function counterAsObject(counter: Counter, skip: (key: string) => boolean = () => false): Record<string, number> {
  return Object.fromEntries(counter.entries().filter(([k]) => !skip(k)));
}

describe('/metrics reads the pipeline counters at scrape time', () => {
  test('the demo capture through an OTLP/HTTP exporter: every metric equals the Stats and the queue counters', async (t) => {
    const receiver = await LoopbackReceiver.start();
    const { fanout, queues } = createExporters([fastConfig({ type: 'otlp-http', endpoint: receiver.url('/v1/traces'), queue: { maxExportBatchSize: 16 } })]);
    const stats = new Stats();
    let live: LivePipeline | undefined;
    await analyze(createReadStream(DEMO), { config: configSchema.parse({}), stats, onSpans: fanout.onSpans, onPipeline: (l) => (live = l) });
    await fanout.forceFlush();
    const server = await serve(stats, () => live, () => fanout.counters());
    t.after(async () => {
      await server.close();
      await fanout.shutdown(1000);
      await receiver.stop();
    });
    const m = await scrape(server);

    assert.ok(stats.packets > 0 && stats.spans.get('emitted') > 0, 'the demo capture makes spans');
    assert.equal(valueOf(m, 'wiretrace_packets_read_total'), stats.packets);
    assert.equal(valueOf(m, 'wiretrace_bytes_read_total'), stats.bytes);
    assert.equal(valueOf(m, 'wiretrace_non_tcp_packets_total'), stats.nonTcpPackets);
    assert.equal(valueOf(m, 'wiretrace_connections_total'), stats.connections);
    assert.equal(valueOf(m, 'wiretrace_stream_gap_bytes_total'), stats.gapBytes);
    assert.equal(valueOf(m, 'wiretrace_messages_total'), stats.messages);
    assert.equal(valueOf(m, 'wiretrace_truncated_messages_total'), stats.truncatedMessages);
    assert.equal(valueOf(m, 'wiretrace_traces_total'), stats.traces);
    assert.equal(valueOf(m, 'wiretrace_error_spans_total'), stats.errorSpans);
    assert.deepEqual(seriesAsObject(m, 'wiretrace_exchanges_total', (l) => l.outcome), counterAsObject(stats.exchanges));
    assert.deepEqual(seriesAsObject(m, 'wiretrace_connections_by_protocol_total', (l) => l.protocol), counterAsObject(stats.protocols));
    assert.deepEqual(seriesAsObject(m, 'wiretrace_tcp_anomalies_total', (l) => l.kind), counterAsObject(stats.tcp));
    assert.deepEqual(seriesAsObject(m, 'wiretrace_parse_errors_total', (l) => `${l.protocol}:${l.kind}`), counterAsObject(stats.parseErrors));
    assert.deepEqual(seriesAsObject(m, 'wiretrace_drops_total', (l) => l.limit), counterAsObject(stats.drops, (k) => k.startsWith('exporter:')));
    assert.equal(valueOf(m, 'wiretrace_spans_total', { outcome: 'emitted' }), stats.spans.get('emitted'));
    assert.equal(
      seriesOf(m, 'wiretrace_spans_total').reduce((a, s) => a + s.value, 0),
      stats.spans.total(),
      'every span fate is a series',
    );
    // After the capture ends every connection is closed and nothing awaits an answer.
    assert.equal(valueOf(m, 'wiretrace_connections_tracked'), 0);
    assert.equal(valueOf(m, 'wiretrace_requests_awaiting_response'), 0);

    const c = queues[0].counters;
    const exporter = { exporter: 'otlp-http' };
    assert.equal(c.exported, stats.spans.get('emitted'), 'every emitted span reached the receiver');
    assert.equal(valueOf(m, 'wiretrace_exporter_spans_accepted_total', exporter), c.accepted);
    assert.equal(valueOf(m, 'wiretrace_exporter_spans_exported_total', exporter), c.exported);
    assert.equal(valueOf(m, 'wiretrace_exporter_failed_attempts_total', exporter), 0);
    assert.equal(valueOf(m, 'wiretrace_exporter_queue_length', exporter), 0);
    assert.equal(valueOf(m, 'wiretrace_exporter_failing_seconds', exporter), 0);
    assert.equal(receiver.requests.length, c.exportedBatches);
    assert.ok(c.exportedBatches > 1, 'several batches, so the histogram has several observations');

    // The histogram: cumulative buckets rebuilt from the queue's per-bucket counts, in seconds.
    const name = 'wiretrace_exporter_export_latency_seconds';
    assert.equal(valueOf(m, `${name}_count`, exporter), c.exportedBatches);
    assert.ok(Math.abs(valueOf(m, `${name}_sum`, exporter) - c.latency.sumMs / 1000) < 1e-9);
    let cumulative = 0;
    EXPORT_LATENCY_BUCKETS_MS.forEach((ms, i) => {
      cumulative += c.latency.bucketCounts[i];
      assert.equal(valueOf(m, `${name}_bucket`, { ...exporter, le: String(ms / 1000) }), cumulative, `le=${ms / 1000}`);
    });
    assert.equal(valueOf(m, `${name}_bucket`, { ...exporter, le: '+Inf' }), c.exportedBatches);

    assert.equal(valueOf(m, 'wiretrace_build_info', { version: (await import('../../src/version.js')).VERSION }), 1);
    assert.ok(m.has('process_resident_memory_bytes'), "prom-client's process metrics are in the same registry");
  });

  test('promtool accepts the exposition', async (t) => {
    const skip = promtoolSkip();
    if (skip) return t.skip(skip);
    const receiver = await LoopbackReceiver.start();
    receiver.replies.push({ status: 503 });
    const { fanout } = createExporters([fastConfig({ type: 'otlp-http', endpoint: receiver.url('/v1/traces') })]);
    const stats = new Stats();
    await analyze(createReadStream(DEMO), { config: configSchema.parse({}), stats, onSpans: fanout.onSpans });
    await fanout.forceFlush();
    const server = await serve(stats, () => undefined, () => fanout.counters());
    const body = (await get(`${server.url}/metrics`)).body;
    await server.close();
    await fanout.shutdown(1000);
    await receiver.stop();
    assert.deepEqual(promtoolProblems(body), []);
  });

  test('a receiver that refuses for a while: failed attempts, retries and drops are the queue counters, not double-counted in drops', async (t) => {
    const stats = new Stats();
    const receiver = await LoopbackReceiver.start();
    // Two attempts per batch: the first batch fails twice and is given up, the second fails once and then arrives.
    receiver.replies.push({ status: 503 }, { status: 503 }, { status: 503 });
    const { fanout, queues } = createExporters([
      fastConfig({ type: 'otlp-http', endpoint: receiver.url('/v1/traces'), queue: { maxExportBatchSize: 16 }, retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 5 } }),
    ], { stats });
    await analyze(createReadStream(DEMO), { config: configSchema.parse({}), stats, onSpans: fanout.onSpans });
    await fanout.forceFlush();
    const server = await serve(stats, () => undefined, () => fanout.counters());
    t.after(async () => {
      await server.close();
      await fanout.shutdown(1000);
      await receiver.stop();
    });
    const m = await scrape(server);
    const c = queues[0].counters;
    const exporter = { exporter: 'otlp-http' };
    assert.equal(c.failedAttempts, 3);
    assert.equal(c.dropped['retries-exhausted'], 16);
    assert.equal(valueOf(m, 'wiretrace_exporter_failed_attempts_total', exporter), c.failedAttempts);
    assert.equal(valueOf(m, 'wiretrace_exporter_retries_total', exporter), c.retries);
    assert.equal(valueOf(m, 'wiretrace_exporter_spans_exported_total', exporter), c.exported);
    assert.equal(c.exported + 16, stats.spans.get('emitted'));
    for (const [reason, n] of Object.entries(c.dropped)) {
      assert.equal(valueOf(m, 'wiretrace_exporter_spans_dropped_total', { ...exporter, reason }), n, reason);
    }
    assert.equal(stats.drops.get('exporter:otlp-http:retries-exhausted'), 16, 'the queue also counts into Stats');
    assert.ok(!seriesOf(m, 'wiretrace_drops_total').some((s) => s.labels.limit.startsWith('exporter:')), 'but /metrics shows exporter drops once, with their own labels');
  });

  test('live gauges while the capture is being read: connections tracked and requests awaiting a response', async (t) => {
    // timeout.pcap: after packet 22, GET /slow (connection 0) and GET /never (connection 1) both await their response.
    const { head, tail } = splitPcap(readFileSync(TIMEOUT), 22);
    const input = new PassThrough();
    const stats = new Stats();
    let live: LivePipeline | undefined;
    const done = analyze(input, { config: configSchema.parse({}), stats, onSpans: () => {}, onPipeline: (l) => (live = l) });
    const server = await serve(stats, () => live);
    t.after(() => server.close());

    input.write(head);
    await until(() => stats.packets, (n) => n === 22, 'first 22 packets read');
    let m = await scrape(server);
    assert.equal(valueOf(m, 'wiretrace_packets_read_total'), 22);
    assert.equal(valueOf(m, 'wiretrace_connections_tracked'), 2);
    assert.equal(valueOf(m, 'wiretrace_requests_awaiting_response'), 2);

    input.write(tail);
    await until(() => stats.packets, (n) => n === 30, 'every packet read');
    m = await scrape(server);
    assert.equal(valueOf(m, 'wiretrace_requests_awaiting_response'), 1, '/slow was answered; /never still waits');

    input.end();
    await done;
    m = await scrape(server);
    assert.equal(valueOf(m, 'wiretrace_connections_tracked'), 0);
    assert.equal(valueOf(m, 'wiretrace_requests_awaiting_response'), 0);
    assert.equal(valueOf(m, 'wiretrace_exchanges_total', { outcome: 'incomplete' }) + valueOf(m, 'wiretrace_exchanges_total', { outcome: 'complete' }), stats.exchanges.total() - stats.exchanges.get('timeout') - stats.exchanges.get('late-response'));
  });
});

describe('the strict exposition reader used above rejects what Prometheus would', () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 2\n';
  const cases: Array<[string, string]> = [
    ['no final line feed', ok.trimEnd()],
    ['a sample without a TYPE', 'b 1\n'],
    ['a bad label escape', '# TYPE a gauge\na{x="\\q"} 1\n'],
    ['a label value not quoted', '# TYPE a gauge\na{x=1} 1\n'],
    ['the same series twice', '# TYPE a gauge\na 1\na 2\n'],
    ['a family split by another', '# TYPE a gauge\na{x="1"} 1\n# TYPE b gauge\nb 1\na{x="2"} 1\n'],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n'],
    ['a value that is not a float', '# TYPE a gauge\na one\n'],
    ['buckets that are not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
    ['a +Inf bucket that is not the count', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
  ];
  test('accepts a well-formed exposition', () => {
    assert.equal(valueOf(parseExposition(ok), 'a_total', { x: '1' }), 2);
  });
  for (const [what, text] of cases) {
    test(`rejects ${what}`, () => assert.throws(() => parseExposition(text)));
  }
});
