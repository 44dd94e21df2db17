import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analyzeFile, SERVER } from '../helpers/analyze.js';

/**
 * Every capture in test/fixtures/http was recorded from real programs by
 * record.sh; the clients wrote down what they sent and received while
 * recording (manifest.json). The exchanges wiretrace finds must be exactly
 * those.
 */
interface ExpectedExchange {
  connection: number;
  method: string;
  path: string;
  status: number | null;
  responseBodyBytes?: number;
  requestBodyBytes?: number;
}
interface ManifestEntry {
  connections: number;
  exchangeCount: number;
  exchanges: ExpectedExchange[];
  properties?: Record<string, unknown>;
}

const dir = (name: string) => fileURLToPath(new URL(`../fixtures/http/${name}`, import.meta.url));
const manifest = JSON.parse(readFileSync(dir('manifest.json'), 'utf8')) as { captures: Record<string, ManifestEntry> };

/** Captures whose truth is checked by their own scenario tests below rather than by the generic comparison. */
const special = new Set(['snaplen.pcap', 'timeout.pcap', 'midstream.pcap', 'upgrade-connect.pcap']);

describe('exchanges found equal the exchanges the recording clients made', () => {
  for (const [file, entry] of Object.entries(manifest.captures)) {
    if (special.has(file) || !existsSync(dir(file))) continue;
    test(file, async () => {
      const { spans, stats } = await analyzeFile(dir(file), { spans: { timeoutSeconds: 60 } });
      const servers = spans.filter((s) => s.kind === SERVER);
      const found = servers
        .map((s) => [s.attributes['http.request.method'], s.attributes['url.path'], s.attributes['http.response.status_code'] ?? null, s.attributes['http.response.body.size'] ?? 0].join(' '))
        .sort();
      const expected = entry.exchanges.map((e) => [e.method, e.path.split('?')[0], e.status, e.responseBodyBytes ?? 0].join(' ')).sort();
      assert.deepEqual(found, expected);
      const connections = new Set(servers.map((s) => s.attributes['wiretrace.connection.id']));
      if (entry.exchangeCount > 0) assert.equal(connections.size, entry.connections, 'connections carrying exchanges');
      const framing = stats.parseErrors.entries().filter(([k]) => k.startsWith('http1:'));
      assert.deepEqual(framing, [], 'no HTTP framing problems');
      for (const e of entry.exchanges.filter((x) => x.requestBodyBytes)) {
        const span = servers.find((s) => s.attributes['url.path'] === e.path.split('?')[0] && s.attributes['http.request.method'] === e.method);
        assert.equal(span?.attributes['http.request.body.size'], e.requestBodyBytes, `${e.method} ${e.path} request body`);
      }
    });
  }
});
