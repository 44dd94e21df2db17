import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WiretraceError } from '../../src/errors.js';
import { decodeSegments, fixture, readPackets } from './helpers.js';

const CAPTURES = ['http-lo-usec.pcap', 'http-lo-usec-bigendian.pcap', 'http-two-interfaces.pcapng', 'http-tsresol-binary.pcapng', 'http-lo-usec.pcap.gz', 'http-qinq-ipv6.pcap'];
const RUNS = { numRuns: 150 };

async function onlyWiretraceErrors(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (e) {
    assert.ok(e instanceof WiretraceError, `threw ${String((e as Error)?.stack ?? e)}`);
  }
}

/** Bytes that make a valid file start: pcap file header, or pcapng SHB + first IDB. */
function validStart(name: string): Buffer {
  const buf = fixture(name);
  if (buf.readUInt32BE(0) !== 0x0a0d0d0a) return buf.subarray(0, 24);
  const shb = buf.readUInt32LE(4);
  return buf.subarray(0, shb + buf.readUInt32LE(shb + 4));
}

describe('capture reader properties', () => {
  test('random bytes after a valid header: packets or a WiretraceError, never another throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('http-lo-usec.pcap', 'http-lo-nsec.pcap', 'http-lo-usec-bigendian.pcap', 'http-two-interfaces.pcapng'),
        fc.uint8Array({ maxLength: 600 }),
        async (name, tail) => {
          await onlyWiretraceErrors(() => decodeSegments(Buffer.concat([validStart(name), tail])));
        },
      ),
      RUNS,
    );
  });

  test('random bytes with plausible record headers after a valid pcap header', async () => {
    // Small lengths keep the parser past the header check and into the decoder.
    const record = fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.nat(200)).map(([data, orig]) => {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(1_700_000_000, 0);
      h.writeUInt32LE(data.length, 8);
      h.writeUInt32LE(orig, 12);
      return Buffer.concat([h, data]);
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 20 }), async (records) => {
        const header = Buffer.from(validStart('http-lo-usec.pcap'));
        const { packets } = await readPackets(Buffer.concat([header, ...records]));
        assert.equal(packets.length, records.length);
        await decodeSegments(Buffer.concat([header, ...records]));
      }),
      RUNS,
    );
  });

  test('random truncation of a real capture never fails: a prefix of its packets, the cut counted', async () => {
    for (const name of CAPTURES) {
      const full = fixture(name);
      const whole = await readPackets(full);
      // Record ends of a pcap: where a cut leaves no partial record behind.
      const recordEnds = new Set<number>([24]);
      let end = 24;
      for (const p of whole.packets) recordEnds.add((end += 16 + p.capLen));
      const isPcap = full.readUInt32BE(0) === 0xd4c3b2a1 || full.readUInt32BE(0) === 0xa1b2c3d4;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: name.endsWith('.gz') ? 200 : 4, max: full.length }), async (cut) => {
          const { packets, info, stats } = await readPackets(full.subarray(0, cut));
          assert.deepEqual(packets, whole.packets.slice(0, packets.length));
          assert.equal(stats.undecodable.get('truncated-record'), info.truncatedTail ? 1 : 0);
          if (cut === full.length) assert.equal(info.truncatedTail, false);
          if (isPcap) {
            assert.equal(info.truncatedTail, !recordEnds.has(cut), `cut at ${cut}`);
            assert.equal(packets.length, [...recordEnds].filter((e) => e > 24 && e <= cut).length);
          }
        }),
        { numRuns: 60 },
      );
    }
  });

  test('chunk boundaries never change the packets or segments', async () => {
    for (const name of CAPTURES) {
      const buf = fixture(name);
      const reference = await decodeSegments(buf);
      const referencePackets = await readPackets(buf);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }), async (sizes) => {
          const { packets, info } = await readPackets(buf, sizes);
          assert.deepEqual(packets, referencePackets.packets);
          assert.deepEqual(info, referencePackets.info);
          const { segments } = await decodeSegments(buf, sizes);
          assert.deepEqual(segments, reference.segments);
        }),
        { numRuns: 40 },
      );
    }
  });

  test('one byte at a time gives the same packets', async () => {
    for (const name of CAPTURES) {
      const buf = fixture(name);
      assert.deepEqual((await readPackets(buf, [1])).packets, (await readPackets(buf)).packets, name);
    }
  });

  test('random byte flips in a real capture: only WiretraceErrors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CAPTURES),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
        async (name, flips) => {
          const buf = Buffer.from(fixture(name));
          for (const [at, x] of flips) buf[at % buf.length] ^= x;
          await onlyWiretraceErrors(() => decodeSegments(buf));
        },
      ),
      RUNS,
    );
  });
});
