/** Shared by the capture and decode tests: run real captures through the reader and decoder. */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readCapture, type CaptureInfo } from '../../src/capture/reader.js';
import { PacketDecoder, formatIPv4, formatIPv6 } from '../../src/net/decode.js';
import type { PacketSink, RawPacket, SegmentSink, TcpSegment } from '../../src/model/packet.js';
import { Stats } from '../../src/model/stats.js';

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/capture/${name}`, import.meta.url));
}

/** Public captures shared beside the checkout (see its README). */
export function publicCapturePath(name: string): string {
  return fileURLToPath(new URL(`../../../shared/corpus/public/${name}`, import.meta.url));
}

export function fixture(name: string): Buffer {
  return readFileSync(fixturePath(name));
}

export interface PacketRecord {
  linkType: number;
  interfaceId: number;
  capLen: number;
  origLen: number;
  tsSec: number;
  tsNsec: number;
  /** hex of the captured bytes */
  bytes: string;
}

export interface SegmentRecord {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payloadLen: number;
  payloadOrigLen: number;
  payload: string;
  tsSec: number;
  tsNsec: number;
}

export class PacketCollector implements PacketSink {
  readonly packets: PacketRecord[] = [];
  onPacket(p: RawPacket): void {
    this.packets.push({
      linkType: p.linkType,
      interfaceId: p.interfaceId,
      capLen: p.capLen,
      origLen: p.origLen,
      tsSec: p.tsSec,
      tsNsec: p.tsNsec,
      bytes: p.data.toString('hex', p.offset, p.offset + p.capLen),
    });
  }
}

export class SegmentCollector implements SegmentSink {
  readonly segments: SegmentRecord[] = [];
  onSegment(s: TcpSegment): void {
    const fmt = s.addrLen === 4 ? formatIPv4 : formatIPv6;
    this.segments.push({
      src: fmt(s.data, s.srcAddrOffset),
      dst: fmt(s.data, s.dstAddrOffset),
      srcPort: s.srcPort,
      dstPort: s.dstPort,
      seq: s.seq,
      ack: s.ack,
      flags: s.flags,
      window: s.window,
      payloadLen: s.payloadLen,
      payloadOrigLen: s.payloadOrigLen,
      payload: s.data.toString('latin1', s.payloadOffset, s.payloadOffset + s.payloadLen),
      tsSec: s.tsSec,
      tsNsec: s.tsNsec,
    });
  }
}

/** Split `buf` at the given sizes (cycled), as a stream of chunks. */
export async function* chunked(buf: Buffer, sizes: number[] = [buf.length || 1]): AsyncGenerator<Buffer> {
  let i = 0;
  for (let off = 0; off < buf.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]);
    // A copy per chunk, as a file stream would hand out fresh buffers.
    yield Buffer.from(buf.subarray(off, off + n));
    off += n;
  }
}

export async function readPackets(buf: Buffer, sizes?: number[]): Promise<{ info: CaptureInfo; packets: PacketRecord[]; stats: Stats }> {
  const stats = new Stats();
  const sink = new PacketCollector();
  const info = await readCapture(chunked(buf, sizes), sink, stats);
  return { info, packets: sink.packets, stats };
}

export async function decodeSegments(buf: Buffer, sizes?: number[]): Promise<{ info: CaptureInfo; segments: SegmentRecord[]; stats: Stats }> {
  const stats = new Stats();
  const sink = new SegmentCollector();
  const info = await readCapture(chunked(buf, sizes), new PacketDecoder(sink, stats), stats);
  return { info, segments: sink.segments, stats };
}

export const tsharkAvailable = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

/** What tshark says about the TCP segments of a capture (one row per frame with a TCP header outside ICMP). */
export function tsharkSegments(path: string): Array<{ srcPort: number; dstPort: number; seq: number; ack: number; len: number; time: string }> {
  const r = spawnSync(
    'tshark',
    ['-n', '-r', path, '-Y', 'tcp && !icmp && !icmpv6', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.seq_raw', '-e', 'tcp.ack_raw', '-e', 'tcp.len', '-e', 'frame.time_epoch'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`tshark failed on ${path}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [srcPort, dstPort, seq, ack, len, time] = l.split('\t');
      return { srcPort: Number(srcPort), dstPort: Number(dstPort), seq: Number(seq), ack: Number(ack), len: Number(len), time };
    });
}

/** Frames in the capture according to tshark. */
export function tsharkFrameCount(path: string): number {
  const r = spawnSync('tshark', ['-n', '-r', path, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark failed on ${path}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0).length;
}

/** Skip visibly when tshark is missing; under CI its absence is a failure. */
export function requireTshark(t: { skip(message: string): void }): boolean {
  if (tsharkAvailable) return true;
  if (process.env.CI === 'true') throw new Error('tshark is required under CI=true but is not installed');
  t.skip('tshark is not installed: comparison with tshark skipped');
  return false;
}

export function timeString(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}
