import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { parse } from 'yaml';
import { ServiceGraphBuilder } from '../../src/graph/builder.js';
import type { ServiceGraph } from '../../src/graph/types.js';
import { graphHandler, readableFromStored } from '../../src/server/graph-endpoint.js';
import { storedFromReadable } from '../../src/server/convert/readable.js';
import { TraceServer } from '../../src/server/index.js';
import { analyzeFile, serviceOf } from '../helpers/analyze.js';
import { repoRoot } from '../helpers/cli.js';

/*
 * /api/graph is the agent's own service graph, computed over the store: the
 * same demo capture gives the same nodes, edges, counts and latencies
 * whether the graph is built from the pipeline's spans directly or from
 * what the trace server stored of them.
 */

let spans: ReadableSpan[] = [];
let server: TraceServer;
let base = '';

async function get(path: string): Promise<{ status: number; body: { data: unknown; errors: Array<{ msg: string }> | null } }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as { data: unknown; errors: Array<{ msg: string }> | null } };
}

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= Math.max(0.002, Math.abs(b) * 0.01), `${what}: ${a} vs ${b}`);

describe('/api/graph and /api/graph/traces over the demo capture', () => {
  before(async () => {
    const config = parse(readFileSync(join(repoRoot, 'examples', 'demo', 'wiretrace.yaml'), 'utf8')) as Record<string, unknown>;
    ({ spans } = await analyzeFile(join(repoRoot, 'examples', 'demo', 'demo.pcap'), config));
    server = await TraceServer.start({
      host: '127.0.0.1',
      ports: { otlpGrpc: -1, otlpHttp: -1, zipkin: -1, jaegerThrift: -1, query: 0 },
      limits: { maxSpans: 100_000, maxTraces: 10_000, maxAgeSeconds: 0 },
      maxBodyBytes: 1 << 20,
      apiRoutes: (store) => [graphHandler({ store })],
    });
    server.addReadableSpans(spans);
    base = `http://127.0.0.1:${server.ports().query}`;
  });
  after(() => server.close());

  test('a stored span reads back as the ReadableSpan the graph builder saw', () => {
    for (const span of spans) {
      const back = readableFromStored(storedFromReadable(span));
      assert.equal(back.kind, span.kind);
      assert.equal(back.status.code, span.status.code);
      assert.deepEqual(back.spanContext().spanId, span.spanContext().spanId);
      assert.equal(back.parentSpanContext?.spanId, span.parentSpanContext?.spanId);
      assert.equal(back.resource.attributes['service.name'], serviceOf(span));
      for (const [k, v] of Object.entries(span.attributes)) if (typeof v !== 'object') assert.equal(back.attributes[k], v, k);
    }
  });

  test('the graph over the store equals the graph built from the pipeline spans', async () => {
    const builder = new ServiceGraphBuilder();
    builder.add(spans);
    const direct = builder.build();
    const { status, body } = await get(`/api/graph?lookback=${Date.now()}`);
    assert.equal(status, 200);
    const served = body.data as ServiceGraph;
    assert.deepEqual(
      served.nodes.map((n) => [n.id, n.kind, n.requests, n.errors]),
      direct.nodes.map((n) => [n.id, n.kind, n.requests, n.errors]),
    );
    assert.deepEqual(
      served.edges.map((e) => [e.from, e.to, e.requests, e.errors, e.bytesSent, e.bytesReceived]),
      direct.edges.map((e) => [e.from, e.to, e.requests, e.errors, e.bytesSent, e.bytesReceived]),
    );
    for (const [i, e] of served.edges.entries()) {
      close(e.latency.p99, direct.edges[i].latency.p99, `${e.from}→${e.to} p99`);
      close(e.ratePerSecond, direct.edges[i].ratePerSecond, `${e.from}→${e.to} rate`);
    }
    assert.equal(served.unknownCallers, direct.unknownCallers);
    assert.ok(served.edges.some((e) => e.from === 'orders' && e.to === 'payments' && e.errors === 1), 'the 502 from payments');
  });

  test('the traces behind an edge are exactly those with that call', async () => {
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const expected = new Set(
      spans
        .filter((s) => serviceOf(s) === 'payments' && s.parentSpanContext && byId.has(s.parentSpanContext.spanId) && serviceOf(byId.get(s.parentSpanContext.spanId)!) === 'orders')
        .map((s) => s.spanContext().traceId),
    );
    assert.ok(expected.size > 0);
    const { body } = await get(`/api/graph/traces?from=orders&to=payments&lookback=${Date.now()}&limit=100`);
    const got = (body.data as Array<{ traceID: string }>).map((t) => t.traceID.padStart(32, '0'));
    assert.deepEqual(new Set(got), expected);
    const node = await get(`/api/graph/traces?node=payments&lookback=${Date.now()}&limit=100`);
    assert.deepEqual(new Set((node.body.data as Array<{ traceID: string }>).map((t) => t.traceID.padStart(32, '0'))), expected);
    const limited = await get(`/api/graph/traces?node=frontend&lookback=${Date.now()}&limit=3`);
    assert.equal((limited.body.data as unknown[]).length, 3);
  });

  test('a window before the capture is empty; bad parameters are a 400 in Jaeger\'s envelope', async () => {
    const firstMs = Math.min(...spans.map((s) => s.startTime[0] * 1e3));
    const empty = await get(`/api/graph?endTs=${firstMs - 60_000}&lookback=1h`);
    assert.deepEqual((empty.body.data as ServiceGraph).nodes, []);
    const missing = await get('/api/graph/traces?from=orders');
    assert.equal(missing.status, 400);
    assert.match(missing.body.errors?.[0].msg ?? '', /'node' or both 'from' and 'to'/);
    assert.equal((await get('/api/graph?endTs=soon')).status, 400);
  });
});
