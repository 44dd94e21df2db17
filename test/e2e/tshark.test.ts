import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analyzeFile, SERVER } from '../helpers/analyze.js';
import { publicCapture } from '../helpers/cli.js';
import { requireTool } from '../helpers/tools.js';

/**
 * tshark's HTTP dissector is the reference: on the same capture, wiretrace
 * must find the same request/response pairs (method, path, status).
 */
interface TsharkView {
  /** method path status, for responses tshark could pair with their request */
  exchanges: string[];
  /** method path of every request tshark saw */
  requests: string[];
  /** tshark saw several requests in one frame: it cannot pair their responses */
  pipelined: boolean;
}

function tsharkView(path: string): TsharkView {
  const r = spawnSync(
    'tshark',
    ['-r', path, '-o', 'tcp.reassemble_out_of_order:TRUE', '--enable-heuristic', 'http_tcp', '-Y', 'http', '-T', 'fields', '-E', 'separator=\t', '-e', 'frame.number', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code', '-e', 'http.request_in'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const requests = new Map<string, { method: string; path: string }>();
  const requestLines: string[] = [];
  let pipelined = false;
  const pairs: string[] = [];
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [frame, method, uri, code, requestIn] = line.split('\t');
    // A frame can hold several pipelined messages: tshark joins their fields with commas.
    if (method) {
      const methods = method.split(',');
      const uris = uri.split(',');
      pipelined ||= methods.length > 1;
      methods.forEach((m, i) => requestLines.push(`${m} ${uris[i].split('?')[0]}`));
      requests.set(frame, { method: methods[0], path: uris[0].split('?')[0] });
    }
    if (code) {
      const codes = code.split(',');
      const reqFrames = (requestIn ?? '').split(',');
      codes.forEach((c, i) => {
        if (Number(c) < 200 && Number(c) !== 101) return; // interim responses belong to the exchange
        const req = requests.get(reqFrames[i] ?? reqFrames[0]);
        pairs.push(`${req?.method ?? '?'} ${req?.path ?? '?'} ${c}`);
      });
    }
  }
  return { exchanges: pairs.sort(), requests: requestLines.sort(), pipelined };
}

const fixtures = fileURLToPath(new URL('../fixtures/http/', import.meta.url));
const captures = [
  publicCapture('simple_http.pcap'),
  publicCapture('simple_http_sll2.pcap'),
  ...readdirSync(fixtures)
    .filter((f) => /^(node-framing|pipelining|nginx-static|expect-continue|connection-close|ids-in-paths|ipv6|context-headers|reordered)\.pcap$/.test(f))
    .map((f) => fixtures + f),
].filter((p) => existsSync(p));

for (const capture of captures) {
  test(`same exchanges as tshark: ${capture.split('/').pop()}`, async (t) => {
    if (!requireTool(t, 'tshark')) return;
    const tshark = tsharkView(capture);
    assert.ok(tshark.requests.length > 0, 'tshark sees HTTP in this capture');
    const { spans } = await analyzeFile(capture);
    const servers = spans.filter((s) => s.kind === SERVER);
    const requests = servers.map((s) => `${s.attributes['http.request.method']} ${s.attributes['url.path']}`).sort();
    assert.deepEqual(requests, tshark.requests, 'the same requests');
    if (tshark.pipelined) {
      // tshark pairs only the first of several requests sharing a frame, and reads the
      // response after a pipelined HEAD as its body; the response side is checked against
      // the recording clients in http-fixtures.test.ts instead.
      return;
    }
    const exchanges = servers
      .filter((s) => s.attributes['http.response.status_code'] !== undefined)
      .map((s) => `${s.attributes['http.request.method']} ${s.attributes['url.path']} ${s.attributes['http.response.status_code']}`)
      .sort();
    assert.deepEqual(exchanges, tshark.exchanges, 'the same request/response pairs');
  });
}
