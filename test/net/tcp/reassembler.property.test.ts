import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LinkType } from '../../../src/model/packet.js';
import { Stats } from '../../../src/model/stats.js';
import { PacketDecoder } from '../../../src/net/decode.js';
import { TcpReassembler } from '../../../src/net/tcp/reassembler.js';
import { ACK, FIN, PSH, Recorder, SYN, buildSegment, type Piece } from './helpers.js';

const A = { address: '192.168.1.10', port: 51000 };
const B = { address: '192.168.1.20', port: 6379 };

interface DirectionPlan {
  bytes: Buffer;
  /** [start, end) stream ranges: the cut segments first, then duplicates/overlaps. */
  ranges: Array<[number, number]>;
  /** How many of `ranges` are the cut (each byte exactly once). */
  cutCount: number;
}

const directionPlan = fc.uint8Array({ maxLength: 1500 }).chain((raw) => {
  const length = raw.length;
  return fc
    .record({
      cuts: length > 1 ? fc.uniqueArray(fc.integer({ min: 1, max: length - 1 }), { maxLength: 30 }) : fc.constant<number[]>([]),
      extras: length > 0 ? fc.array(fc.tuple(fc.integer({ min: 0, max: length - 1 }), fc.integer({ min: 1, max: 400 })), { maxLength: 8 }) : fc.constant([]),
    })
    .map(({ cuts, extras }): DirectionPlan => {
      const bounds = [0, ...[...cuts].sort((x, y) => x - y), length];
      const ranges: Array<[number, number]> = [];
      for (let i = 0; i + 1 < bounds.length; i++) if (bounds[i + 1] > bounds[i]) ranges.push([bounds[i], bounds[i + 1]]);
      const cutCount = ranges.length;
      for (const [start, len] of extras) ranges.push([start, Math.min(length, start + len)]);
      return { bytes: Buffer.from(raw), ranges, cutCount };
    });
});

const isn = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 2 ** 32 - 2000, max: 2 ** 32 - 1 }));

interface Emission {
  dir: 0 | 1;
  range: [number, number];
  /** Sent by the endpoint but missing from the capture. */
  lost: boolean;
}

/** Both directions' segments in one arbitrary interleaving; with `lossy`, some cut segments never reach the capture. */
const scenario = (lossy: boolean) =>
  fc
    .record({ a: directionPlan, b: directionPlan, isnA: isn, isnB: isn, bufferLimit: lossy ? fc.integer({ min: 1, max: 3000 }) : fc.constant(1 << 20) })
    .chain((s) => {
      const items: Array<{ dir: 0 | 1; range: [number, number]; cut: boolean }> = [];
      s.a.ranges.forEach((range, i) => items.push({ dir: 0, range, cut: i < s.a.cutCount }));
      s.b.ranges.forEach((range, i) => items.push({ dir: 1, range, cut: i < s.b.cutCount }));
      return fc.record({
        s: fc.constant(s),
        order: fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }),
        lostMask: fc.array(fc.boolean(), { minLength: items.length, maxLength: items.length }),
      });
    })
    .map(({ s, order, lostMask }) => ({
      ...s,
      emissions: order.map((item, i): Emission => ({ dir: item.dir, range: item.range, lost: lossy && item.cut && lostMask[i] })),
    }));

type Scenario = { a: DirectionPlan; b: DirectionPlan; isnA: number; isnB: number; bufferLimit: number; emissions: Emission[] };

/** Runs a scenario through the reassembler as a capture would show it: one reused frame buffer, ACKs only for what was sent. */
function play(sc: Scenario) {
  const stats = new Stats();
  const rec = new Recorder();
  const tcp = new TcpReassembler(rec, stats, { maxConnections: 16, maxBufferedBytesPerStream: sc.bufferLimit, connectionIdleSeconds: 300 });
  const scratch = Buffer.alloc(4096);
  const plans = [sc.a, sc.b];
  const isns = [sc.isnA, sc.isnB];
  const ends = [A, B];
  // Cumulative ACK a receiver would send: the contiguous prefix of what its peer has sent so far.
  const sent = [new Uint8Array(sc.a.bytes.length), new Uint8Array(sc.b.bytes.length)];
  const prefix = [0, 0];
  let nsec = 0;
  const send = (dir: 0 | 1, seq: number, flags: number, payload: Buffer) => {
    const peer = dir === 0 ? 1 : 0;
    nsec += 1000;
    tcp.onSegment(
      buildSegment(
        {
          src: ends[dir].address,
          sport: ends[dir].port,
          dst: ends[peer].address,
          dport: ends[peer].port,
          seq: seq >>> 0,
          ack: (isns[peer] + 1 + prefix[peer] + (prefix[peer] === plans[peer].bytes.length && finSent[peer] ? 1 : 0)) >>> 0,
          flags: flags | (flags & SYN && dir === 0 ? 0 : ACK),
          payload,
          tsSec: 1_700_000_000,
          tsNsec: nsec,
        },
        scratch,
      ),
    );
  };
  const finSent = [false, false];
  send(0, sc.isnA, SYN, Buffer.alloc(0));
  send(1, sc.isnB, SYN, Buffer.alloc(0));
  for (const e of sc.emissions) {
    const [start, end] = e.range;
    for (let i = start; i < end; i++) sent[e.dir][i] = 1;
    while (prefix[e.dir] < sent[e.dir].length && sent[e.dir][prefix[e.dir]] === 1) prefix[e.dir]++;
    if (!e.lost) send(e.dir, isns[e.dir] + 1 + start, PSH, plans[e.dir].bytes.subarray(start, end));
  }
  // Everything was sent in the end (a lost segment is still received by the peer).
  prefix[0] = sc.a.bytes.length;
  prefix[1] = sc.b.bytes.length;
  send(0, sc.isnA + 1 + sc.a.bytes.length, FIN, Buffer.alloc(0));
  finSent[0] = true;
  send(1, sc.isnB + 1 + sc.b.bytes.length, FIN, Buffer.alloc(0));
  finSent[1] = true;
  tcp.finish();
  return { stats, rec, tcp };
}

/** Data pieces land exactly where the original bytes are; data plus gaps cover the stream exactly. */
function checkStream(pieces: Piece[], original: Buffer): { gaps: number } {
  let pos = 0;
  let gaps = 0;
  for (const p of pieces) {
    if (p.kind === 'gap') {
      assert.equal(p.reason, 'hole');
      pos += p.length;
      gaps += p.length;
    } else {
      assert.ok(p.bytes.equals(original.subarray(pos, pos + p.bytes.length)), `bytes differ at ${pos}`);
      pos += p.bytes.length;
    }
  }
  assert.equal(pos, original.length);
  return { gaps };
}

describe('TCP reassembly properties', () => {
  test('any interleaving, duplication and overlap of segments that covers every byte reassembles both streams exactly, without gaps', () => {
    fc.assert(
      fc.property(scenario(false), (sc) => {
        const { stats, rec, tcp } = play(sc);
        assert.equal(rec.connections.length, 1);
        const c = rec.connections[0];
        assert.ok(c.bytes(0).equals(sc.a.bytes));
        assert.ok(c.bytes(1).equals(sc.b.bytes));
        assert.equal(checkStream(c.pieces[0], sc.a.bytes).gaps, 0);
        assert.equal(checkStream(c.pieces[1], sc.b.bytes).gaps, 0);
        assert.equal(stats.gapBytes, 0);
        assert.equal(c.endReason, 'fin');
        assert.equal(tcp.activeConnections, 0);
      }),
      { numRuns: 300 },
    );
  });

  test('with segments missing from the capture, delivered bytes are the originals at their positions and bytes + gaps add up', () => {
    fc.assert(
      fc.property(scenario(true), (sc) => {
        const { stats, rec } = play(sc);
        const c = rec.connections[0];
        const gaps = checkStream(c.pieces[0], sc.a.bytes).gaps + checkStream(c.pieces[1], sc.b.bytes).gaps;
        assert.equal(stats.gapBytes, gaps);
        assert.equal(c.endReason, 'fin');
      }),
      { numRuns: 300 },
    );
  });

  const garbageSegment = fc.record({
    v6: fc.boolean(),
    src: fc.integer({ min: 1, max: 3 }),
    dst: fc.integer({ min: 1, max: 3 }),
    sport: fc.constantFrom(80, 443, 40000, 40001, 0, 65535),
    dport: fc.constantFrom(80, 443, 40000, 40001, 0, 65535),
    seq: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 2 ** 32 - 3000, max: 2 ** 32 - 1 })),
    ack: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 2 ** 32 - 3000, max: 2 ** 32 - 1 })),
    flags: fc.integer({ min: 0, max: 63 }),
    payload: fc.uint8Array({ maxLength: 300 }),
    extraWire: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100_000 })),
    dt: fc.integer({ min: -2, max: 4 }),
  });

  test('garbage segments never throw and never break the consumer contract', () => {
    fc.assert(
      fc.property(fc.array(garbageSegment, { maxLength: 80 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 200 }), (segs, maxConnections, bufferLimit) => {
        const stats = new Stats();
        const rec = new Recorder();
        const tcp = new TcpReassembler(rec, stats, { maxConnections, maxBufferedBytesPerStream: bufferLimit, connectionIdleSeconds: 3 });
        let sec = 1_700_000_000;
        for (const g of segs) {
          sec += g.dt;
          const addr = (n: number) => (g.v6 ? `2001:db8::${n}` : `10.0.0.${n}`);
          tcp.onSegment(
            buildSegment({
              src: addr(g.src),
              sport: g.sport,
              dst: addr(g.dst),
              dport: g.dport,
              seq: g.seq,
              ack: g.ack,
              flags: g.flags,
              payload: Buffer.from(g.payload),
              wireLen: g.payload.length + g.extraWire,
              tsSec: sec,
            }),
          );
        }
        tcp.finish();
        assert.equal(tcp.activeConnections, 0);
        assert.equal(stats.connections, rec.connections.length);
        for (const c of rec.connections) assert.ok(c.endReason !== undefined, 'every connection ends exactly once');
      }),
      { numRuns: 500 },
    );
  });

  test('mutated frames through the real decoder never make the reassembler throw', () => {
    const base = [
      buildSegment({ src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, seq: 1, flags: SYN }),
      buildSegment({ src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, seq: 2, flags: ACK | PSH, payload: 'GET / HTTP/1.1\r\n\r\n' }),
      buildSegment({ src: '2001:db8::1', sport: 40000, dst: '2001:db8::2', dport: 80, seq: 2, ack: 9, flags: ACK | FIN, payload: 'bye' }),
    ].map((s) => s.data);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: base.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(80)), { maxLength: 40 }),
        (frames) => {
          const stats = new Stats();
          const rec = new Recorder();
          const tcp = new TcpReassembler(rec, stats, { maxConnections: 4, maxBufferedBytesPerStream: 64, connectionIdleSeconds: 5 });
          const decoder = new PacketDecoder(tcp, stats);
          for (const [which, flips, cut] of frames) {
            const frame = Buffer.from(base[which]);
            for (const [at, value] of flips) frame[at % frame.length] = value;
            const capLen = Math.max(0, frame.length - cut);
            decoder.onPacket({ linkType: LinkType.RAW, data: frame, offset: 0, capLen, origLen: frame.length, tsSec: 1, tsNsec: 0, interfaceId: 0 });
          }
          tcp.finish();
          for (const c of rec.connections) assert.ok(c.endReason !== undefined);
        },
      ),
      { numRuns: 500 },
    );
  });
});
