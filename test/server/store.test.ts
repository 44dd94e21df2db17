import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stats } from '../../src/model/stats.js';
import { MemoryStore } from '../../src/server/store/memory.js';
import { parseGoDurationMicros, parseTraceQuery, QueryParamError } from '../../src/server/query-params.js';
import type { StoredSpan } from '../../src/server/span.js';
import { getJson, startServer, url, type WireJson } from './helpers.js';

let ids = 0;
function span(over: Partial<StoredSpan> & { traceId?: string }): StoredSpan {
  ids++;
  return {
    traceId: over.traceId ?? ids.toString(16).padStart(32, '0'),
    spanId: ids.toString(16).padStart(16, '0'),
    parentSpanId: '',
    name: 'GET /',
    kind: 2,
    service: 'web',
    startUs: 1_000_000,
    durationUs: 1000,
    attributes: [],
    events: [],
    links: [],
    statusCode: 0,
    statusMessage: '',
    resource: [],
    scopeName: '',
    scopeVersion: '',
    traceState: '',
    flags: 1,
    ...over,
  };
}

const LIMITS = { maxSpans: 1000, maxTraces: 1000, maxAgeSeconds: 0 };

describe('search follows the Jaeger query semantics', () => {
  const store = new MemoryStore({ limits: LIMITS });
  const slow = span({ service: 'api', name: 'GET /users', startUs: 5_000_000, durationUs: 2_000_000, attributes: [{ key: 'http.response.status_code', type: 'int64', value: 500 }], statusCode: 2 });
  const fast = span({ service: 'api', name: 'GET /users', startUs: 6_000_000, durationUs: 100, attributes: [{ key: 'http.response.status_code', type: 'int64', value: 200 }] });
  const other = span({ service: 'api', name: 'POST /orders', startUs: 7_000_000, durationUs: 50_000, kind: 3, resource: [{ key: 'host.name', type: 'string', value: 'n1' }], events: [{ timeUs: 7_000_001, name: 'retry', attributes: [] }] });
  const db = span({ service: 'db', name: 'SELECT', startUs: 5_500_000, traceId: slow.traceId, parentSpanId: slow.spanId });
  store.add([slow, fast, other, db]);
  const find = (q: string): string[] => store.findTraces(parseTraceQuery(new URLSearchParams(q), 10_000_000)).map((t) => t[0].traceId);

  test('by service, most recent first, and by operation', () => {
    assert.deepEqual(find('service=api'), [other.traceId, fast.traceId, slow.traceId]);
    assert.deepEqual(find('service=api&operation=GET%20/users'), [fast.traceId, slow.traceId]);
    assert.deepEqual(find('service=nobody'), []);
  });
  test('by duration (Go durations), start and end in µs, lookback, limit', () => {
    assert.deepEqual(find('service=api&minDuration=1s'), [slow.traceId]);
    assert.deepEqual(find('service=api&maxDuration=1ms'), [fast.traceId]);
    assert.deepEqual(find('service=api&minDuration=10ms&maxDuration=1.5s'), [other.traceId]);
    assert.deepEqual(find('service=api&start=5500000&end=6500000'), [fast.traceId]);
    assert.deepEqual(find('service=api&lookback=4500ms'), [other.traceId, fast.traceId]);
    assert.deepEqual(find('service=api&limit=1'), [other.traceId]);
  });
  test('by tags: JSON object or key:value, on span tags, derived tags, process tags and log fields', () => {
    assert.deepEqual(find('service=api&tags=' + encodeURIComponent('{"http.response.status_code":"500"}')), [slow.traceId]);
    assert.deepEqual(find('service=api&tag=error:true'), [slow.traceId]);
    assert.deepEqual(find('service=api&tag=span.kind:client'), [other.traceId]);
    assert.deepEqual(find('service=api&tag=host.name:n1'), [other.traceId]);
    assert.deepEqual(find('service=api&tag=event:retry'), [other.traceId]);
    assert.deepEqual(find('service=api&tag=error:true&tag=span.kind:client'), []);
    assert.deepEqual(find('tag=http.response.status_code:200'), [fast.traceId]);
  });
  test('a trace found by one span comes back whole', () => {
    const [trace] = store.findTraces(parseTraceQuery(new URLSearchParams('service=db'), 10_000_000));
    assert.deepEqual(trace.map((s) => s.spanId).sort(), [slow.spanId, db.spanId].sort());
  });
  test('parameters Jaeger refuses are refused', () => {
    assert.throws(() => parseTraceQuery(new URLSearchParams('minDuration=fast'), 0), QueryParamError);
    assert.throws(() => parseTraceQuery(new URLSearchParams('tags=notjson'), 0), QueryParamError);
    assert.throws(() => parseTraceQuery(new URLSearchParams('tag=novalue'), 0), QueryParamError);
    assert.throws(() => parseTraceQuery(new URLSearchParams('start=yesterday'), 0), QueryParamError);
    assert.throws(() => parseTraceQuery(new URLSearchParams('minDuration=2s&maxDuration=1s'), 0), QueryParamError);
    assert.equal(parseGoDurationMicros('1h30m'), 5_400_000_000);
    assert.equal(parseGoDurationMicros('1.5ms'), 1500);
    assert.equal(parseGoDurationMicros('500us'), 500);
    assert.equal(parseGoDurationMicros('2d', true), 172_800_000_000);
  });
  test('operations by kind, and services', () => {
    assert.deepEqual(store.services(), ['api', 'db']);
    assert.deepEqual(store.operations('api'), [
      { name: 'GET /users', spanKind: 'server' },
      { name: 'POST /orders', spanKind: 'client' },
    ]);
  });
});

describe('limits evict the oldest traces first, and every eviction is counted', () => {
  test('maxTraces and maxSpans', () => {
    const stats = new Stats();
    const store = new MemoryStore({ limits: { maxSpans: 10, maxTraces: 3, maxAgeSeconds: 0 }, stats });
    const traces = Array.from({ length: 5 }, (_, i) => span({ startUs: i }));
    for (const t of traces) store.add([t]);
    assert.equal(store.traceCount, 3);
    assert.equal(store.getTrace(traces[0].traceId), undefined);
    assert.equal(store.getTrace(traces[1].traceId), undefined);
    assert.ok(store.getTrace(traces[4].traceId));
    assert.equal(stats.drops.get('server-max-traces'), 2);
    const big = Array.from({ length: 9 }, () => span({ traceId: 'ab'.repeat(16) }));
    store.add(big);
    assert.equal(store.spanCount, 10);
    // A fourth trace passes maxTraces (one evicted for it), then 11 spans pass maxSpans (one more).
    assert.equal(stats.drops.get('server-max-traces'), 3);
    assert.equal(stats.drops.get('server-max-spans'), 1);
    assert.deepEqual(store.findTraces({ service: 'web', limit: 10 }).length, 2);
    assert.equal(store.services().length, 1);
  });
  test('maxAgeSeconds, by arrival time', () => {
    let now = 1_000_000;
    const stats = new Stats();
    const store = new MemoryStore({ limits: { maxSpans: 100, maxTraces: 100, maxAgeSeconds: 60 }, stats, now: () => now });
    store.add([span({})]);
    now += 30_000;
    store.add([span({})]);
    now += 31_000;
    store.expire();
    assert.equal(store.traceCount, 1);
    assert.equal(stats.drops.get('server-max-age'), 1);
  });
  test('a span sent twice (an exporter retry) is stored once', () => {
    const stats = new Stats();
    const store = new MemoryStore({ limits: LIMITS, stats });
    const s = span({});
    assert.equal(store.add([s]), 1);
    assert.equal(store.add([{ ...s }]), 0);
    assert.equal(store.spanCount, 1);
    assert.equal(stats.spans.get('server-duplicate'), 1);
  });
});

describe('with --storage the traces are on disk and found again after a restart', () => {
  test('stop, start, query; evicted traces stay gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wt-store-'));
    try {
      const limits = { maxSpans: 1000, maxTraces: 3, maxAgeSeconds: 0 };
      const first = await startServer({ storagePath: dir, limits });
      const traces = Array.from({ length: 4 }, (_, i) => [span({ service: 'disk', startUs: 1000 + i, attributes: [{ key: 'n', type: 'int64', value: i }] })]);
      for (const t of traces) first.store.add(t);
      const child = span({ service: 'disk-child', traceId: traces[3][0].traceId, parentSpanId: traces[3][0].spanId, startUs: 2000 });
      first.store.add([child]);
      const before = await getJson(url(first, 'query', `/api/traces/${traces[3][0].traceId}`));
      await first.close();

      const second = await startServer({ storagePath: dir, limits });
      try {
        assert.equal(second.store.traceCount, 3);
        assert.equal(second.store.getTrace(traces[0][0].traceId), undefined, 'the evicted trace is not resurrected');
        const after = await getJson(url(second, 'query', `/api/traces/${traces[3][0].traceId}`));
        assert.deepEqual(after.body, before.body);
        const found = await getJson(url(second, 'query', '/api/traces?service=disk&tag=n:2'));
        assert.deepEqual(found.body.data.map((t: WireJson) => t.traceID), [traces[2][0].traceId.replace(/^0{16}/, '')]);
        assert.deepEqual((await getJson(url(second, 'query', '/api/services'))).body.data, ['disk', 'disk-child']);
        // New traces after the restart go on evicting the oldest.
        second.store.add([span({ service: 'disk', startUs: 3000 })]);
        assert.equal(second.store.getTrace(traces[1][0].traceId), undefined);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
