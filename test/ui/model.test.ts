import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Span, Trace } from '../../src/ui/jaeger.js';
import { formatDuration, niceTicks } from '../../src/ui/format.js';
import { edgeKey, layered } from '../../src/ui/layout.js';
import { buildTree, parseDuration, parseTagFilter, summaryMatches, type SearchState } from '../../src/ui/model.js';

function span(id: string, parent: string | undefined, start: number, extra: Partial<Span> = {}): Span {
  return {
    traceID: 't',
    spanID: id,
    operationName: `op-${id}`,
    references: parent ? [{ refType: 'CHILD_OF', traceID: 't', spanID: parent }] : [],
    startTime: start,
    duration: 10,
    tags: [],
    logs: [],
    processID: 'p1',
    warnings: null,
    ...extra,
  };
}
const traceOf = (spans: Span[]): Trace => ({ traceID: 't', spans, processes: { p1: { serviceName: 'svc', tags: [] } }, warnings: null });

test('tree order: parent before children, siblings by start time, whatever order the spans come in', () => {
  const spans = [span('a', undefined, 0), span('b', 'a', 5), span('c', 'a', 2), span('d', 'c', 3), span('e', 'b', 6)];
  fc.assert(
    fc.property(fc.shuffledSubarray(spans, { minLength: spans.length }), (shuffled) => {
      const tree = buildTree(traceOf(shuffled));
      assert.deepEqual(
        tree.ordered.map((n) => n.span.spanID),
        ['a', 'c', 'd', 'b', 'e'],
      );
      assert.deepEqual(
        tree.ordered.map((n) => n.depth),
        [0, 1, 2, 1, 2],
      );
      assert.equal(tree.depth, 3);
    }),
  );
});

test('a span whose parent is missing is a root; a parent cycle is cut, every span shown once', () => {
  const tree = buildTree(traceOf([span('a', undefined, 0), span('x', 'gone', 1), span('p', 'q', 2), span('q', 'p', 3)]));
  assert.equal(tree.ordered.length, 4);
  assert.deepEqual(new Set(tree.ordered.map((n) => n.span.spanID)), new Set(['a', 'x', 'p', 'q']));
  assert.ok(tree.roots.some((r) => r.span.spanID === 'x'));
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }), fc.integer({ min: 0, max: 100 })), { maxLength: 40 }), (raw) => {
      const t = buildTree(traceOf(raw.map(([id, parent, start]) => span(String(id), parent === undefined ? undefined : String(parent), start))));
      assert.equal(t.ordered.length, raw.length);
      for (const n of t.ordered) if (n.parent) assert.ok(n.parent.index < n.index, 'parent first');
    }),
  );
});

test('errors: the error tag or an ERROR status', () => {
  const t = buildTree(
    traceOf([
      span('a', undefined, 0, { tags: [{ key: 'error', type: 'bool', value: true }] }),
      span('b', 'a', 1, { tags: [{ key: 'otel.status_code', type: 'string', value: 'ERROR' }] }),
      span('c', 'a', 2, { tags: [{ key: 'otel.status_code', type: 'string', value: 'OK' }] }),
    ]),
  );
  assert.deepEqual(
    t.ordered.map((n) => n.isError),
    [true, true, false],
  );
  assert.equal(t.errorCount, 2);
});

test('tag filters, durations and ticks', () => {
  assert.deepEqual(parseTagFilter('http.response.status_code=502  error=true name="a b"'), {
    pairs: [
      ['http.response.status_code', '502'],
      ['error', 'true'],
      ['name', 'a b'],
    ],
  });
  assert.match(parseTagFilter('oops').error ?? '', /"oops" is not key=value/);
  assert.equal(parseDuration('1.5s'), 1_500_000);
  assert.equal(parseDuration('1m30s'), 90_000_000);
  assert.equal(parseDuration('250us'), 250);
  assert.equal(parseDuration('fast'), undefined);
  assert.deepEqual(niceTicks(28_600), [0, 5000, 10000, 15000, 20000, 25000]);
  assert.equal(formatDuration(523), '523µs');
  assert.equal(formatDuration(28_600), '28.6ms');
  assert.equal(formatDuration(1_240_000), '1.24s');
});

test('a live summary matches a search by service, time and duration; operation and tags leave it open', () => {
  const q: SearchState = { service: 'api', operation: '', tags: '', lookback: '1h', start: '', end: '', minDuration: '', maxDuration: '', limit: '20', from: '', to: '', node: '' };
  const now = 1_000_000_000;
  const s = { traceId: 'a'.repeat(32), rootService: 'api', rootName: 'GET /', spanCount: 2, errorCount: 0, services: ['api', 'db'], startUs: now * 1000 - 5e6, durationUs: 2000 };
  assert.equal(summaryMatches(s, q, now), true);
  assert.equal(summaryMatches(s, { ...q, service: 'web' }, now), false);
  assert.equal(summaryMatches(s, { ...q, minDuration: '3ms' }, now), false);
  assert.equal(summaryMatches(s, { ...q, lookback: '5m' }, now + 3600_000), false);
  assert.equal(summaryMatches(s, { ...q, operation: 'GET /' }, now), 'maybe');
});

test('layout: callers left of callees, a cycle broken into one back edge', () => {
  const l = layered({
    nodes: ['web', 'api', 'db', 'cache', 'a', 'b'],
    edges: [
      { from: 'web', to: 'api' },
      { from: 'api', to: 'db' },
      { from: 'api', to: 'cache' },
      { from: 'web', to: 'db' },
      { from: 'a', to: 'b' },
      { from: 'b', to: 'a' },
    ],
  });
  const layer = (n: string): number => l.position.get(n)!.layer;
  assert.ok(layer('web') < layer('api') && layer('api') < layer('db') && layer('api') < layer('cache'));
  assert.equal([edgeKey('a', 'b'), edgeKey('b', 'a')].filter((k) => l.backEdges.has(k)).length, 1);
  assert.equal(l.layers.flat().length, 6);
});
