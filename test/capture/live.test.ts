/**
 * LiveCapture runs the real tcpdump on loopback. What is proven here: its
 * output is a capture stream the pipeline reads while tcpdump runs; stop()
 * ends it with tcpdump's counts; and with wall time as the clock, a request
 * that never gets an answer becomes a timeout span on a quiet link, while
 * the capture still runs and no packet moves capture time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LiveCapture, parseTcpdumpStatistics, tcpdumpArguments, tcpdumpFailure, wallClock } from '../../src/capture/live.js';
import { analyze } from '../../src/pipeline.js';
import { configSchema } from '../../src/config/schema.js';
import { Stats } from '../../src/model/stats.js';
import { liveCaptureSkip } from '../helpers/tools.js';

const skip = liveCaptureSkip();

describe('tcpdump as a source', () => {
  test('arguments: unbuffered pcap on stdout, immediate mode, the filter last', () => {
    assert.deepEqual(tcpdumpArguments({ interface: 'lo', filter: 'tcp port 80', snaplen: 1500 }), ['-i', 'lo', '-U', '-w', '-', '-s', '1500', '--immediate-mode', 'tcp port 80']);
    assert.deepEqual(tcpdumpArguments({ interface: 'any', filter: '  ', snaplen: 262144 }).slice(-1), ['--immediate-mode']);
  });

  test("tcpdump's final counts are read from its stderr", () => {
    const stderr = 'tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n12 packets captured\n24 packets received by filter\n3 packets dropped by kernel\n1 packet dropped by interface\n';
    assert.deepEqual(parseTcpdumpStatistics(stderr), { captured: 12, receivedByFilter: 24, droppedByKernel: 3, droppedByInterface: 1 });
    assert.deepEqual(parseTcpdumpStatistics('garbage\n'), {});
  });

  test('failures say what to do', () => {
    const o = { interface: 'eth9', filter: 'tcp port', tcpdumpPath: 'tcpdump' };
    assert.match(tcpdumpFailure(o, "tcpdump: eth9: You don't have permission to perform this capture on that device\n(socket: Operation not permitted)\n", 1).message, /CAP_NET_RAW/);
    assert.match(tcpdumpFailure(o, 'tcpdump: eth9: No such device exists\n(No such device exists)\n', 1).message, /no such interface "eth9"/);
    assert.match(tcpdumpFailure(o, "tcpdump: can't parse filter expression: syntax error\n", 1).message, /invalid capture filter "tcp port"/);
    assert.match(tcpdumpFailure(o, '', 1).message, /exited with status 1 and said nothing/);
    for (const stderr of ['x', 'tcpdump: something odd']) assert.equal(tcpdumpFailure(o, stderr, 1).exitCode, 2);
  });
});

describe('live capture on loopback', { skip }, () => {
  test('a request never answered becomes a timeout span while the link is quiet and the capture runs', async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => {
      sockets.push(s);
      s.resume(); // reads, never answers
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const live = await LiveCapture.start({ interface: 'lo', filter: `tcp port ${port}`, snaplen: 65535, tcpdumpPath: 'tcpdump' });
    const config = configSchema.parse({ spans: { timeoutSeconds: 1, linkWindowSeconds: 1 } });
    const stats = new Stats();
    const spans: ReadableSpan[] = [];
    let firstSpanAt: number | undefined;
    const done = analyze(live.source, {
      config,
      stats,
      clock: wallClock({ intervalMs: 100, lagMs: 200 }),
      onSpans: (batch) => {
        firstSpanAt ??= Date.now();
        spans.push(...batch);
      },
    });
    const client = connect(port, '127.0.0.1');
    await once(client, 'connect');
    client.write('GET /never HTTP/1.1\r\nHost: quiet\r\n\r\n');
    const sentAt = Date.now();
    try {
      const deadline = Date.now() + 8000;
      while (spans.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(spans.length > 0, 'a span came out before the capture stopped');
      assert.equal(live.stopped, false);
      // The timeout (1 s) plus the clock's lag and tick: well before anything else could have moved time.
      assert.ok((firstSpanAt as number) - sentAt < 5000);
      const server = spans.find((s) => s.kind === 1);
      assert.equal(server?.attributes['wiretrace.outcome'], 'timeout');
      assert.equal(server?.status.code, 2);
    } finally {
      client.destroy();
      for (const s of sockets) s.destroy();
      server.close();
      live.stop();
      await done;
    }
    assert.equal(await live.exited(), 0);
    live.recordDrops(stats);
    const counts = live.statistics();
    assert.ok((counts.captured ?? 0) >= 3, 'the handshake and the request at least');
    assert.equal(stats.drops.get('tcpdump-kernel'), counts.droppedByKernel);
  });

  test('stop() right after start ends the stream cleanly with counts', async () => {
    const live = await LiveCapture.start({ interface: 'lo', filter: 'tcp port 1', snaplen: 96, tcpdumpPath: 'tcpdump' });
    live.stop();
    live.stop();
    const chunks: Buffer[] = [];
    for await (const c of live.source) chunks.push(c);
    // A pcap header at least: tcpdump wrote a valid, empty capture.
    const head = Buffer.concat(chunks);
    assert.ok(head.length >= 24);
    assert.ok([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(head.readUInt32LE(0)));
    assert.equal(live.statistics().captured, 0);
  });
});
