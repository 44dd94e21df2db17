import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Stats } from '../../../src/model/stats.js';
import type { ConnectionInfo, StreamConsumer } from '../../../src/model/stream.js';
import { STALL_SEGMENTS, TcpReassembler, type TcpReassemblerLimits } from '../../../src/net/tcp/reassembler.js';
import { endpointHash, pairKey } from '../../../src/net/tcp/hash.js';
import { ACK, Dialog, PSH, RST, Recorder, SYN, buildSegment, type EndpointSpec } from './helpers.js';

const CLIENT: EndpointSpec = { address: '10.0.0.1', port: 40000, isn: 1000 };
const SERVER: EndpointSpec = { address: '10.0.0.2', port: 80, isn: 900_000 };

function setup(limits: Partial<TcpReassemblerLimits> = {}, client = CLIENT, server = SERVER) {
  const stats = new Stats();
  const rec = new Recorder();
  const tcp = new TcpReassembler(rec, stats, { maxConnections: 100, maxBufferedBytesPerStream: 1 << 20, connectionIdleSeconds: 300, ...limits });
  const d = new Dialog((seg) => tcp.onSegment(seg), client, server);
  return { stats, rec, tcp, d, events: () => rec.connections[0].events };
}

describe('TCP reassembly: delivery', () => {
  test('a clean exchange arrives in order per direction, roles fixed by the handshake, ended by both FINs', () => {
    const { stats, rec, tcp, d, events } = setup();
    d.handshake();
    d.c(0, 'hello ');
    d.c(6, 'world');
    d.s(0, 'HTTP', 11);
    d.clientFin(11, 4);
    assert.equal(tcp.activeConnections, 1);
    d.serverFin(4, 12);
    assert.deepEqual(events(), ['c>s "hello "', 'c>s "world"', 's>c "HTTP"', 'end fin']);
    const info = rec.connections[0].info;
    assert.deepEqual(info.client, { address: '10.0.0.1', port: 40000 });
    assert.deepEqual(info.server, { address: '10.0.0.2', port: 80 });
    assert.equal(info.rolesFromHandshake, true);
    assert.equal(info.index, 0);
    assert.match(info.id, /^[0-9a-f]{16}$/);
    assert.deepEqual(info.firstSeen, [1_700_000_000, 1000]);
    assert.equal(stats.connections, 1);
    assert.equal(stats.gapBytes, 0);
    assert.equal(stats.tcp.total(), 0);
    assert.equal(tcp.activeConnections, 0);
    // The last ACK of the close is how every connection ends: no new connection, nothing counted.
    d.clientAck(5, 12);
    assert.equal(rec.connections.length, 1);
    assert.equal(stats.tcp.get('after-close'), 0);
  });

  test('in-order payload is handed over as a view of the captured frame, not a copy', () => {
    const seen: Buffer[] = [];
    const consumer: StreamConsumer = { onData: (_dir, data) => void seen.push(data), onGap() {}, onEnd() {} };
    const tcp = new TcpReassembler({ create: () => consumer }, new Stats(), { maxConnections: 10, maxBufferedBytesPerStream: 1024, connectionIdleSeconds: 60 });
    const segs = [
      buildSegment({ src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, seq: 1000, flags: SYN }),
      buildSegment({ src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, seq: 1001, flags: ACK | PSH, payload: 'abc' }),
    ];
    for (const s of segs) tcp.onSegment(s);
    assert.equal(seen.length, 1);
    assert.equal(seen[0], segs[1].data);
  });

  test('a segment that arrives early is held (copied) and delivered once the hole fills', () => {
    const { stats, d, events } = setup();
    d.handshake();
    d.c(5, 'world');
    d.c(0, 'hello');
    assert.deepEqual(events(), ['c>s "hello"', 'c>s "world"']);
    assert.equal(stats.tcp.get('out-of-order'), 1);
    assert.equal(stats.gapBytes, 0);
  });

  test('held bytes survive the capture reader reusing its frame buffer', () => {
    const stats = new Stats();
    const rec = new Recorder();
    const tcp = new TcpReassembler(rec, stats, { maxConnections: 10, maxBufferedBytesPerStream: 1024, connectionIdleSeconds: 60 });
    const scratch = Buffer.alloc(2048);
    const send = (seq: number, payload: string, flags = ACK | PSH) =>
      tcp.onSegment(buildSegment({ src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, seq, flags, payload }, scratch));
    send(1000, '', SYN);
    send(1004, 'DEF');
    send(1007, 'GHI');
    send(1001, 'ABC');
    assert.equal(rec.connections[0].text(0), 'ABCDEFGHI');
  });

  test('an entirely old segment is a retransmission: dropped and counted', () => {
    const { stats, d, events } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.c(0, 'hello');
    d.c(10, 'later');
    d.c(10, 'later');
    d.c(5, '!!!!!');
    assert.deepEqual(events(), ['c>s "hello"', 'c>s "!!!!!"', 'c>s "later"']);
    assert.equal(stats.tcp.get('retransmission'), 2);
  });

  test('a partial overlap delivers only the new bytes', () => {
    const { stats, d, events } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.c(3, 'lo world');
    assert.deepEqual(events(), ['c>s "hello"', 'c>s " world"']);
    assert.equal(stats.tcp.get('overlap'), 1);
  });

  test('overlapping early segments are merged: each byte is held and delivered once', () => {
    const { d, rec } = setup();
    d.handshake();
    d.c(10, 'KLMN');
    d.c(8, 'IJKL');
    d.c(12, 'MNOP');
    d.c(0, 'ABCDEFGHI');
    assert.equal(rec.connections[0].text(0), 'ABCDEFGHIJKLMNOP');
  });

  test('sequence numbers wrap at 2^32: in-order, early and acknowledged data all cross it', () => {
    const { stats, d, rec, tcp } = setup({}, { ...CLIENT, isn: 2 ** 32 - 4 }, { ...SERVER, isn: 2 ** 32 - 2 });
    d.handshake();
    d.c(0, 'abcdef'); // seq 2^32-3 .. 2, across the wrap
    d.c(10, 'klm');
    d.c(6, 'ghij');
    d.s(0, 'xy', 13); // server stream starts at 2^32-1
    d.s(4, 'z', 13);
    d.clientAck(5, 13); // proves server bytes 2..4 were sent
    d.wait(2);
    d.clientAck(5, 13);
    const c = rec.connections[0];
    assert.equal(c.endReason, undefined);
    tcp.finish();
    assert.equal(c.text(0), 'abcdefghijklm');
    assert.equal(c.text(1), 'xy[gap 2]z');
    assert.equal(stats.tcp.get('retransmission'), 0);
  });

  test('snaplen-cut payload: captured bytes, then a truncated gap; sequence tracking uses the wire length', () => {
    const { stats, d, rec } = setup();
    d.handshake();
    d.cTruncated(0, 'abc', 10);
    d.c(10, 'next');
    d.cTruncated(20, 'xy', 5);
    d.c(14, 'ABCDEF');
    assert.deepEqual(rec.connections[0].events, [
      'c>s "abc"',
      'c>s gap 7 truncated',
      'c>s "next"',
      'c>s "ABCDEF"',
      'c>s "xy"',
      'c>s gap 3 truncated',
    ]);
    assert.equal(stats.gapBytes, 10);
    assert.equal(stats.tcp.get('truncated'), 2);
  });
});

describe('TCP reassembly: holes', () => {
  test('a hole is declared when the peer acknowledges past it (the capture lost it), after a capture second', () => {
    const { stats, d, events } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.c(10, 'world');
    assert.deepEqual(events(), ['c>s "hello"']);
    d.serverAck(15);
    assert.deepEqual(events(), ['c>s "hello"'], 'a capture may show the ACK before the data: wait');
    d.wait(1);
    d.serverAck(15);
    assert.deepEqual(events(), ['c>s "hello"'], 'less than a whole second has passed');
    d.wait(1);
    d.serverAck(15);
    assert.deepEqual(events(), ['c>s "hello"', 'c>s gap 5 hole', 'c>s "world"']);
    assert.equal(stats.gapBytes, 5);
    assert.equal(stats.tcp.get('gap'), 1);
    // The missing bytes turning up even later are old news.
    d.c(5, '12345');
    assert.equal(events().length, 3);
    assert.equal(stats.tcp.get('retransmission'), 1);
  });

  test('an ACK seen before the data it acknowledges (capture reordering) is not a hole', () => {
    const { stats, d, events, tcp } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.serverAck(15);
    d.c(10, 'world');
    d.c(5, '12345');
    d.wait(5);
    d.serverAck(15);
    tcp.finish();
    assert.deepEqual(events(), ['c>s "hello"', 'c>s "12345"', 'c>s "world"', 'end capture-end']);
    assert.equal(stats.gapBytes, 0);
  });

  test('a response captured before the request it acknowledges is delivered after the request', () => {
    const { stats, d, events } = setup();
    d.handshake();
    d.s(0, 'HTTP/1.1 200 OK', 14); // acknowledges a 14-byte request the capture has not shown yet
    assert.deepEqual(events(), []);
    d.c(0, 'GET / HTTP/1.1');
    assert.deepEqual(events(), ['c>s "GET / HTTP/1.1"', 's>c "HTTP/1.1 200 OK"']);
    assert.equal(stats.gapBytes, 0);
  });

  test('a response waiting for a request the capture lost is delivered after the declared hole', () => {
    const { d, events } = setup();
    d.handshake();
    d.s(0, 'HTTP/1.1 200 OK', 14);
    d.wait(2);
    d.s(15, ' more', 14);
    assert.deepEqual(events(), ['c>s gap 14 hole', 's>c "HTTP/1.1 200 OK"', 's>c " more"']);
  });

  test('bytes waiting for the peer count against the buffer limit, which ends the wait', () => {
    const { stats, d, events } = setup({ maxBufferedBytesPerStream: 8 });
    d.handshake();
    d.s(0, 'abcd', 3);
    d.s(4, 'efghij', 3);
    assert.deepEqual(events(), ['c>s gap 3 hole', 's>c "abcd"', 's>c "efghij"']);
    assert.equal(stats.drops.get('max-buffered-bytes'), 1);
  });

  test(`a proven hole is declared without waiting for time once the connection has seen ${STALL_SEGMENTS} more segments`, () => {
    const { d, events } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.c(10, 'world');
    d.serverAck(15);
    for (let i = 0; i < STALL_SEGMENTS - 1; i++) d.serverAck(15);
    assert.deepEqual(events(), ['c>s "hello"']);
    d.serverAck(15);
    assert.deepEqual(events(), ['c>s "hello"', 'c>s gap 5 hole', 'c>s "world"']);
  });

  test('an ACK past everything captured is a hole up to the ACK, and the stream continues after it', () => {
    const { d, rec } = setup();
    d.handshake();
    d.c(0, 'abc');
    d.serverAck(10);
    d.wait(2);
    d.c(10, 'def');
    assert.equal(rec.connections[0].text(0), 'abc[gap 7]def');
  });

  test('the ACK of a FIN does not count the FIN as a missing byte', () => {
    const { stats, d, rec } = setup();
    d.handshake();
    d.c(0, 'abc');
    d.clientFin(3);
    d.serverAck(4);
    d.serverFin(0, 4);
    assert.equal(rec.connections[0].text(0), 'abc');
    assert.equal(stats.gapBytes, 0);
    assert.equal(rec.connections[0].endReason, 'fin');
  });

  test('after both FINs, missing bytes arriving late still complete the stream', () => {
    const { d, events, tcp } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.clientFin(10, 0, 'world');
    d.serverFin(0, 5); // the server's FIN acknowledges only what it had
    assert.deepEqual(events(), ['c>s "hello"']);
    assert.equal(tcp.activeConnections, 1);
    d.c(5, '12345');
    assert.deepEqual(events(), ['c>s "hello"', 'c>s "12345"', 'c>s "world"', 'end fin']);
  });

  test('after both FINs, bytes still missing at the deadline are holes and the connection ends as fin', () => {
    const { d, events, tcp } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.clientFin(10, 0, 'world');
    d.serverFin(0, 5);
    const other = new Dialog(d.deliver, { ...CLIENT, port: 40001 }, SERVER);
    other.tsSec = d.tsSec + 2;
    other.syn();
    assert.deepEqual(events(), ['c>s "hello"', 'c>s gap 5 hole', 'c>s "world"', 'end fin']);
    assert.equal(tcp.activeConnections, 1);
  });

  test('capture end cuts the wait short of a closing connection, which still ends as fin', () => {
    const { d, events, tcp } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.clientFin(10, 0, 'world');
    d.serverFin(0, 5);
    tcp.finish();
    assert.deepEqual(events(), ['c>s "hello"', 'c>s gap 5 hole', 'c>s "world"', 'end fin']);
  });

  test('capture end flushes held data with its holes and ends every connection', () => {
    const { tcp, d, events, stats } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.c(10, 'world');
    d.s(3, 'late', 0);
    tcp.finish();
    assert.deepEqual(events(), ['c>s "hello"', 'c>s gap 5 hole', 'c>s "world"', 's>c gap 3 hole', 's>c "late"', 'end capture-end']);
    assert.equal(stats.gapBytes, 8);
    assert.equal(tcp.activeConnections, 0);
  });

  test('beyond the buffer limit the reassembler skips ahead: gap, held data, counted drop', () => {
    const { stats, d, events } = setup({ maxBufferedBytesPerStream: 10 });
    d.handshake();
    d.c(0, 'hello');
    d.c(10, '0123456789');
    assert.deepEqual(events(), ['c>s "hello"']);
    d.c(20, 'abcdefghij');
    assert.deepEqual(events(), ['c>s "hello"', 'c>s gap 5 hole', 'c>s "0123456789"', 'c>s "abcdefghij"']);
    assert.equal(stats.drops.get('max-buffered-bytes'), 1);
    assert.equal(stats.tcp.get('gap'), 1);
    assert.equal(stats.gapBytes, 5);
    d.c(30, 'next');
    assert.equal(events().at(-1), 'c>s "next"');
  });

  test('a RST with nothing missing ends the connection at once; later segments are tolerated', () => {
    const { stats, tcp, d, events, rec } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.clientRst(5);
    assert.deepEqual(events(), ['c>s "hello"', 'end rst']);
    assert.equal(tcp.activeConnections, 0);
    d.s(0, 'late response', 5);
    d.clientRst(5);
    assert.equal(rec.connections.length, 1);
    assert.equal(stats.tcp.get('after-close'), 2);
  });

  test('a RST after a hole: its sequence number proves the bytes sent; held data and holes are delivered at the deadline', () => {
    const { tcp, d, events } = setup();
    d.handshake();
    d.c(0, 'hello');
    d.c(10, 'world');
    d.clientRst(20);
    assert.deepEqual(events(), ['c>s "hello"']);
    const other = new Dialog(d.deliver, { ...CLIENT, port: 40001 }, SERVER);
    other.tsSec = d.tsSec + 2;
    other.syn();
    assert.deepEqual(events(), ['c>s "hello"', 'c>s gap 5 hole', 'c>s "world"', 'c>s gap 5 hole', 'end rst']);
    assert.equal(tcp.activeConnections, 1);
  });
});

describe('TCP reassembly: roles', () => {
  test('a capture that starts mid-stream: first segment per direction sets its start; provisional roles by lower port', () => {
    const { d, rec } = setup({}, { address: '10.0.0.1', port: 40000, isn: 7 }, { address: '10.0.0.2', port: 8080, isn: 99 });
    d.s(100, 'HTTP/1.1 200 OK');
    d.c(50, 'GET /next');
    d.c(40, 'older'); // before the first byte seen: nothing to add
    const c = rec.connections[0];
    assert.equal(c.info.rolesFromHandshake, false);
    assert.deepEqual(c.info.client, { address: '10.0.0.1', port: 40000 });
    assert.deepEqual(c.info.server, { address: '10.0.0.2', port: 8080 });
    assert.deepEqual(c.events, ['s>c "HTTP/1.1 200 OK"', 'c>s "GET /next"']);
  });

  test('equal ports: the destination of the first segment seen is the provisional server', () => {
    const { rec, d } = setup({}, { address: '10.0.0.1', port: 5000, isn: 7 }, { address: '10.0.0.2', port: 5000, isn: 99 });
    d.c(0, 'x');
    assert.equal(rec.connections[0].info.server.address, '10.0.0.2');
  });

  test('swapRoles re-labels every later callback, including bytes already held out of order', () => {
    // The real client (port 40000) talks to a server on a high port: the lower-port guess is wrong.
    const { d, rec } = setup({}, { address: '10.0.0.1', port: 40000, isn: 7 }, { address: '10.0.0.2', port: 50051, isn: 99 });
    d.c(0, 'PRI');
    d.c(10, 'later');
    const c = rec.connections[0];
    assert.equal(c.info.client.port, 50051);
    c.info.swapRoles();
    assert.deepEqual(c.info.client, { address: '10.0.0.1', port: 40000 });
    assert.deepEqual(c.info.server, { address: '10.0.0.2', port: 50051 });
    d.c(3, 'abcdefg');
    d.s(0, 'reply');
    assert.deepEqual(c.events, ['s>c "PRI"', 'c>s "abcdefg"', 'c>s "later"', 's>c "reply"']);
  });

  test('a capture that starts at the SYN-ACK: its receiver is the client', () => {
    const { d, rec } = setup({}, { address: '10.0.0.1', port: 1023, isn: 7 }, { address: '10.0.0.2', port: 40000, isn: 99 });
    d.synAck();
    d.clientAck(0);
    d.c(0, 'hi');
    d.s(0, 'yo', 2);
    const c = rec.connections[0];
    assert.equal(c.info.rolesFromHandshake, true);
    assert.deepEqual(c.info.client, { address: '10.0.0.1', port: 1023 });
    assert.deepEqual(c.events, ['c>s "hi"', 's>c "yo"']);
  });

  test('IPv6 endpoints, including both ends on ::1 told apart by port', () => {
    const { d, rec } = setup({}, { address: '2001:db8::1', port: 40000, isn: 1 }, { address: '2001:db8:0:0:1::2', port: 443, isn: 2 });
    d.handshake();
    d.c(0, 'v6');
    d.s(0, 'ok', 2);
    assert.deepEqual(rec.connections[0].info.client, { address: '2001:db8::1', port: 40000 });
    assert.deepEqual(rec.connections[0].info.server, { address: '2001:db8::1:0:0:2', port: 443 });
    assert.deepEqual(rec.connections[0].events, ['c>s "v6"', 's>c "ok"']);

    const loop = setup({}, { address: '::1', port: 50000, isn: 1 }, { address: '::1', port: 8080, isn: 2 });
    loop.d.handshake();
    loop.d.c(0, 'ping');
    loop.d.s(0, 'pong', 4);
    assert.equal(loop.rec.connections.length, 1);
    assert.deepEqual(loop.rec.connections[0].info.client, { address: '::1', port: 50000 });
    assert.deepEqual(loop.rec.connections[0].events, ['c>s "ping"', 's>c "pong"']);
  });
});

describe('TCP reassembly: connection lifecycle', () => {
  test('ids are deterministic from endpoints and first-seen time; index counts connections in creation order', () => {
    const run = (startSec: number) => {
      const { d, rec } = setup();
      d.tsSec = startSec;
      d.handshake();
      const other = new Dialog(d.deliver, { ...CLIENT, port: 40001 }, SERVER);
      other.tsSec = startSec;
      other.handshake();
      return rec.connections.map((c) => [c.info.id, c.info.index]);
    };
    assert.deepEqual(run(100), run(100));
    assert.notEqual(run(100)[0][0], run(101)[0][0]);
    assert.notEqual(run(100)[0][0], run(100)[1][0]);
    assert.deepEqual(
      run(100).map((x) => x[1]),
      [0, 1],
    );
  });

  test('a retransmitted SYN is not a new connection', () => {
    const { stats, d, rec } = setup();
    d.syn();
    d.syn();
    d.synAck();
    d.synAck();
    assert.equal(rec.connections.length, 1);
    assert.equal(stats.tcp.get('retransmission'), 2);
  });

  test('a new SYN on the tuple of a closed connection opens a new one (counted), stray ACKs do not', () => {
    const { stats, d, rec, tcp } = setup();
    d.handshake();
    d.c(0, 'one');
    d.clientFin(3, 0);
    d.serverFin(0, 4);
    d.clientAck(1, 4);
    d.c(0, 'one');
    assert.equal(rec.connections.length, 1);
    const again = new Dialog(d.deliver, { ...CLIENT, isn: 555_555 }, { ...SERVER, isn: 777 });
    again.handshake();
    again.c(0, 'two');
    assert.equal(rec.connections.length, 2);
    assert.equal(rec.connections[0].endReason, 'fin');
    assert.equal(rec.connections[1].info.index, 1);
    assert.equal(rec.connections[1].text(0), 'two');
    assert.equal(stats.tcp.get('reused-tuple'), 1);
    assert.equal(stats.connections, 2);
    assert.equal(tcp.activeConnections, 1);
  });

  test('a SYN with a new sequence space on a live tuple ends the old connection as reused', () => {
    const { stats, d, rec, tcp } = setup();
    d.handshake();
    d.c(0, 'abc');
    d.c(5, 'held');
    const again = new Dialog(d.deliver, { ...CLIENT, isn: 123_456_789 }, { ...SERVER, isn: 42 });
    again.handshake();
    again.c(0, 'fresh');
    assert.deepEqual(rec.connections[0].events, ['c>s "abc"', 'c>s gap 2 hole', 'c>s "held"', 'end reused']);
    assert.deepEqual(rec.connections[1].events, ['c>s "fresh"']);
    assert.equal(stats.tcp.get('reused-tuple'), 1);
    assert.equal(tcp.activeConnections, 1);
  });

  test('a RST far outside the sequence window does not end a live connection', () => {
    const { stats, d, events, tcp } = setup();
    d.handshake();
    d.c(0, 'abc');
    d.clientRst(2 ** 31);
    assert.deepEqual(events(), ['c>s "abc"']);
    assert.equal(tcp.activeConnections, 1);
    assert.equal(stats.tcp.get('out-of-window'), 1);
  });

  test('a RST for a connection never seen creates nothing', () => {
    const { d, rec, stats } = setup();
    d.clientRst(0);
    assert.equal(rec.connections.length, 0);
    assert.equal(stats.connections, 0);
  });

  test('idle connections expire on capture time, checked about once per capture second', () => {
    const { stats, d, rec, tcp } = setup({ connectionIdleSeconds: 10 });
    const t0 = d.tsSec;
    d.handshake();
    d.c(0, 'abc');
    d.c(5, 'held');
    const other = new Dialog(d.deliver, { ...CLIENT, port: 40001 }, SERVER);
    other.tsSec = t0 + 5;
    other.handshake();
    other.tsSec = t0 + 10;
    other.c(0, 'x');
    assert.equal(rec.connections[0].endReason, undefined, 'silent for exactly the limit: still alive');
    other.tsSec = t0 + 11;
    other.c(1, 'y');
    other.c(2, 'z');
    assert.deepEqual(rec.connections[0].events, ['c>s "abc"', 'c>s gap 2 hole', 'c>s "held"', 'end idle']);
    assert.equal(rec.connections[1].endReason, undefined);
    assert.equal(tcp.activeConnections, 1);
    assert.deepEqual(rec.ticks, [t0, t0 + 5, t0 + 10, t0 + 11]);
    // The expired connection's tuple starts afresh.
    d.tsSec = t0 + 12;
    d.c(9, 'more');
    assert.equal(rec.connections.length, 3);
    assert.equal(stats.connections, 3);
  });

  test('beyond maxConnections the least recently active connection is evicted and counted', () => {
    const { stats, d, rec, tcp } = setup({ maxConnections: 2 });
    const a = d;
    const b = new Dialog(d.deliver, { ...CLIENT, port: 40001 }, SERVER);
    const c = new Dialog(d.deliver, { ...CLIENT, port: 40002 }, SERVER);
    a.handshake();
    b.handshake();
    a.c(0, 'a is active'); // now b is the least recently active
    c.handshake();
    assert.equal(rec.connections[1].endReason, 'evicted');
    assert.equal(rec.connections[0].endReason, undefined);
    assert.equal(stats.drops.get('max-connections'), 1);
    assert.equal(tcp.activeConnections, 2);
  });

  test('closed connections remembered for late segments give way first at the connection limit, uncounted', () => {
    const { stats, d, rec, tcp } = setup({ maxConnections: 2 });
    const b = new Dialog(d.deliver, { ...CLIENT, port: 40001 }, SERVER);
    const c = new Dialog(d.deliver, { ...CLIENT, port: 40002 }, SERVER);
    d.handshake();
    b.handshake();
    b.clientRst(0);
    d.c(0, 'a');
    c.handshake();
    assert.equal(rec.connections[0].endReason, undefined);
    assert.equal(stats.drops.get('max-connections'), 0);
    assert.equal(tcp.activeConnections, 2);
  });

  test('connections whose table keys collide are still told apart by their bytes', () => {
    // Find two client ports whose connections land in the same bucket.
    const words = (a: string) => a.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
    const server = endpointHash(words('10.0.0.2'), 0, 0, 0, 80);
    const byKey = new Map<number, number>();
    let pair: [number, number] | undefined;
    for (let hi = 1; hi < 256 && !pair; hi++) {
      for (let port = 1024; port < 65536 && !pair; port++) {
        const key = pairKey(endpointHash(words(`10.0.${hi}.1`), 0, 0, 0, port), server, 4);
        const seen = byKey.get(key);
        if (seen !== undefined) pair = [seen, hi * 65536 + port];
        else byKey.set(key, hi * 65536 + port);
      }
    }
    assert.ok(pair, 'no collision found');
    const endpoint = (code: number): EndpointSpec => ({ address: `10.0.${code >> 16}.1`, port: code & 0xffff, isn: code });
    const { d, rec, tcp } = setup();
    const first = new Dialog(d.deliver, endpoint(pair[0]), SERVER);
    const second = new Dialog(d.deliver, endpoint(pair[1]), SERVER);
    first.handshake();
    second.handshake();
    first.c(0, 'first');
    second.c(0, 'second');
    second.s(0, 'to second', 6);
    first.s(0, 'to first', 5);
    assert.deepEqual(rec.connections[0].events, ['c>s "first"', 's>c "to first"']);
    assert.deepEqual(rec.connections[1].events, ['c>s "second"', 's>c "to second"']);
    // Removing either one from the shared bucket leaves the other reachable.
    first.clientRst(5);
    first.tsSec += 400;
    second.tsSec += 400;
    second.c(6, '!');
    assert.equal(rec.connections.length, 3, 'second expired as idle, then seen afresh');
    assert.equal(rec.connections[1].endReason, 'idle');
    first.c(5, 'after');
    assert.equal(rec.connections.length, 4, 'first was forgotten with the idle sweep, so it is new again');
    assert.equal(tcp.activeConnections, 2);
  });

  test('pure ACKs create a mid-stream connection whose stream starts at their sequence number', () => {
    const { d, rec } = setup();
    d.clientAck(0, 20);
    d.c(10, 'old');
    d.c(20, 'new');
    assert.deepEqual(rec.connections[0].events, ['c>s "new"']);
  });
});

describe('TCP reassembly: flags and garbage', () => {
  test('payload on a RST is delivered before the end', () => {
    const { d, events } = setup();
    d.handshake();
    d.c(0, 'ab');
    d.deliver(
      buildSegment({ src: CLIENT.address, sport: CLIENT.port, dst: SERVER.address, dport: SERVER.port, seq: CLIENT.isn + 3, flags: RST | ACK, payload: 'cd' }),
    );
    assert.deepEqual(events(), ['c>s "ab"', 'c>s "cd"', 'end rst']);
  });

  test('malformed segment offsets are counted, not read', () => {
    const stats = new Stats();
    const tcp = new TcpReassembler(new Recorder(), stats, { maxConnections: 10, maxBufferedBytesPerStream: 1024, connectionIdleSeconds: 60 });
    const seg = buildSegment({ src: '10.0.0.1', sport: 1, dst: '10.0.0.2', dport: 2, seq: 0, flags: SYN });
    tcp.onSegment({ ...seg, srcAddrOffset: seg.data.length - 2 });
    tcp.onSegment({ ...seg, payloadLen: seg.data.length });
    assert.equal(stats.tcp.get('malformed'), 2);
    assert.equal(stats.connections, 0);
  });

  test('consumers see a ConnectionInfo whose roles they may swap', () => {
    let info: ConnectionInfo | undefined;
    const tcp = new TcpReassembler(
      {
        create(c) {
          info = c;
          return { onData() {}, onGap() {}, onEnd() {} };
        },
      },
      new Stats(),
      { maxConnections: 10, maxBufferedBytesPerStream: 1024, connectionIdleSeconds: 60 },
    );
    tcp.onSegment(buildSegment({ src: '10.0.0.1', sport: 1000, dst: '10.0.0.2', dport: 2000, seq: 5, flags: ACK, payload: 'x' }));
    assert.ok(info);
    assert.equal(info.server.port, 1000);
    info.swapRoles();
    assert.equal(info.server.port, 2000);
  });
});
