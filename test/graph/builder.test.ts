import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ServiceGraphBuilder } from '../../src/graph/builder.js';
import type { ServiceGraph } from '../../src/graph/types.js';
import { Stats } from '../../src/model/stats.js';
import { shopScenario, seeded } from './scenario.js';
import { SpanFactory, absentParent } from './spans.js';

function edgeCounts(graph: ServiceGraph): Map<string, { requests: number; errors: number }> {
  return new Map(graph.edges.map((e) => [`${e.from} -> ${e.to}`, { requests: e.requests, errors: e.errors }]));
}

function build(batches: readonly (readonly ReadableSpan[])[], options?: ConstructorParameters<typeof ServiceGraphBuilder>[0]): ServiceGraph {
  const b = new ServiceGraphBuilder(options);
  for (const batch of batches) b.add(batch);
  return b.build();
}

describe('ServiceGraphBuilder', () => {
  test('has exactly the edges the services called, with counts and errors equal to the exchanges made', () => {
    const { batches, expected } = shopScenario();
    const graph = build(batches);
    assert.deepEqual(new Map([...edgeCounts(graph)].sort()), new Map([...expected].sort()));
    const kinds = Object.fromEntries(graph.nodes.map((n) => [n.name, n.kind]));
    assert.deepEqual(kinds, {
      '127.0.0.1': 'external',
      '127.0.0.1:6379': 'database',
      'api.payments.example:443': 'external',
      cart: 'service',
      catalog: 'service',
      checkout: 'service',
      frontend: 'service',
      payments: 'service',
      'postgresql@db.internal': 'database',
      search: 'service',
    });
    assert.equal(graph.unknownCallers, 0);
  });

  test('the same graph whether spans come one trace per batch, all at once, or shuffled across batches within the window', () => {
    const { batches } = shopScenario(30);
    const perTrace = build(batches);
    const all = build([batches.flat()]);
    const rand = seeded(3);
    const shuffled = batches.flat().sort(() => rand() - 0.5);
    const chunks: ReadableSpan[][] = [];
    for (let i = 0; i < shuffled.length; i += 7) chunks.push(shuffled.slice(i, i + 7));
    const scattered = build(chunks, { pendingWindowSeconds: 3600 });
    assert.deepEqual(all, perTrace);
    assert.deepEqual(edgeCounts(scattered), edgeCounts(perTrace));
  });

  test('with client spans turned off, a server span under the caller’s server span is still an edge caller → callee', () => {
    const f = new SpanFactory();
    const root = f.call({ from: '10.0.0.9', fromExternal: true, to: 'frontend', startMs: 0, durationMs: 50, clientSpan: false });
    const api = f.call({ from: 'frontend', to: 'api', parent: root, startMs: 5, durationMs: 30, clientSpan: false });
    f.call({ from: 'api', to: 'users', parent: api, startMs: 6, durationMs: 10, clientSpan: false, status: 503 });
    // A caller whose own span was never captured (its id came in the request): served, but no caller to draw.
    f.call({ from: 'ghost', to: 'users', parent: absentParent(9, 9), startMs: 60, durationMs: 5, clientSpan: false });
    const spans = f.take();
    assert.equal(spans.filter((s) => s.kind === SpanKind.CLIENT).length, 0);
    const graph = build([spans]);
    assert.deepEqual(edgeCounts(graph), new Map([
      ['10.0.0.9 -> frontend', { requests: 1, errors: 0 }],
      ['api -> users', { requests: 1, errors: 1 }],
      ['frontend -> api', { requests: 1, errors: 0 }],
    ]));
    assert.equal(graph.unknownCallers, 1);
    assert.equal(graph.nodes.find((n) => n.name === 'users')?.requests, 2);
    assert.equal(graph.nodes.find((n) => n.name === '10.0.0.9')?.kind, 'external');
  });

  test('a client call nobody answers goes to a node named from peer.service, db.system + address, or address:port', () => {
    const f = new SpanFactory();
    const peer = (name: string, attributes: Record<string, string | number>, error?: string) =>
      f.span({ service: 'worker', kind: SpanKind.CLIENT, name, startMs: 0, durationMs: 4, attributes, error });
    peer('charge', { 'peer.service': 'stripe', 'server.address': 'api.stripe.com', 'server.port': 443 });
    peer('SELECT', { 'db.system': 'mysql', 'server.address': 'db1', 'server.port': 3306 });
    peer('GET', { 'server.address': 'cache', 'server.port': 11211 });
    peer('GET', { 'server.address': '::1', 'server.port': 9200 }, 'timeout');
    peer('GET', { 'server.address': '::1', 'server.port': 9200 });
    const graph = build([f.take()]);
    const kinds = Object.fromEntries(graph.nodes.map((n) => [n.name, n.kind]));
    assert.deepEqual(kinds, { stripe: 'external', 'mysql@db1': 'database', 'cache:11211': 'database', '[::1]:9200': 'external', worker: 'service' });
    const search = graph.edges.find((e) => e.to === '[::1]:9200');
    assert.deepEqual([search?.requests, search?.errors], [2, 1]);
    assert.deepEqual(graph.nodes.find((n) => n.name === '[::1]:9200')?.requests, 2);
  });

  test('an edge fails when either side says so: a 404 fails the caller, a 500 fails both', () => {
    const f = new SpanFactory();
    for (const status of [200, 200, 404, 500]) f.call({ from: 'web', to: 'api', startMs: 0, durationMs: 10, status });
    const graph = build([f.take()]);
    assert.deepEqual(edgeCounts(graph).get('web -> api'), { requests: 4, errors: 2 });
    // The callee served 4 requests and failed one of them (its SERVER span is an error for 5xx only).
    assert.deepEqual(
      graph.nodes.filter((n) => n.name === 'api').map((n) => [n.requests, n.errors]),
      [[4, 1]],
    );
  });

  test('rate is requests over the observed window; latency and bytes come from the caller’s view', () => {
    const f = new SpanFactory();
    for (let i = 0; i < 10; i++) f.call({ from: 'web', to: 'api', startMs: i * 1000, durationMs: 100 + i, requestBytes: 10, responseBytes: 1000 });
    const graph = build([f.take()]);
    const edge = graph.edges[0];
    assert.equal(graph.window.end - graph.window.start, 9109);
    assert.equal(edge.ratePerSecond, 10 / 9.109);
    assert.deepEqual([edge.bytesSent, edge.bytesReceived], [100, 10_000]);
    assert.ok(Math.abs(edge.latency.p50 - 104) <= 104 * 0.02, `p50 ${edge.latency.p50}`);
    assert.equal(edge.latency.p99, 109);
  });

  test('edge percentiles are within 2% of the exact values on random latencies', () => {
    const f = new SpanFactory();
    const rand = seeded(11);
    const durations: number[] = [];
    for (let i = 0; i < 500; i++) {
      const d = Math.exp(rand() * 8);
      durations.push(d);
      f.call({ from: 'web', to: 'api', startMs: i, durationMs: d });
    }
    const edge = build([f.take()]).edges[0];
    const sorted = durations.sort((a, b) => a - b);
    for (const [q, got] of [[0.5, edge.latency.p50], [0.9, edge.latency.p90], [0.99, edge.latency.p99]] as const) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1];
      assert.ok(Math.abs(got - exact) <= exact * 0.02, `p${q * 100}: ${got} vs ${exact}`);
    }
  });

  test('maps are bounded: nodes and edges past their limits are counted, in the graph and in Stats', () => {
    const f = new SpanFactory();
    for (let i = 0; i < 6; i++) f.call({ from: 'web', to: `svc${i}`, startMs: i, durationMs: 5 });
    const stats = new Stats();
    const graph = build([f.take()], { maxNodes: 4, maxEdges: 2, stats });
    assert.equal(graph.nodes.length, 4);
    assert.equal(graph.edges.length, 2);
    // web + svc0..svc2 fit; svc3..svc5 are refused (3 spans, 3 requests); svc2's edge is the third edge.
    assert.deepEqual(graph.dropped, { nodeLimit: 6, edgeLimit: 1, pendingLimit: 0 });
    assert.equal(stats.drops.get('graph-max-nodes'), 6);
    assert.equal(stats.drops.get('graph-max-edges'), 1);
  });

  test('the pending window is bounded: spans pushed out early are counted and resolved alone', () => {
    const f = new SpanFactory();
    for (let i = 0; i < 5; i++) f.span({ service: 'web', kind: SpanKind.CLIENT, name: 'GET', startMs: i, durationMs: 1, attributes: { 'server.address': 'x', 'server.port': 80 } });
    const stats = new Stats();
    const graph = build([f.take()], { maxPending: 2, stats });
    assert.equal(graph.dropped.pendingLimit, 3);
    assert.equal(stats.drops.get('graph-max-pending'), 3);
    assert.equal(graph.edges[0].requests, 5, 'every call is still counted once');
  });

  test('a server span arriving a batch before its client is paired; one past the window is not', () => {
    const f = new SpanFactory();
    f.call({ from: 'web', to: 'api', startMs: 0, durationMs: 10 });
    const byKind = (spans: ReadableSpan[]) => [spans.find((s) => s.kind === SpanKind.SERVER)!, spans.find((s) => s.kind === SpanKind.CLIENT)!];
    const [server, client] = byKind(f.take());
    const paired = build([[server], [client]]);
    assert.deepEqual(edgeCounts(paired), new Map([['web -> api', { requests: 1, errors: 0 }]]));

    f.call({ from: 'web', to: 'api', startMs: 0, durationMs: 10 });
    const [late, early] = byKind(f.take());
    f.span({ service: 'web', kind: SpanKind.INTERNAL, name: 'tick', startMs: 120_000, durationMs: 1 });
    const b = new ServiceGraphBuilder({ pendingWindowSeconds: 30 });
    b.add([early]);
    b.add(f.take()); // time moves two minutes on: the client waited long enough
    b.add([late]);
    const graph = b.build();
    assert.equal(edgeCounts(graph).get('web -> api'), undefined);
    assert.equal(edgeCounts(graph).get('web -> api:8080')?.requests, 1, 'the unanswered client became a call to its address');
    assert.equal(graph.unknownCallers, 1);
  });

  test('build() does not consume what is still pending: building twice, or mid-stream, changes nothing', () => {
    const { batches } = shopScenario(10);
    const b = new ServiceGraphBuilder();
    b.add(batches[0]);
    const early = b.build();
    assert.deepEqual(b.build(), early);
    for (const batch of batches.slice(1)) b.add(batch);
    assert.deepEqual(b.build(), build(batches));
  });

  test('no spans: an empty graph with an empty window', () => {
    assert.deepEqual(build([]), { nodes: [], edges: [], window: { start: 0, end: 0 }, unknownCallers: 0, dropped: { nodeLimit: 0, edgeLimit: 0, pendingLimit: 0 } });
  });
});
