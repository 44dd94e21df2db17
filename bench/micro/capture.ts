/**
 * readCapture + PacketDecoder throughput on a capture synthesised in memory
 * by repeating the packet records of a real recording (no large files).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../../src/capture/reader.js';
import { PacketDecoder } from '../../src/net/decode.js';
import type { TcpSegment } from '../../src/model/packet.js';
import { Stats } from '../../src/model/stats.js';

const TARGET_BYTES = 128 * 1024 * 1024;
const CHUNK = 1 << 20;
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** One big pcap: the real file header, then the real records repeated; handed out in 1 MiB chunks like a file stream. */
function synthesise(name: string): Buffer[] {
  const real = readFileSync(fileURLToPath(new URL(`../../test/fixtures/capture/${name}`, import.meta.url)));
  const records = real.subarray(24);
  const repeats = Math.ceil(TARGET_BYTES / records.length);
  const whole = Buffer.allocUnsafe(24 + repeats * records.length);
  real.copy(whole, 0, 0, 24);
  for (let i = 0; i < repeats; i++) records.copy(whole, 24 + i * records.length);
  const chunks: Buffer[] = [];
  for (let off = 0; off < whole.length; off += CHUNK) chunks.push(whole.subarray(off, off + CHUNK));
  return chunks;
}

async function* stream(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

async function measure(chunks: Buffer[], decode: boolean): Promise<{ seconds: number; packets: number; bytes: number }> {
  const stats = new Stats();
  let payload = 0;
  const segmentSink = { onSegment: (s: TcpSegment) => void (payload += s.payloadLen) };
  const sink = decode ? new PacketDecoder(segmentSink, stats) : { onPacket: () => undefined };
  const start = process.hrtime.bigint();
  const info = await readCapture(stream(chunks), sink, stats);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const bytes = chunks.reduce((n, c) => n + c.length, 0);
  if (decode && payload === 0) throw new Error('decoder produced no payload');
  return { seconds, packets: info.packets, bytes };
}

export async function bench(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const out: Array<{ name: string; value: number; unit: string }> = [];
  for (const [label, fixture] of [
    ['ethernet', 'http-lo-usec.pcap'],
    ['ethernet-vlan', 'http-vlan.pcap'],
  ] as const) {
    const chunks = synthesise(fixture);
    for (const decode of [false, true]) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await measure(chunks, decode));
      const seconds = median(runs.map((r) => r.seconds));
      const what = decode ? 'read+decode' : 'read';
      out.push({ name: `${what} ${label} MB/s`, value: runs[0].bytes / 1e6 / seconds, unit: 'MB/s' });
      out.push({ name: `${what} ${label} packets/s`, value: runs[0].packets / seconds, unit: 'packets/s' });
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await bench()) console.log(`${r.name}: ${r.value.toFixed(1)} ${r.unit}`);
}
