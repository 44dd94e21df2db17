import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openCaptureSource, readCapture } from '../../src/capture/reader.js';
import { WiretraceError } from '../../src/errors.js';
import { LinkType } from '../../src/model/packet.js';
import { Stats } from '../../src/model/stats.js';
import {
  PacketCollector,
  fixture,
  fixturePath,
  publicCapturePath,
  readPackets,
  requireTshark,
  timeString,
  tsharkFrameCount,
} from './helpers.js';

const FIXTURES = [
  'http-lo-usec.pcap',
  'http-lo-nsec.pcap',
  'http-lo-usec-bigendian.pcap',
  'http-lo-snap96.pcap',
  'http-lo-usec.pcap.gz',
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
  'http-tsresol-binary.pcapng',
];

const PUBLIC = [
  'simple_http.pcap',
  'simple_http_sll2.pcap',
  'simple_http_tzsp.pcapng',
  '200722_tcp_anon.pcapng',
  'teardrop.pcap',
  'tls_ciphers.pcap',
  'quic_xargs.pcap',
];

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<WiretraceError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof WiretraceError, `expected a WiretraceError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe('pcap', () => {
  test('a microsecond pcap recorded by tcpdump on lo yields Ethernet frames with microsecond times', async () => {
    const { info, packets } = await readPackets(fixture('http-lo-usec.pcap'));
    assert.equal(info.format, 'pcap');
    assert.equal(info.compressed, false);
    assert.deepEqual(info.linkTypes, [LinkType.ETHERNET]);
    assert.equal(info.snaplen, 262144);
    assert.equal(info.truncatedTail, false);
    assert.equal(info.packets, packets.length);
    assert.ok(packets.length >= 10);
    for (const p of packets) {
      assert.equal(p.tsNsec % 1000, 0);
      assert.equal(p.capLen, p.origLen);
      assert.ok(p.tsSec > 1_600_000_000);
    }
    assert.equal(info.bytes, packets.reduce((n, p) => n + p.origLen, 0));
  });

  test('a nanosecond pcap keeps nanoseconds', async () => {
    const { packets } = await readPackets(fixture('http-lo-nsec.pcap'));
    assert.ok(packets.some((p) => p.tsNsec % 1000 !== 0), 'some timestamps have sub-microsecond digits');
    for (const p of packets) assert.ok(p.tsNsec >= 0 && p.tsNsec < 1e9);
  });

  test('a big-endian pcap gives exactly the packets of its little-endian original', async () => {
    const little = await readPackets(fixture('http-lo-usec.pcap'));
    const big = await readPackets(fixture('http-lo-usec-bigendian.pcap'));
    assert.deepEqual(big.packets, little.packets);
    assert.deepEqual(big.info, little.info);
  });

  test('a gzip-compressed capture reads like the plain one and says it was compressed', async () => {
    const plain = await readPackets(fixture('http-lo-usec.pcap'));
    const gz = await readPackets(fixture('http-lo-usec.pcap.gz'), [97]);
    assert.deepEqual(gz.packets, plain.packets);
    assert.equal(gz.info.compressed, true);
  });

  test('a snaplen-cut capture reports original lengths above captured lengths', async () => {
    const { info, packets } = await readPackets(fixture('http-lo-snap96.pcap'));
    assert.equal(info.snaplen, 96);
    assert.ok(packets.every((p) => p.capLen <= 96));
    assert.ok(packets.some((p) => p.origLen > p.capLen));
  });
});

describe('pcapng', () => {
  test('two interfaces with different link types: each packet carries its interface and link type', async () => {
    const { info, packets } = await readPackets(fixture('http-two-interfaces.pcapng'));
    assert.equal(info.format, 'pcapng');
    assert.deepEqual(info.linkTypes, [LinkType.ETHERNET, LinkType.LINUX_SLL]);
    assert.equal(info.sections, 1);
    const byInterface = new Map<number, Set<number>>();
    for (const p of packets) {
      const set = byInterface.get(p.interfaceId) ?? new Set();
      set.add(p.linkType);
      byInterface.set(p.interfaceId, set);
    }
    assert.deepEqual([...byInterface.get(0)!], [LinkType.ETHERNET]);
    assert.deepEqual([...byInterface.get(1)!], [LinkType.LINUX_SLL]);
  });

  test('if_tsresol 10^-9 (editcap of a nanosecond pcap) gives the same packets and times as the pcap', async () => {
    const pcap = await readPackets(fixture('http-lo-nsec.pcap'));
    const ng = await readPackets(fixture('http-lo-nsec.pcapng'));
    assert.deepEqual(ng.packets, pcap.packets);
  });

  test('if_tsresol 2^-20 with if_tsoffset gives the original times to within one unit', async () => {
    const original = await readPackets(fixture('http-two-interfaces.pcapng'));
    const binary = await readPackets(fixture('http-tsresol-binary.pcapng'));
    assert.equal(binary.packets.length, original.packets.length);
    for (let i = 0; i < original.packets.length; i++) {
      const a = original.packets[i];
      const b = binary.packets[i];
      assert.equal(b.bytes, a.bytes);
      const diffNs = (b.tsSec - a.tsSec) * 1e9 + (b.tsNsec - a.tsNsec);
      assert.ok(Math.abs(diffNs) <= 954, `packet ${i}: ${timeString(b.tsSec, b.tsNsec)} vs ${timeString(a.tsSec, a.tsNsec)}`);
    }
  });

  test('several sections in one stream (concatenated pcapng files) are all read', async () => {
    const a = fixture('http-two-interfaces.pcapng');
    const b = fixture('http-lo-nsec.pcapng');
    const { info, packets } = await readPackets(Buffer.concat([a, b]), [1000]);
    const first = await readPackets(a);
    const second = await readPackets(b);
    assert.equal(info.sections, 2);
    assert.deepEqual(packets, [...first.packets, ...second.packets]);
  });
});

describe('timestamps and frames agree with tshark', () => {
  for (const name of FIXTURES.filter((n) => !n.endsWith('.gz'))) {
    test(name, async (t) => {
      if (!requireTshark(t)) return;
      const { packets } = await readPackets(fixture(name));
      assert.equal(packets.length, tsharkFrameCount(fixturePath(name)));
    });
  }
  for (const name of PUBLIC) {
    test(`public: ${name}`, async (t) => {
      if (!requireTshark(t)) return;
      const { packets } = await readPackets(readFileSync(publicCapturePath(name)));
      assert.equal(packets.length, tsharkFrameCount(publicCapturePath(name)));
    });
  }
});

describe('bad input', () => {
  test('an empty input is not a capture', async () => {
    await rejectsWith(readPackets(Buffer.alloc(0)), 'WT_ERR_NOT_A_CAPTURE', /empty/);
  });

  test('text says what it looks like', async () => {
    const e = await rejectsWith(
      readPackets(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
      'WT_ERR_NOT_A_CAPTURE',
      /starts with 'GET '.*looks like text/,
    );
    assert.doesNotMatch(e.message, /at .*\.ts:/);
  });

  test('unknown binary names the bytes it found', async () => {
    await rejectsWith(readPackets(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3])), 'WT_ERR_NOT_A_CAPTURE', /deadbeef/);
  });

  test('a gzip file cut before any data decompresses says so', async () => {
    await rejectsWith(readPackets(fixture('http-lo-usec.pcap.gz').subarray(0, 12)), 'WT_ERR_NOT_A_CAPTURE', /decompresses to nothing/);
  });

  test('gzip of something that is not a capture is not a capture', async () => {
    await rejectsWith(readPackets(gzipSync(Buffer.from('hello, world'))), 'WT_ERR_NOT_A_CAPTURE', /hell/);
  });

  test('a capture cut inside its last record ends normally and counts the cut record', async () => {
    const full = fixture('http-lo-usec.pcap');
    const whole = await readPackets(full);
    const { info, packets, stats } = await readPackets(full.subarray(0, full.length - 7));
    assert.equal(info.truncatedTail, true);
    assert.equal(stats.undecodable.get('truncated-record'), 1);
    assert.deepEqual(packets, whole.packets.slice(0, -1));
  });

  test('a cut-off gzip download yields the packets it holds', async () => {
    const gz = fixture('http-lo-usec.pcap.gz');
    const whole = await readPackets(fixture('http-lo-usec.pcap'));
    const { packets } = await readPackets(gz.subarray(0, Math.floor(gz.length * 0.7)));
    assert.ok(packets.length > 0 && packets.length < whole.packets.length);
    assert.deepEqual(packets, whole.packets.slice(0, packets.length));
  });

  test('a pcapng block length that is not a multiple of 4 is corrupt, with its byte offset', async () => {
    const ng = Buffer.from(fixture('http-lo-nsec.pcapng'));
    // Walk to the third block and break its length.
    const second = ng.readUInt32LE(4);
    const third = second + ng.readUInt32LE(second + 4);
    ng.writeUInt32LE(ng.readUInt32LE(third + 4) + 2, third + 4);
    await rejectsWith(readPackets(ng), 'WT_ERR_CAPTURE_CORRUPT', new RegExp(`at byte ${third}\\b`));
  });

  test('a pcap record claiming an absurd length is corrupt, with its byte offset', async () => {
    const pcap = Buffer.from(fixture('http-lo-usec.pcap'));
    const second = 24 + 16 + pcap.readUInt32LE(24 + 8);
    pcap.writeUInt32LE(0x7fffffff, second + 8);
    await rejectsWith(readPackets(pcap), 'WT_ERR_CAPTURE_CORRUPT', new RegExp(`at byte ${second}\\b`));
  });

  test('corrupt gzip data fails only with a WiretraceError', async () => {
    const gz = Buffer.from(fixture('http-lo-usec.pcap.gz'));
    for (let i = 20; i < 60; i++) gz[i] ^= 0x5a;
    try {
      await readPackets(gz);
    } catch (e) {
      assert.ok(e instanceof WiretraceError, String(e));
      assert.match(e.code, /WT_ERR_CAPTURE_CORRUPT|WT_ERR_NOT_A_CAPTURE/);
    }
  });
});

describe('streams and files', () => {
  test('reads a file through openCaptureSource and reports progress up to the file size', async () => {
    const path = fixturePath('http-lo-usec.pcap.gz');
    const progress: number[] = [];
    const sink = new PacketCollector();
    const info = await readCapture(openCaptureSource(path), sink, new Stats(), { onProgress: (n) => progress.push(n) });
    assert.equal(info.compressed, true);
    assert.equal(progress.at(-1), fixture('http-lo-usec.pcap.gz').length);
    assert.equal(sink.packets.length, (await readPackets(fixture('http-lo-usec.pcap'))).packets.length);
  });

  test('a missing file, a directory and an unreadable input fail with their own codes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wiretrace-capture-'));
    try {
      assert.throws(() => openCaptureSource(join(dir, 'nope.pcap')), (e: unknown) => e instanceof WiretraceError && e.code === 'WT_ERR_FILE_NOT_FOUND');
      assert.throws(() => openCaptureSource(dir), (e: unknown) => e instanceof WiretraceError && e.code === 'WT_ERR_FILE_UNREADABLE' && /directory/.test(e.message));
      const text = join(dir, 'notes.txt');
      writeFileSync(text, 'GET / HTTP/1.1\r\n');
      await rejectsWith(readCapture(openCaptureSource(text), new PacketCollector(), new Stats()), 'WT_ERR_NOT_A_CAPTURE', /GET /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('"-" is standard input', () => {
    assert.equal(openCaptureSource('-'), process.stdin);
  });

  test('a long stream of chunks is parsed without keeping them: chunk buffers are released as it goes', async () => {
    // Repeat the records of a real capture behind its header, 40 MiB in all, from a generator.
    const real = fixture('http-lo-usec.pcap');
    const header = real.subarray(0, 24);
    const records = real.subarray(24);
    const repeats = Math.ceil((40 << 20) / records.length);
    let yielded = 0;
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from(header);
      for (let i = 0; i < repeats; i++) {
        yielded += records.length;
        yield Buffer.from(records);
      }
    }
    let maxPending = 0;
    const sink = { onPacket: () => undefined };
    const before = process.memoryUsage().arrayBuffers;
    const info = await readCapture(source(), sink, new Stats(), {
      onProgress: () => {
        maxPending = Math.max(maxPending, process.memoryUsage().arrayBuffers - before);
      },
    });
    assert.equal(info.capturedBytes + info.packets * 16, yielded);
    // Flat memory: far below the 40 MiB that went through (GC may lag a little).
    assert.ok(maxPending < 24 << 20, `external memory grew by ${maxPending} bytes`);
  });
});

