import { createReadStream } from 'node:fs';
import type { TcpSegment, SegmentSink } from '../../src/model/packet.js';
import { readCapture } from '../../src/capture/reader.js';
import { PacketDecoder } from '../../src/net/decode.js';
import { Stats } from '../../src/model/stats.js';

/** A TCP segment copied out of a real capture, so it can be replayed in any order. */
export interface RecordedSegment extends TcpSegment {
  /** Position of the connection's 4-tuple, for shuffling within a connection. */
  flowKey: string;
}

/** Reads every TCP segment of a capture file into standalone copies. */
export async function recordSegments(path: string): Promise<RecordedSegment[]> {
  const out: RecordedSegment[] = [];
  const sink: SegmentSink = {
    onSegment(s) {
      // One buffer per segment holding both addresses and the payload.
      const len = s.addrLen;
      const data = Buffer.alloc(2 * len + s.payloadLen);
      s.data.copy(data, 0, s.srcAddrOffset, s.srcAddrOffset + len);
      s.data.copy(data, len, s.dstAddrOffset, s.dstAddrOffset + len);
      s.data.copy(data, 2 * len, s.payloadOffset, s.payloadOffset + s.payloadLen);
      const a = `${data.subarray(0, len).toString('hex')}:${s.srcPort}`;
      const b = `${data.subarray(len, 2 * len).toString('hex')}:${s.dstPort}`;
      out.push({
        ...s,
        data,
        srcAddrOffset: 0,
        dstAddrOffset: len,
        payloadOffset: 2 * len,
        flowKey: a < b ? `${a}-${b}` : `${b}-${a}`,
      });
    },
  };
  await readCapture(createReadStream(path), new PacketDecoder(sink, new Stats()), new Stats());
  return out;
}

/** The same segment's payload split at `cuts` (offsets inside the payload), sequence numbers adjusted. */
export function splitSegment(s: RecordedSegment, cuts: number[]): RecordedSegment[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < s.payloadLen))].sort((x, y) => x - y);
  if (points.length === 0) return [s];
  const pieces: RecordedSegment[] = [];
  let start = 0;
  for (const end of [...points, s.payloadLen]) {
    const last = end === s.payloadLen;
    pieces.push({
      ...s,
      seq: (s.seq + start) >>> 0,
      // FIN belongs to the last piece only; SYN never carries data here
      flags: last ? s.flags : s.flags & ~0x01,
      payloadOffset: s.payloadOffset + start,
      payloadLen: end - start,
      payloadOrigLen: end - start + (last ? s.payloadOrigLen - s.payloadLen : 0),
    });
    start = end;
  }
  return pieces;
}
