import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { TraceAssembler } from '../../src/correlate/assembler.js';
import { extractTraceContext } from '../../src/correlate/context.js';
import type { Exchange, ExchangeOutcome } from '../../src/model/exchange.js';
import { Stats } from '../../src/model/stats.js';
import { at, config, connection, exchange } from './exchange-factory.js';

const HOSTS = ['127.0.0.1', '::1', '10.0.0.1', '10.0.0.2', '10.0.0.3', '192.0.2.9'];
const TRACES = ['4bf92f3577b34da6a3ce929d0e0e4736', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '0000000000000000a3ce929d0e0e4736'];
const PARENTS = ['00f067aa0ba902b7', '1111111111111111', 'b7ad6b7169203331', '0000000000000000'];

const contextHeader = fc.oneof(
  fc.tuple(fc.constantFrom(...TRACES), fc.constantFrom(...PARENTS)).map(([t, p]): [string, string] => ['traceparent', `00-${t}-${p}-01`]),
  fc.tuple(fc.constantFrom(...TRACES), fc.constantFrom(...PARENTS)).map(([t, p]): [string, string] => ['b3', `${t}-${p}-1`]),
  fc.tuple(fc.constantFrom(...TRACES), fc.constantFrom(...PARENTS)).map(([t, p]): [string, string] => ['uber-trace-id', `${t}:${p}:0:1`]),
  fc.tuple(fc.constantFrom('traceparent', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'uber-trace-id', 'x-request-id', 'x-span-id', 'baggage', 'host'), fc.string({ maxLength: 60 })),
);

interface ExchangeArb {
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
  connection: number;
  start: number;
  duration: number;
  outcome: ExchangeOutcome;
  status: number;
  headers: Array<[string, string]>;
  target: string;
}

const exchangeArb: fc.Arbitrary<ExchangeArb> = fc.record({
  client: fc.constantFrom(...HOSTS),
  clientPort: fc.integer({ min: 1024, max: 1030 }),
  server: fc.constantFrom(...HOSTS),
  serverPort: fc.constantFrom(80, 3001, 3002),
  connection: fc.integer({ min: 0, max: 5 }),
  start: fc.integer({ min: 0, max: 3000 }),
  duration: fc.integer({ min: 0, max: 800 }),
  outcome: fc.constantFrom<ExchangeOutcome>('complete', 'complete', 'complete', 'timeout', 'incomplete', 'orphan'),
  status: fc.constantFrom(200, 204, 404, 500, 503),
  headers: fc.array(contextHeader, { maxLength: 4 }),
  target: fc.oneof(fc.constantFrom('/', '/a/1', '/b?token=x', '*', 'http://u:p@h/x'), fc.string({ maxLength: 20 })),
});

function build(arbs: ExchangeArb[]): Exchange[] {
  const sequences = new Map<string, number>();
  return arbs.map((a) => {
    const id = `p-${a.connection}-${a.client}-${a.clientPort}-${a.server}-${a.serverPort}`;
    const seq = sequences.get(id) ?? 0;
    sequences.set(id, seq + 1);
    const fmt = (h: string, p: number) => (h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`);
    return exchange({
      conn: connection(fmt(a.client, a.clientPort), fmt(a.server, a.serverPort), id),
      seq,
      target: a.target,
      headers: a.headers,
      status: a.status,
      outcome: a.outcome,
      start: a.start,
      end: a.start + a.duration,
    });
  });
}

interface Feed {
  exchanges: Exchange[];
  /** Ticks (ms) interleaved after the exchange at the same index. */
  ticks: Array<number | undefined>;
}

function run(feed: Feed, input: Parameters<typeof config>[0]) {
  const stats = new Stats();
  const batches: ReadableSpan[][] = [];
  const a = new TraceAssembler({ config: config(input), stats, onSpans: (s) => batches.push(s), scopeVersion: 'p' });
  feed.exchanges.forEach((e, i) => {
    a.onExchange(e);
    const tick = feed.ticks[i];
    if (tick !== undefined) {
      const t = at(tick);
      a.onTick(t[0], t[1]);
    }
  });
  a.finish();
  return { batches, stats, held: a.heldCount };
}

function propagatedIds(exchanges: Exchange[]): Set<string> {
  const ids = new Set<string>();
  for (const e of exchanges) {
    const c = e.request ? extractTraceContext(e.request.headers, new Stats()) : undefined;
    if (c) ids.add(c.parentSpanId);
  }
  return ids;
}

function fingerprint(batches: ReadableSpan[][]): string {
  return batches
    .flat()
    .map((s) => `${s.kind}/${s.spanContext().traceId}/${s.spanContext().spanId}/${s.parentSpanContext?.spanId ?? '-'}/${String(s.resource.attributes['service.name'])}`)
    .sort()
    .join('\n');
}

const feedArb = fc
  .array(exchangeArb, { minLength: 1, maxLength: 25 })
  .chain((arbs) =>
    fc.record({
      arbs: fc.constant(arbs),
      // Mostly in order of completion (as the pairing stage delivers), sometimes shuffled.
      shuffled: fc.boolean(),
      ticks: fc.array(fc.option(fc.integer({ min: 0, max: 6000 }), { nil: undefined, freq: 3 }), { minLength: arbs.length, maxLength: arbs.length }),
      clientSpans: fc.boolean(),
      window: fc.constantFrom(0.05, 0.5, 2),
    }),
  )
  .map(({ arbs, shuffled, ticks, clientSpans, window }) => {
    let exchanges = build(arbs);
    if (!shuffled) exchanges = exchanges.sort((a, b) => a.end[0] - b.end[0] || a.end[1] - b.end[1]);
    return { feed: { exchanges, ticks }, clientSpans, window };
  });

describe('span assembly properties', () => {
  test('arbitrary exchanges never throw; every parent is in the same emission or a propagated id; ids deterministic', () => {
    fc.assert(
      fc.property(feedArb, ({ feed, clientSpans, window }) => {
        const input = { spans: { clientSpans, linkWindowSeconds: window, timeoutSeconds: 1 } };
        const { batches, stats, held } = run(feed, input);
        const propagated = propagatedIds(feed.exchanges);
        const all = batches.flat();
        assert.equal(held, 0);
        assert.equal(all.length, feed.exchanges.length * (clientSpans ? 2 : 1), 'every exchange becomes spans');
        assert.equal(stats.spans.get('emitted'), all.length);

        const keys = new Set(all.map((s) => `${s.spanContext().traceId}/${s.spanContext().spanId}`));
        assert.equal(keys.size, all.length, 'no two spans share trace and span id');

        for (const batch of batches) {
          // Span ids are unique within a trace; a propagated id may recur in another trace.
          const key = (trace: string, span: string) => `${trace}/${span}`;
          const byKey = new Map(batch.map((s) => [key(s.spanContext().traceId, s.spanContext().spanId), s]));
          for (const s of batch) {
            const parent = s.parentSpanContext;
            if (parent === undefined) continue;
            assert.equal(parent.traceId, s.spanContext().traceId, 'a parent is in the same trace');
            const inBatch = byKey.get(key(parent.traceId, parent.spanId));
            assert.ok(inBatch !== undefined || propagated.has(parent.spanId), `parent ${parent.spanId} of ${s.name} is neither emitted with it nor propagated`);
            // No cycles: walking up within the batch ends.
            let steps = 0;
            for (let p = inBatch; p?.parentSpanContext; p = byKey.get(key(p.parentSpanContext.traceId, p.parentSpanContext.spanId))) {
              assert.ok(++steps <= batch.length, 'parent chain has a cycle');
            }
          }
          for (const s of batch) {
            assert.ok(s.endTime[0] > s.startTime[0] || (s.endTime[0] === s.startTime[0] && s.endTime[1] >= s.startTime[1]));
          }
        }

        assert.equal(fingerprint(run(feed, input).batches), fingerprint(batches), 'same input, same ids and parents');
      }),
      { numRuns: 300 },
    );
  });

  test('with a tiny held limit, everything is still emitted once and parents stay resolvable', () => {
    fc.assert(
      fc.property(feedArb, fc.integer({ min: 1, max: 4 }), ({ feed, clientSpans, window }, maxHeld) => {
        const { batches, stats, held } = run(feed, { limits: { maxHeldExchanges: maxHeld }, spans: { clientSpans, linkWindowSeconds: window } });
        const all = batches.flat();
        assert.equal(held, 0);
        assert.equal(all.length, feed.exchanges.length * (clientSpans ? 2 : 1));
        const ids = new Set(all.map((s) => s.spanContext().spanId));
        const propagated = propagatedIds(feed.exchanges);
        for (const s of all) {
          const parent = s.parentSpanContext?.spanId;
          if (parent !== undefined) assert.ok(ids.has(parent) || propagated.has(parent));
        }
        assert.equal(stats.spans.get('emitted'), all.length);
      }),
      { numRuns: 200 },
    );
  });
});
