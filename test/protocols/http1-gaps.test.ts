/**
 * Gaps, snaplen truncation, limits and timeouts, specified on a real
 * recorded keep-alive conversation with bytes removed where the TCP
 * layer would announce a gap.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { configSchema } from '../../src/config/schema.js';
import type { GapReason } from '../../src/model/stream.js';
import { hrAddNanos } from '../../src/model/time.js';
import { RecordingProxy, eventsOf, replay, streamOf, summary, type RecordedConnection, type StreamEvent } from './helpers/record.js';
import { nodeRequest, rawExchange, startNodeServer, type RunningServer } from './helpers/servers.js';

/** Replaces bytes [from, to) of one direction's stream by a gap announcement. */
function withGap(events: StreamEvent[], dir: 0 | 1, from: number, to: number, reason: GapReason): StreamEvent[] {
  const out: StreamEvent[] = [];
  let offset = 0;
  let announced = false;
  for (const e of events) {
    if (e.kind !== 'data' || e.dir !== dir) {
      out.push(e);
      continue;
    }
    const start = offset;
    const end = offset + e.bytes.length;
    offset = end;
    if (end <= from || start >= to) {
      out.push(e);
      continue;
    }
    if (start < from) out.push({ ...e, bytes: e.bytes.subarray(0, from - start) });
    if (!announced) {
      out.push({ kind: 'gap', dir, length: to - from, reason, sec: e.sec, nsec: e.nsec });
      announced = true;
    }
    if (end > to) out.push({ ...e, bytes: e.bytes.subarray(to - start) });
  }
  return out;
}

let server: RunningServer;
let keepAlive: RecordedConnection;
let slow: RecordedConnection;
let pipelined: RecordedConnection;

async function recordOne(drive: (port: number) => Promise<void>): Promise<RecordedConnection> {
  const proxy = await RecordingProxy.start(server.port);
  try {
    await drive(proxy.port);
    await proxy.settled();
    assert.equal(proxy.connections.length, 1);
    return proxy.connections[0];
  } finally {
    await proxy.close();
  }
}

before(async () => {
  server = await startNodeServer();
  keepAlive = await recordOne(async (port) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await nodeRequest(agent, port, { path: '/cl/20000' });
    await nodeRequest(agent, port, { path: '/chunked' });
    await nodeRequest(agent, port, { path: '/cl/10' });
    agent.destroy();
  });
  slow = await recordOne(async (port) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await nodeRequest(agent, port, { path: '/slow/300' });
    await nodeRequest(agent, port, { path: '/cl/5' });
    agent.destroy();
  });
  pipelined = await recordOne(async (port) => {
    let requests = '';
    for (let i = 1; i <= 5; i++) requests += `GET /cl/${i} HTTP/1.1\r\nHost: a\r\n${i === 5 ? 'Connection: close\r\n' : ''}\r\n`;
    await rawExchange(port, requests, () => false);
  });
});
after(() => server.close());

describe('gaps and truncation', () => {
  test('a gap inside a body of known length is consumed; the message is truncated, the next intact', () => {
    const serverStream = streamOf(eventsOf(keepAlive), 1);
    const bodyStart = serverStream.indexOf('\r\n\r\n') + 4;
    const events = withGap(eventsOf(keepAlive), 1, bodyStart + 5000, bodyStart + 12000, 'hole');
    const { exchanges, stats } = replay(events);
    assert.deepEqual(exchanges.map(summary), [
      '0 complete GET /cl/20000 0 => 200 20000 T',
      '1 complete GET /chunked 0 => 200 19',
      '2 complete GET /cl/10 0 => 200 10',
    ]);
    assert.equal(stats.truncatedMessages, 1);
    assert.equal(stats.parseErrors.total(), 0);
  });

  test('a header block cut by snaplen truncation is reported with what was read, then parsing resumes', () => {
    const serverStream = streamOf(eventsOf(keepAlive), 1);
    const secondHead = serverStream.indexOf('HTTP/1.1', 10);
    const secondHeadEnd = serverStream.indexOf('\r\n\r\n', secondHead) + 4;
    // Keep the status line and one header field, lose the rest of the head and the first chunk.
    const keep = serverStream.indexOf('\r\n', serverStream.indexOf('\r\n', secondHead) + 2) + 2;
    const events = withGap(eventsOf(keepAlive), 1, keep, secondHeadEnd + 3, 'truncated');
    const { exchanges, stats } = replay(events);
    assert.deepEqual(exchanges.map(summary), [
      '0 complete GET /cl/20000 0 => 200 20000',
      '1 complete GET /chunked 0 => 200 0 T',
      '2 complete GET /cl/10 0 => 200 10',
    ]);
    const truncated = exchanges[1].response!;
    assert.equal(truncated.headers.length, 1, 'the one whole header line before the cut');
    assert.equal(stats.truncatedMessages, 1);
  });

  test('a gap inside a chunked body beyond the current chunk truncates the message and resynchronises', () => {
    const serverStream = streamOf(eventsOf(keepAlive), 1);
    const second = serverStream.indexOf('HTTP/1.1', 10);
    const firstChunk = serverStream.indexOf('\r\n\r\n', second) + 4;
    const events = withGap(eventsOf(keepAlive), 1, firstChunk + 2, firstChunk + 16, 'hole');
    const { exchanges } = replay(events);
    assert.equal(exchanges.length, 3);
    assert.equal(exchanges[1].response!.truncated, true);
    assert.equal(summary(exchanges[2]), '2 complete GET /cl/10 0 => 200 10');
  });

  test('a request whose start line fell in a gap is lost (counted); its response is an orphan, the rest pair', () => {
    const clientStream = streamOf(eventsOf(keepAlive), 0);
    const second = clientStream.indexOf('GET /chunked');
    const third = clientStream.indexOf('GET /cl/10');
    const events = withGap(eventsOf(keepAlive), 0, second + 4, third, 'hole');
    const { exchanges, stats } = replay(events);
    assert.deepEqual(exchanges.map(summary), [
      '0 complete GET /cl/20000 0 => 200 20000',
      '1 orphan - => 200 19',
      '2 complete GET /cl/10 0 => 200 10',
    ]);
    assert.equal(stats.parseErrors.get('http1:lost-start-line'), 1);
  });
});

describe('limits', () => {
  test('pending requests beyond the limit: the oldest become incomplete, counted', () => {
    const config = configSchema.parse({ limits: { maxPendingRequestsPerConnection: 2 } });
    const { exchanges, stats } = replay(eventsOf(pipelined), { config });
    assert.equal(stats.drops.get('max-pending-requests'), 3);
    assert.equal(stats.exchanges.get('incomplete'), 3);
    assert.equal(exchanges.filter((e) => e.outcome === 'incomplete').map((e) => e.request!.target).join(), '/cl/1,/cl/2,/cl/3');
  });

  test('a header block larger than maxHeaderBytes is a counted parse error; parsing resumes', () => {
    const config = configSchema.parse({ limits: { maxHeaderBytes: 60 } });
    const { exchanges, stats } = replay(eventsOf(pipelined), { config });
    assert.ok(stats.parseErrors.get('http1:header-too-large') > 0);
    assert.ok(exchanges.length > 0);
    for (const e of exchanges) if (e.response) assert.equal(e.response.truncated || e.response.status === 200, true);
  });
});

describe('timeouts on capture time', () => {
  const config = configSchema.parse({ spans: { timeoutSeconds: 0.1 } });

  for (const ticks of [true, false]) {
    test(`a response later than the timeout: the request times out, the late response is counted, not paired (ticks=${ticks})`, () => {
      const { exchanges, stats } = replay(eventsOf(slow), { config, tickEveryEvent: ticks });
      assert.deepEqual(exchanges.map(summary), ['0 timeout GET /slow/300 0 => -', '1 complete GET /cl/5 0 => 200 5']);
      assert.deepEqual(exchanges[0].end, hrAddNanos(exchanges[0].request!.endTime, 100_000_000));
      assert.equal(stats.exchanges.get('late-response'), 1);
      assert.equal(stats.exchanges.get('timeout'), 1);
    });
  }

  test('a request never answered times out on the capture clock; without ticks it ends incomplete', () => {
    const onlyRequest = eventsOf(slow).slice(0, 1);
    assert.equal(onlyRequest[0].kind === 'data' && onlyRequest[0].dir, 0);
    const t = onlyRequest[0];
    const later: StreamEvent = { kind: 'tick', sec: t.sec + 5, nsec: t.nsec };
    const timed = replay([...onlyRequest, later], { config });
    assert.deepEqual(timed.exchanges.map((e) => e.outcome), ['timeout']);
    assert.equal(timed.dispatcher.connectionsWithPendingRequests, 0);
    const ended = replay(onlyRequest, { config, end: 'capture-end' });
    assert.deepEqual(ended.exchanges.map((e) => e.outcome), ['incomplete']);
    assert.deepEqual(ended.exchanges[0].end, [t.sec, t.nsec], 'incomplete ends at the last time seen on the connection');
  });
});
