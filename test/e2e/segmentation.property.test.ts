import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { TcpReassembler } from '../../src/net/tcp/reassembler.js';
import { ProtocolDispatcher } from '../../src/protocols/detect.js';
import { defaultConfig } from '../../src/config/schema.js';
import { Stats } from '../../src/model/stats.js';
import type { Exchange } from '../../src/model/exchange.js';
import type { StreamConsumerFactory } from '../../src/model/stream.js';
import { recordSegments, splitSegment, type RecordedSegment } from '../helpers/segments.js';
import { publicCapture } from '../helpers/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/http/${name}`, import.meta.url));
const captures = [publicCapture('simple_http.pcap'), fixture('pipelining.pcap'), fixture('node-framing.pcap'), fixture('nginx-static.pcap')].filter((p) => existsSync(p));

/** What must not change however the bytes were segmented: everything but timing. */
function describeExchanges(segments: readonly RecordedSegment[]): string[] {
  const stats = new Stats();
  const config = defaultConfig();
  const exchanges: Exchange[] = [];
  const dispatcher = new ProtocolDispatcher({ onExchange: (e) => exchanges.push(e) }, stats, config);
  const factory: StreamConsumerFactory = { create: (c) => dispatcher.create(c), onTick: (s, n) => dispatcher.onTick(s, n) };
  const tcp = new TcpReassembler(factory, stats, config.limits);
  for (const s of segments) tcp.onSegment(s);
  tcp.finish();
  return exchanges
    .map((e) =>
      [
        e.connection.client.port,
        e.sequence,
        e.outcome,
        e.request?.method,
        e.request?.target,
        e.request?.bodySize,
        e.response?.status,
        e.response?.bodySize,
        e.response?.headers.length,
      ].join(' '),
    )
    .sort();
}

for (const capture of captures) {
  test(`${capture.split('/').pop()}: re-cut, reordered and duplicated segments give the same exchanges`, async () => {
    const original = await recordSegments(capture);
    const baseline = describeExchanges(original);
    assert.ok(baseline.length > 0, 'the capture holds exchanges');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 1500 }), { minLength: original.length * 2, maxLength: original.length * 2 }),
        fc.array(fc.nat({ max: 7 }), { minLength: original.length * 4, maxLength: original.length * 4 }),
        fc.array(fc.boolean(), { minLength: original.length * 4, maxLength: original.length * 4 }),
        async (cuts, jitter, dup) => {
          // Cut every payload twice at random places.
          const pieces = original.flatMap((s, i) => splitSegment(s, [cuts[2 * i], cuts[2 * i + 1]]));
          // Keep each connection's handshake first (a capture that misses it is a different
          // capture: mid-stream), then let every later piece move up to 7 places.
          const seenHandshake = new Map<string, number>();
          const keyed = pieces.map((p, i) => {
            const n = seenHandshake.get(p.flowKey) ?? 0;
            seenHandshake.set(p.flowKey, n + 1);
            return { p, key: n < 3 ? i - 1000 : i + jitter[i % jitter.length] };
          });
          keyed.sort((a, b) => a.key - b.key);
          const replay: RecordedSegment[] = [];
          keyed.forEach(({ p }, i) => {
            replay.push(p);
            if (dup[i % dup.length] && i % 3 === 0) replay.push(p);
          });
          assert.deepEqual(describeExchanges(replay), baseline);
        },
      ),
      { numRuns: 40 },
    );
  });
}
