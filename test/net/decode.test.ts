import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PacketDecoder, formatIPv4, formatIPv6 } from '../../src/net/decode.js';
import { LinkType, TcpFlag, type RawPacket } from '../../src/model/packet.js';
import { Stats } from '../../src/model/stats.js';
import {
  SegmentCollector,
  decodeSegments,
  fixture,
  fixturePath,
  publicCapturePath,
  readPackets,
  requireTshark,
  timeString,
  tsharkSegments,
  type SegmentRecord,
} from '../capture/helpers.js';

const RECORDED = [
  'http-lo-usec.pcap',
  'http-lo-nsec.pcap',
  'http-lo-usec-bigendian.pcap',
  'http-lo-snap96.pcap',
  'http-any-sll.pcap',
  'http-any-sll2.pcap',
  'http-ipv6-lo.pcap',
  'http-raw-tun.pcap',
  'http-null.pcap',
  'http-ipv6-null-bigendian-af.pcap',
  'http-loop.pcap',
  'http-vlan.pcap',
  'http-qinq-ipv6.pcap',
  'http-two-interfaces.pcapng',
  'http-lo-nsec.pcapng',
];
const PUBLIC = ['simple_http.pcap', 'simple_http_sll2.pcap', 'simple_http_tzsp.pcapng', '200722_tcp_anon.pcapng', 'teardrop.pcap', 'tls_ciphers.pcap', 'quic_xargs.pcap'];

function assertMatchesTshark(ours: SegmentRecord[], path: string, compareTimes: boolean): void {
  const theirs = tsharkSegments(path);
  assert.equal(ours.length, theirs.length, 'TCP segments');
  for (let i = 0; i < ours.length; i++) {
    const o = ours[i];
    const t = theirs[i];
    const where = `segment ${i}`;
    assert.deepEqual(
      [o.srcPort, o.dstPort, o.seq, o.ack, o.payloadOrigLen],
      [t.srcPort, t.dstPort, t.seq, t.ack, t.len],
      where,
    );
    if (compareTimes) assert.equal(timeString(o.tsSec, o.tsNsec), t.time, where);
  }
}

describe('TCP segments agree with tshark (ports, raw seq/ack, payload length, time)', () => {
  for (const name of RECORDED) {
    test(name, async (t) => {
      if (!requireTshark(t)) return;
      const { segments, stats } = await decodeSegments(fixture(name));
      assert.equal(stats.undecodable.total(), 0, JSON.stringify(stats.undecodable));
      assertMatchesTshark(segments, fixturePath(name), true);
    });
  }
  for (const name of PUBLIC) {
    test(`public: ${name}`, async (t) => {
      if (!requireTshark(t)) return;
      const { segments, stats } = await decodeSegments(readFileSync(publicCapturePath(name)));
      assert.equal(stats.packets, (await readPackets(readFileSync(publicCapturePath(name)))).packets.length);
      assertMatchesTshark(segments, publicCapturePath(name), true);
    });
  }
});

describe('link layers', () => {
  test('HTTP over lo: addresses, ports and the request bytes come out of the Ethernet frames', async () => {
    const { segments, stats } = await decodeSegments(fixture('http-lo-usec.pcap'));
    assert.equal(stats.nonTcpPackets, 0);
    const syn = segments[0];
    assert.equal(syn.flags & (TcpFlag.SYN | TcpFlag.ACK), TcpFlag.SYN);
    assert.equal(syn.src, '127.0.0.1');
    assert.equal(syn.dst, '127.0.0.1');
    assert.equal(syn.dstPort, 39123);
    const request = segments.find((s) => s.payload.startsWith('GET / HTTP/1.1\r\n'));
    assert.ok(request, 'request segment');
    assert.equal(request.payloadLen, request.payloadOrigLen);
    const response = segments.find((s) => s.payload.startsWith('HTTP/1.1 200 OK'));
    assert.ok(response?.payload.endsWith('hello from wiretrace\n'));
  });

  for (const [derived, original] of [
    ['http-lo-usec-bigendian.pcap', 'http-lo-usec.pcap'],
    ['http-null.pcap', 'http-lo-usec.pcap'],
    ['http-loop.pcap', 'http-lo-usec.pcap'],
    ['http-vlan.pcap', 'http-lo-usec.pcap'],
    ['http-ipv6-null-bigendian-af.pcap', 'http-ipv6-lo.pcap'],
    ['http-qinq-ipv6.pcap', 'http-ipv6-lo.pcap'],
  ]) {
    test(`${derived} decodes to the same segments as ${original}`, async () => {
      const a = await decodeSegments(fixture(derived));
      const b = await decodeSegments(fixture(original));
      assert.ok(a.segments.length > 0);
      assert.deepEqual(a.segments, b.segments);
    });
  }

  test('IPv6 on lo: addresses print as ::1', async () => {
    const { segments } = await decodeSegments(fixture('http-ipv6-lo.pcap'));
    assert.ok(segments.length > 0);
    for (const s of segments) assert.deepEqual([s.src, s.dst], ['::1', '::1']);
  });

  test('raw IP from a tun link between two namespaces', async () => {
    const { info, segments } = await decodeSegments(fixture('http-raw-tun.pcap'));
    assert.deepEqual(info.linkTypes, [LinkType.RAW]);
    assert.ok(segments.some((s) => s.src === '10.231.0.1' && s.dst === '10.231.0.2' && s.payload.startsWith('GET /')));
  });

  test('Linux cooked v1 and v2 captures on "any" carry the HTTP exchange', async () => {
    for (const name of ['http-any-sll.pcap', 'http-any-sll2.pcap']) {
      const { segments } = await decodeSegments(fixture(name));
      assert.ok(segments.some((s) => s.payload.startsWith('GET / HTTP/1.1')), name);
      assert.ok(segments.some((s) => s.payload.startsWith('HTTP/1.1 200')), name);
    }
  });

  test('snaplen 96: payloadLen is what was captured, payloadOrigLen what the IP header says', async () => {
    const { segments, stats } = await decodeSegments(fixture('http-lo-snap96.pcap'));
    const cut = segments.filter((s) => s.payloadOrigLen > s.payloadLen);
    assert.ok(cut.length > 0);
    assert.ok(cut.some((s) => s.payloadOrigLen > 3000), 'the 3000-byte response is one segment on lo');
    assert.equal(stats.undecodable.total(), 0);
  });

  test('Ethernet padding is not payload (a public capture with padded frames)', async (t) => {
    if (!requireTshark(t)) return;
    const { segments } = await decodeSegments(readFileSync(publicCapturePath('200722_tcp_anon.pcapng')));
    // tshark reports 9 padded frames there; matching tcp.len for every segment is the proof, the count the premise.
    assert.ok(segments.some((s) => s.payloadLen === 0));
    assertMatchesTshark(segments, publicCapturePath('200722_tcp_anon.pcapng'), false);
  });

  test('teardrop: overlapping IP fragments are counted, not decoded', async () => {
    const { stats, segments } = await decodeSegments(readFileSync(publicCapturePath('teardrop.pcap')));
    assert.equal(segments.length, 0);
    assert.ok(stats.undecodable.get('ip-fragment') >= 2);
    assert.ok(stats.nonTcpPackets > 0);
  });

  test('stats count every packet and its wire bytes', async () => {
    const { stats, info } = await decodeSegments(fixture('http-two-interfaces.pcapng'));
    assert.equal(stats.packets, info.packets);
    assert.equal(stats.bytes, info.bytes);
  });
});

describe('frames the decoder refuses are counted by reason', () => {
  // Real frames from a recording, cut or altered to hit each rule.
  async function firstFrame(name: string): Promise<Buffer> {
    const { packets } = await readPackets(fixture(name));
    return Buffer.from(packets.find((p) => p.capLen > 60)!.bytes, 'hex');
  }
  function decodeOne(frame: Buffer, linkType: number, origLen = frame.length): { stats: Stats; segments: SegmentRecord[] } {
    const stats = new Stats();
    const sink = new SegmentCollector();
    const pkt: RawPacket = { linkType, data: frame, offset: 0, capLen: frame.length, origLen, tsSec: 1, tsNsec: 2, interfaceId: 0 };
    new PacketDecoder(sink, stats).onPacket(pkt);
    return { stats, segments: sink.segments };
  }

  test('a frame cut inside the TCP header', async () => {
    const frame = await firstFrame('http-lo-usec.pcap');
    const { stats } = decodeOne(frame.subarray(0, 14 + 20 + 10), LinkType.ETHERNET, frame.length);
    assert.equal(stats.undecodable.get('truncated-tcp-header'), 1);
  });

  test('a first fragment (more-fragments set) is skipped as ip-fragment', async () => {
    const frame = await firstFrame('http-lo-usec.pcap');
    frame.writeUInt16BE(0x2000, 14 + 6);
    assert.equal(decodeOne(frame, LinkType.ETHERNET).stats.undecodable.get('ip-fragment'), 1);
  });

  test('an 802.3 length field instead of an EtherType is non-IP', async () => {
    const frame = await firstFrame('http-lo-usec.pcap');
    frame.writeUInt16BE(frame.length - 14, 12);
    const { stats } = decodeOne(frame, LinkType.ETHERNET);
    assert.equal(stats.nonTcpPackets, 1);
    assert.equal(stats.undecodable.total(), 0);
  });

  test('an unknown link type', async () => {
    const frame = await firstFrame('http-lo-usec.pcap');
    assert.equal(decodeOne(frame, 147).stats.undecodable.get('unsupported-link-type'), 1);
  });

  test('IP total length 0 (captured before segmentation offload) takes the frame length', async () => {
    const frame = await firstFrame('http-lo-usec.pcap');
    const intact = decodeOne(Buffer.from(frame), LinkType.ETHERNET).segments[0];
    frame.writeUInt16BE(0, 14 + 2);
    assert.deepEqual(decodeOne(frame, LinkType.ETHERNET).segments[0], intact);
  });
});

describe('address formatting', () => {
  const v6 = (text: string): Buffer => {
    // Expand by hand-free parsing through URL's IPv6 canonicaliser, then pack.
    const groups = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    const [head, tail] = groups.includes('::') ? groups.split('::') : [groups, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const all = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const buf = Buffer.alloc(16);
    all.forEach((g, i) => buf.writeUInt16BE(parseInt(g, 16), i * 2));
    return buf;
  };

  test('IPv4 dotted quad at an offset', () => {
    assert.equal(formatIPv4(Buffer.from([9, 10, 0, 0, 1, 255]), 2), '0.0.1.255');
  });

  test('IPv6 follows RFC 5952', () => {
    const cases: Array<[string, string]> = [
      ['0:0:0:0:0:0:0:1', '::1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of equal runs wins
      ['fe80:0:0:0:abcd:ef:0:0', 'fe80::abcd:ef:0:0'],
      ['2001:DB8:0:0:0:0:0:0', '2001:db8::'],
      ['0:0:0:0:0:ffff:7f00:1', '::ffff:127.0.0.1'],
    ];
    for (const [input, expected] of cases) {
      const buf = Buffer.concat([Buffer.from([0xaa, 0xbb]), v6(input)]);
      assert.equal(formatIPv6(buf, 2), expected, input);
    }
  });

  test('formatting agrees with Node for every address in the recordings', async () => {
    const { segments } = await decodeSegments(fixture('http-ipv6-lo.pcap'));
    for (const s of segments) assert.equal(new URL(`http://[${s.src}]/`).hostname, `[${s.src}]`);
  });
});
