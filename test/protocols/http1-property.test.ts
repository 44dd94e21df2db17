/**
 * Properties: garbage never throws, and how a real conversation is cut
 * into chunks never changes what is read from it.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { configSchema } from '../../src/config/schema.js';
import { RecordingProxy, eventsOf, recut, replay, summary, type RecordedConnection, type StreamEvent } from './helpers/record.js';
import { nodeRequest, startNodeServer, type RunningServer } from './helpers/servers.js';

let server: RunningServer;
let conversation: RecordedConnection;

before(async () => {
  server = await startNodeServer();
  const proxy = await RecordingProxy.start(server.port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  await nodeRequest(agent, proxy.port, { path: '/cl/700' });
  await nodeRequest(agent, proxy.port, { path: '/chunked' });
  await nodeRequest(agent, proxy.port, { method: 'POST', path: '/upload', body: Buffer.alloc(1500, 0x7a) });
  await nodeRequest(agent, proxy.port, { method: 'HEAD', path: '/cl/50' });
  await nodeRequest(agent, proxy.port, { path: '/no-content' });
  await nodeRequest(agent, proxy.port, { path: '/etag', headers: { 'if-none-match': '"v1"' } });
  agent.destroy();
  await proxy.settled();
  conversation = proxy.connections[0];
  await proxy.close();
});
after(() => server.close());

const eventArb: fc.Arbitrary<StreamEvent> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('data' as const), dir: fc.constantFrom(0 as const, 1 as const), bytes: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), sec: fc.constant(1_700_000_000), nsec: fc.nat(999_999_999) }) },
  {
    weight: 3,
    // Bytes that look like HTTP, to reach deep parser states.
    arbitrary: fc.record({
      kind: fc.constant('data' as const),
      dir: fc.constantFrom(0 as const, 1 as const),
      bytes: fc
        .array(fc.constantFrom('GET / HTTP/1.1\r\n', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.1 101 x\r\n', 'HTTP/1.0 100 Continue\r\n', 'CONNECT a:1 HTTP/1.1\r\n', 'HEAD /h HTTP/1.1\r\n', 'Content-Length: 5\r\n', 'Content-Length: x\r\n', 'Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: gzip\r\n', '\r\n', '5\r\nabcde\r\n', '0\r\n\r\n', 'zz\r\n', ' folded\r\n', 'X-A: b\r\n', 'abc', '\n', '\r'), { maxLength: 12 })
        .map((parts) => Buffer.from(parts.join(''), 'latin1')),
      sec: fc.constant(1_700_000_001),
      nsec: fc.nat(999_999_999),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('gap' as const), dir: fc.constantFrom(0 as const, 1 as const), length: fc.integer({ min: 1, max: 5000 }), reason: fc.constantFrom('hole' as const, 'truncated' as const), sec: fc.constant(1_700_000_002), nsec: fc.constant(0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), sec: fc.integer({ min: 1_700_000_000, max: 1_700_000_100 }), nsec: fc.constant(0) }) },
);

test('random bytes, gaps and ticks in both directions never throw, and exchanges stay well-formed', () => {
  const config = configSchema.parse({ limits: { maxHeaderBytes: 256, maxPendingRequestsPerConnection: 4 }, spans: { timeoutSeconds: 1 } });
  fc.assert(
    fc.property(fc.array(eventArb, { maxLength: 40 }), fc.boolean(), fc.boolean(), fc.constantFrom('fin' as const, 'rst' as const, 'capture-end' as const), (events, rolesFromHandshake, mislabelled, end) => {
      const { exchanges, stats } = replay(events, { config, rolesFromHandshake, mislabelled, end, embed: true });
      exchanges.forEach((e, i) => {
        assert.equal(e.sequence, i);
        assert.ok(e.request !== undefined || e.response !== undefined);
        if (e.response) assert.ok(e.response.bodySize >= 0 && !e.response.interim);
      });
      assert.equal(stats.exchanges.total() - stats.exchanges.get('late-response'), exchanges.length);
    }),
    { numRuns: 2000 },
  );
});

test('a real keep-alive conversation cut at arbitrary points yields the same exchanges as uncut', () => {
  const events = eventsOf(conversation);
  const expected = replay(events).exchanges.map(summary);
  assert.equal(expected.length, 6);
  assert.ok(expected.every((s) => s.includes(' complete ')));
  fc.assert(
    fc.property(fc.array(fc.array(fc.nat(), { maxLength: 8 }), { minLength: events.length, maxLength: events.length }), fc.boolean(), (cutsPerEvent, embed) => {
      const cut = recut(events, (length, index) => cutsPerEvent[index].map((c) => c % Math.max(length, 1)));
      const result = replay(cut, { embed });
      assert.deepEqual(result.exchanges.map(summary), expected);
      assert.equal(result.stats.parseErrors.total(), 0);
    }),
    { numRuns: 300 },
  );
  // The extreme: one byte at a time.
  assert.deepEqual(replay(recut(events, (length) => Array.from({ length }, (_, i) => i))).exchanges.map(summary), expected);
});
