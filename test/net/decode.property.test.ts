import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PacketDecoder } from '../../src/net/decode.js';
import { LinkType, type RawPacket, type TcpSegment } from '../../src/model/packet.js';
import { Stats } from '../../src/model/stats.js';
import { fixture, readPackets } from '../capture/helpers.js';

const LINK_TYPES = [...Object.values(LinkType), 12, 14, 147];

/** The decoder never throws, counts every packet once, and every segment it emits lies inside the frame. */
function decodeChecked(frame: Buffer, linkType: number, origLen: number): Stats {
  const stats = new Stats();
  let emitted = 0;
  const sink = {
    onSegment(s: TcpSegment): void {
      emitted++;
      assert.ok(s.payloadLen >= 0 && s.payloadOrigLen >= s.payloadLen);
      assert.ok(s.payloadOffset + s.payloadLen <= frame.length);
      assert.ok(s.srcAddrOffset + s.addrLen <= frame.length && s.dstAddrOffset + s.addrLen <= frame.length);
    },
  };
  const pkt: RawPacket = { linkType, data: frame, offset: 0, capLen: frame.length, origLen, tsSec: 0, tsNsec: 0, interfaceId: 0 };
  new PacketDecoder(sink, stats).onPacket(pkt);
  assert.equal(stats.packets, 1);
  assert.equal(emitted + stats.nonTcpPackets + stats.undecodable.total(), 1, 'exactly one fate per packet');
  return stats;
}

test('random frames of every link type: exactly one fate each, never a throw', () => {
  fc.assert(
    fc.property(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 200 }), fc.nat(400), (linkType, bytes, extra) => {
      const frame = Buffer.from(bytes);
      decodeChecked(frame, linkType, frame.length + (extra % 3 === 0 ? 0 : extra));
    }),
    { numRuns: 2000 },
  );
});

test('mutated real frames (Ethernet, VLAN, IPv6, cooked, raw): exactly one fate each, never a throw', async () => {
  const frames: Array<{ linkType: number; bytes: Buffer }> = [];
  for (const name of ['http-lo-usec.pcap', 'http-qinq-ipv6.pcap', 'http-any-sll.pcap', 'http-any-sll2.pcap', 'http-raw-tun.pcap', 'http-null.pcap']) {
    for (const p of (await readPackets(fixture(name))).packets) frames.push({ linkType: p.linkType, bytes: Buffer.from(p.bytes, 'hex') });
  }
  fc.assert(
    fc.property(
      fc.nat(frames.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
      fc.nat(),
      (index, flips, cut) => {
        const { linkType, bytes } = frames[index];
        const frame = Buffer.from(bytes);
        for (const [at, v] of flips) frame[at % frame.length] = v;
        decodeChecked(frame.subarray(0, cut % (frame.length + 1)), linkType, frame.length);
      },
    ),
    { numRuns: 2000 },
  );
});
