/**
 * The same framing rules on nginx's bytes: its header formatting, gzip
 * responses of unknown length sent chunked, HEAD, 204 and 404 on one
 * keep-alive connection driven by curl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerValue } from '../../src/model/http.js';
import { RecordingProxy, eventsOf, recut, replay, requireTool, summary } from './helpers/record.js';
import { run, startNginx } from './helpers/servers.js';

test('nginx over one curl keep-alive connection: static, gzip chunked, 404, 204, then HEAD', async (t) => {
  if (!requireTool(t, 'nginx', ['-v']) || !requireTool(t, 'curl')) return;
  const nginx = await startNginx();
  const proxy = await RecordingProxy.start(nginx.port);
  try {
    const base = `http://127.0.0.1:${proxy.port}`;
    const r = await run('curl', ['-s', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', '-H', 'Accept-Encoding: gzip', `${base}/small.txt`, `${base}/big.txt`, `${base}/missing`, `${base}/empty`]);
    assert.equal(r.code, 0, r.stderr);
    const head = await run('curl', ['-s', '-I', `${base}/big.txt`]);
    assert.equal(head.code, 0);
    await proxy.settled();
    assert.equal(proxy.connections.length, 2);
    const keepAlive = replay(eventsOf(proxy.connections[0]));
    const got = keepAlive.exchanges.map(summary);
    assert.equal(got.length, 4);
    assert.match(got[0], /^0 complete GET \/small\.txt 0 => 200 27$/);
    assert.match(got[1], /^1 complete GET \/big\.txt 0 => 200 \d+$/);
    assert.match(got[2], /^2 complete GET \/missing 0 => 404 \d+$/);
    assert.equal(got[3], '3 complete GET /empty 0 => 204 0');
    const gz = keepAlive.exchanges[1].response!;
    assert.equal(headerValue(gz.headers, 'content-encoding'), 'gzip');
    assert.equal(headerValue(gz.headers, 'transfer-encoding'), 'chunked');
    assert.ok(gz.bodySize > 0 && gz.bodySize < 68_000, 'the compressed payload, without chunk framing');
    assert.deepEqual(replay(recut(eventsOf(proxy.connections[0]), (n) => [n >> 1, n >> 2])).exchanges.map(summary), got);
    assert.equal(keepAlive.stats.parseErrors.total(), 0);
    const headRun = replay(eventsOf(proxy.connections[1]));
    assert.equal(headRun.exchanges.map(summary).join(), '0 complete HEAD /big.txt 0 => 200 0');
    assert.equal(headerValue(headRun.exchanges[0].response!.headers, 'content-length'), String(68_000));
    assert.equal(headerValue(headRun.exchanges[0].response!.headers, 'server')?.startsWith('nginx'), true);
  } finally {
    await proxy.close();
    await nginx.close();
  }
});
