// TCP reassembly throughput with a consumer that does nothing: bulk
// transfers over many connections, data segments interleaved with pure ACKs
// the way a receiver sends them, one scratch TcpSegment refilled per segment
// as the decoder does. Once in order, once with 5% of data segments
// swapped with a later one (each then waits in the out-of-order buffer).
import { TcpFlag, type TcpSegment } from '../../src/model/packet.js';
import { Stats } from '../../src/model/stats.js';
import type { StreamConsumer } from '../../src/model/stream.js';
import { TcpReassembler } from '../../src/net/tcp/reassembler.js';

const CONNECTIONS = 64;
const SEGMENTS_PER_CONNECTION = 3000;
const MSS = 1448;
const RUNS = 7;

interface Plan {
  count: number;
  conn: Uint16Array;
  fromServer: Uint8Array;
  seq: Uint32Array;
  ack: Uint32Array;
  flags: Uint8Array;
  len: Uint16Array;
  payloadBytes: number;
}

/** xorshift32: the same plan on every run and machine. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function makePlan(reorderFraction: number): Plan {
  const perConn = 3 + SEGMENTS_PER_CONNECTION + Math.ceil(SEGMENTS_PER_CONNECTION / 2);
  const n = CONNECTIONS * perConn;
  const plan: Plan = {
    count: 0,
    conn: new Uint16Array(n),
    fromServer: new Uint8Array(n),
    seq: new Uint32Array(n),
    ack: new Uint32Array(n),
    flags: new Uint8Array(n),
    len: new Uint16Array(n),
    payloadBytes: 0,
  };
  const random = rng(0x9e3779b9);
  const push = (conn: number, fromServer: boolean, seq: number, ack: number, flags: number, len: number) => {
    const i = plan.count++;
    plan.conn[i] = conn;
    plan.fromServer[i] = fromServer ? 1 : 0;
    plan.seq[i] = seq >>> 0;
    plan.ack[i] = ack >>> 0;
    plan.flags[i] = flags;
    plan.len[i] = len;
    plan.payloadBytes += len;
  };
  // Per connection: handshake, then the server streams; connections interleave round-robin.
  const clientIsn = (c: number) => (c * 2654435761) >>> 0;
  const serverIsn = (c: number) => (c * 40503 + 0xfffff000) >>> 0; // some cross 2^32
  for (let c = 0; c < CONNECTIONS; c++) {
    push(c, false, clientIsn(c), 0, TcpFlag.SYN, 0);
    push(c, true, serverIsn(c), clientIsn(c) + 1, TcpFlag.SYN | TcpFlag.ACK, 0);
    push(c, false, clientIsn(c) + 1, serverIsn(c) + 1, TcpFlag.ACK, 0);
  }
  const order: number[] = Array.from({ length: SEGMENTS_PER_CONNECTION }, (_, i) => i);
  // Each segment moves at most two places, so the receiver's ACKs never run ahead of what it was sent.
  for (let i = 0; i + 2 < order.length; i++) {
    if (random() < reorderFraction / 2) {
      [order[i], order[i + 2]] = [order[i + 2], order[i]];
      i += 2;
    }
  }
  for (let k = 0; k < SEGMENTS_PER_CONNECTION; k++) {
    for (let c = 0; c < CONNECTIONS; c++) {
      const s = order[k];
      push(c, true, serverIsn(c) + 1 + s * MSS, clientIsn(c) + 1, TcpFlag.ACK | TcpFlag.PSH, MSS);
      if (k % 2 === 1) push(c, false, clientIsn(c) + 1, serverIsn(c) + 1 + (k - 1) * MSS, TcpFlag.ACK, 0);
    }
  }
  return plan;
}

/** One frame per connection direction: IPv4 addresses and a payload area the segments point into. */
function frames(): Buffer[][] {
  const out: Buffer[][] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const pair: Buffer[] = [];
    for (const fromServer of [false, true]) {
      const f = Buffer.alloc(40 + MSS, 0x61);
      const client = [10, 1, c >> 8, c & 0xff];
      const server = [10, 2, 0, 1];
      Buffer.from(fromServer ? server : client).copy(f, 12);
      Buffer.from(fromServer ? client : server).copy(f, 16);
      pair.push(f);
    }
    out.push(pair);
  }
  return out;
}

const noop: StreamConsumer = { onData() {}, onGap() {}, onEnd() {} };

function runOnce(plan: Plan, frameSet: Buffer[][]): { seconds: number; stats: Stats } {
  const stats = new Stats();
  const tcp = new TcpReassembler({ create: () => noop }, stats, {
    maxConnections: 100_000,
    maxBufferedBytesPerStream: 1 << 20,
    connectionIdleSeconds: 300,
  });
  const seg: TcpSegment = {
    data: frameSet[0][0],
    ipVersion: 4,
    addrLen: 4,
    srcAddrOffset: 12,
    dstAddrOffset: 16,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 65535,
    payloadOffset: 40,
    payloadLen: 0,
    payloadOrigLen: 0,
    tsSec: 1_700_000_000,
    tsNsec: 0,
  };
  const started = process.hrtime.bigint();
  for (let i = 0; i < plan.count; i++) {
    const c = plan.conn[i];
    const fromServer = plan.fromServer[i] === 1;
    seg.data = frameSet[c][fromServer ? 1 : 0];
    seg.srcPort = fromServer ? 8080 : 40000 + c;
    seg.dstPort = fromServer ? 40000 + c : 8080;
    seg.seq = plan.seq[i];
    seg.ack = plan.ack[i];
    seg.flags = plan.flags[i];
    seg.payloadLen = plan.len[i];
    seg.payloadOrigLen = plan.len[i];
    seg.tsNsec = i % 1_000_000_000;
    tcp.onSegment(seg);
  }
  tcp.finish();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, stats };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function bench(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const frameSet = frames();
  const results: Array<{ name: string; value: number; unit: string }> = [];
  for (const [label, fraction] of [
    ['in order', 0],
    ['5% reordered', 0.05],
  ] as const) {
    const plan = makePlan(fraction);
    const { stats } = runOnce(plan, frameSet); // warm-up, and proof the workload is what it claims
    if (stats.gapBytes !== 0 || stats.connections !== CONNECTIONS) throw new Error(`tcp bench workload is wrong: ${JSON.stringify(stats)}`);
    if (fraction > 0 && stats.tcp.get('out-of-order') < (fraction / 4) * CONNECTIONS * SEGMENTS_PER_CONNECTION) throw new Error('tcp bench: too little reordering');
    const seconds = median(Array.from({ length: RUNS }, () => runOnce(plan, frameSet).seconds));
    results.push({ name: `${label}: segments`, value: plan.count / seconds / 1e6, unit: 'M segments/s' });
    results.push({ name: `${label}: payload`, value: plan.payloadBytes / seconds / 1e6, unit: 'MB/s' });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await bench()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}`);
}
