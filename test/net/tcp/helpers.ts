/**
 * Test helpers for the reassembler: real IPv4/IPv6 + TCP header bytes laid
 * out in a Buffer, the TcpSegment a decoder would fill for them, and a
 * consumer that records every callback.
 */
import { isIPv6 } from 'node:net';
import { TcpFlag, type TcpSegment } from '../../../src/model/packet.js';
import type { ConnectionInfo, Direction, EndReason, GapReason, StreamConsumer, StreamConsumerFactory } from '../../../src/model/stream.js';

export const { FIN, SYN, RST, PSH, ACK } = TcpFlag;

export interface SegmentSpec {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  payload?: string | Buffer;
  /** Payload length on the wire when the snaplen cut it (> payload length). */
  wireLen?: number;
  tsSec?: number;
  tsNsec?: number;
}

function addressBytes(text: string): Buffer {
  if (!isIPv6(text)) return Buffer.from(text.split('.').map(Number));
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/**
 * Lays out an IP header, a 20-byte TCP header and the payload into `into`
 * (a fresh buffer unless given, so a test can reuse one scratch buffer the
 * way a capture reader does) and returns the segment a decoder would fill.
 */
export function buildSegment(spec: SegmentSpec, into?: Buffer): TcpSegment {
  const src = addressBytes(spec.src);
  const dst = addressBytes(spec.dst);
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload, 'latin1') : (spec.payload ?? Buffer.alloc(0));
  const v6 = src.length === 16;
  const ipLen = v6 ? 40 : 20;
  const wireLen = spec.wireLen ?? payload.length;
  const total = ipLen + 20 + payload.length;
  const buf = into && into.length >= total ? into : Buffer.alloc(total);
  buf.fill(0, 0, total);
  if (v6) {
    buf[0] = 0x60;
    buf.writeUInt16BE(Math.min(0xffff, 20 + wireLen), 4);
    buf[6] = 6;
    buf[7] = 64;
    src.copy(buf, 8);
    dst.copy(buf, 24);
  } else {
    buf[0] = 0x45;
    buf.writeUInt16BE(Math.min(0xffff, 40 + wireLen), 2);
    buf[8] = 64;
    buf[9] = 6;
    src.copy(buf, 12);
    dst.copy(buf, 16);
  }
  const t = ipLen;
  buf.writeUInt16BE(spec.sport, t);
  buf.writeUInt16BE(spec.dport, t + 2);
  buf.writeUInt32BE(spec.seq >>> 0, t + 4);
  buf.writeUInt32BE((spec.ack ?? 0) >>> 0, t + 8);
  buf[t + 12] = 5 << 4;
  buf[t + 13] = spec.flags;
  buf.writeUInt16BE(65535, t + 14);
  payload.copy(buf, t + 20);
  return {
    data: buf,
    ipVersion: v6 ? 6 : 4,
    addrLen: v6 ? 16 : 4,
    srcAddrOffset: v6 ? 8 : 12,
    dstAddrOffset: v6 ? 24 : 16,
    srcPort: buf.readUInt16BE(t),
    dstPort: buf.readUInt16BE(t + 2),
    seq: buf.readUInt32BE(t + 4),
    ack: buf.readUInt32BE(t + 8),
    flags: buf[t + 13],
    window: buf.readUInt16BE(t + 14),
    payloadOffset: t + 20,
    payloadLen: payload.length,
    payloadOrigLen: wireLen,
    tsSec: spec.tsSec ?? 1_700_000_000,
    tsNsec: spec.tsNsec ?? 0,
  };
}

export type Piece = { kind: 'data'; bytes: Buffer } | { kind: 'gap'; length: number; reason: GapReason };

/** Records every callback; copies bytes because the reassembler's buffers are only valid during the call. */
export class RecordedConnection implements StreamConsumer {
  readonly events: string[] = [];
  readonly pieces: [Piece[], Piece[]] = [[], []];
  endReason: EndReason | undefined;
  /** Throws on a call after onEnd or with an impossible range: the contract, checked on every call. */
  constructor(readonly info: ConnectionInfo) {}

  onData(dir: Direction, data: Buffer, offset: number, length: number, tsSec: number, tsNsec: number): void {
    if (this.endReason !== undefined) throw new Error('onData after onEnd');
    if (length <= 0 || offset < 0 || offset + length > data.length) throw new Error(`bad data range ${offset}+${length} of ${data.length}`);
    if (!Number.isFinite(tsSec) || !Number.isFinite(tsNsec)) throw new Error('bad timestamp');
    const bytes = Buffer.from(data.subarray(offset, offset + length));
    this.pieces[dir].push({ kind: 'data', bytes });
    this.events.push(`${dir === 0 ? 'c>s' : 's>c'} ${JSON.stringify(bytes.toString('latin1'))}`);
  }

  onGap(dir: Direction, length: number, reason: GapReason): void {
    if (this.endReason !== undefined) throw new Error('onGap after onEnd');
    if (length <= 0) throw new Error(`bad gap length ${length}`);
    this.pieces[dir].push({ kind: 'gap', length, reason });
    this.events.push(`${dir === 0 ? 'c>s' : 's>c'} gap ${length} ${reason}`);
  }

  onEnd(reason: EndReason): void {
    if (this.endReason !== undefined) throw new Error('onEnd twice');
    this.endReason = reason;
    this.events.push(`end ${reason}`);
  }

  /** The stream in `dir` as text, gaps shown as [gap N]. */
  text(dir: Direction): string {
    return this.pieces[dir].map((p) => (p.kind === 'data' ? p.bytes.toString('latin1') : `[gap ${p.length}]`)).join('');
  }

  bytes(dir: Direction): Buffer {
    return Buffer.concat(this.pieces[dir].flatMap((p) => (p.kind === 'data' ? [p.bytes] : [])));
  }
}

export class Recorder implements StreamConsumerFactory {
  readonly connections: RecordedConnection[] = [];
  readonly ticks: number[] = [];
  create(conn: ConnectionInfo): RecordedConnection {
    const r = new RecordedConnection(conn);
    this.connections.push(r);
    return r;
  }
  onTick(sec: number): void {
    this.ticks.push(sec);
  }
}

export interface EndpointSpec {
  address: string;
  port: number;
  /** Initial sequence number: the first data byte is isn + 1. */
  isn: number;
}

/**
 * Two endpoints talking. Positions are stream offsets (0 = first data byte),
 * so tests read like the byte streams they describe; sequence numbers are
 * derived from each side's ISN and wrap like the real ones.
 */
export class Dialog {
  tsSec = 1_700_000_000;
  tsNsec = 0;
  constructor(
    readonly deliver: (seg: TcpSegment) => void,
    readonly client: EndpointSpec,
    readonly server: EndpointSpec,
  ) {}

  #send(fromClient: boolean, flags: number, at: number, payload: string | Buffer, ackAt: number | undefined, wireLen?: number): void {
    const me = fromClient ? this.client : this.server;
    const peer = fromClient ? this.server : this.client;
    const isSyn = (flags & SYN) !== 0;
    this.tsNsec += 1000;
    this.deliver(
      buildSegment({
        src: me.address,
        sport: me.port,
        dst: peer.address,
        dport: peer.port,
        seq: isSyn ? me.isn : me.isn + 1 + at,
        ack: ackAt === undefined ? 0 : peer.isn + 1 + ackAt,
        flags: ackAt === undefined ? flags : flags | ACK,
        payload,
        wireLen,
        tsSec: this.tsSec,
        tsNsec: this.tsNsec,
      }),
    );
  }

  syn(): void {
    this.#send(true, SYN, 0, '', undefined);
  }
  synAck(): void {
    this.#send(false, SYN, 0, '', 0);
  }
  handshake(): void {
    this.syn();
    this.synAck();
    this.clientAck(0);
  }
  /** Client data at stream offset `at`, acknowledging the server's stream up to `ackAt`. */
  c(at: number, payload: string | Buffer, ackAt = 0, flags = PSH): void {
    this.#send(true, flags, at, payload, ackAt);
  }
  s(at: number, payload: string | Buffer, ackAt = 0, flags = PSH): void {
    this.#send(false, flags, at, payload, ackAt);
  }
  /** Snaplen-cut client segment: `payload` captured of `wireLen` bytes. */
  cTruncated(at: number, payload: string, wireLen: number, ackAt = 0): void {
    this.#send(true, PSH, at, payload, ackAt, wireLen);
  }
  clientAck(ackAt: number, at = 0): void {
    this.#send(true, 0, at, '', ackAt);
  }
  serverAck(ackAt: number, at = 0): void {
    this.#send(false, 0, at, '', ackAt);
  }
  clientFin(at: number, ackAt = 0, payload = ''): void {
    this.#send(true, FIN, at, payload, ackAt);
  }
  serverFin(at: number, ackAt = 0, payload = ''): void {
    this.#send(false, FIN, at, payload, ackAt);
  }
  clientRst(at: number): void {
    this.#send(true, RST, at, '', undefined);
  }
  /** Advance capture time by whole seconds. */
  wait(seconds: number): void {
    this.tsSec += seconds;
  }
}
