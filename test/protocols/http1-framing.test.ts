/**
 * HTTP/1 framing, specified on bytes recorded from a real Node http
 * server and real clients (Node http, curl, raw sockets). Each recorded
 * connection is replayed in the chunks it arrived in, re-cut at random
 * points, and embedded in larger buffers; all three must agree.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headerValue } from '../../src/model/http.js';
import type { Exchange } from '../../src/model/exchange.js';
import { RecordingProxy, eventsOf, recut, replay, requireTool, summary, type RecordedConnection } from './helpers/record.js';
import { nodeRequest, rawExchange, run, startNodeServer, type RunningServer } from './helpers/servers.js';

let server: RunningServer;
let proxy: RecordingProxy;

before(async () => {
  server = await startNodeServer();
  proxy = await RecordingProxy.start(server.port);
});
after(async () => {
  await proxy.close();
  await server.close();
});

/** Runs `drive`, then returns the connections it made through the proxy once they closed. */
async function record(drive: () => Promise<void>): Promise<RecordedConnection[]> {
  const before = proxy.connections.length;
  await drive();
  await proxy.settled();
  return proxy.connections.slice(before);
}

/** Deterministic pseudo-random cut points. */
function seededCuts(seed: number) {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return (length: number): number[] => {
    const n = Math.floor(next() * 6);
    return Array.from({ length: n }, () => Math.floor(next() * length));
  };
}

/** Replays as recorded, re-cut, and embedded at offsets; asserts they agree; returns the as-recorded run. */
function analyse(rec: RecordedConnection) {
  const events = eventsOf(rec);
  const asRecorded = replay(events);
  const expected = asRecorded.exchanges.map(summary);
  for (const seed of [1, 2, 3]) {
    assert.deepEqual(replay(recut(events, seededCuts(seed))).exchanges.map(summary), expected, `re-cut with seed ${seed}`);
  }
  assert.deepEqual(replay(events, { embed: true }).exchanges.map(summary), expected, 'embedded in larger buffers');
  assert.equal(asRecorded.stats.parseErrors.total(), 0, `parse errors: ${JSON.stringify(asRecorded.stats.parseErrors)}`);
  return asRecorded;
}

function only<T>(items: T[]): T {
  assert.equal(items.length, 1);
  return items[0];
}

describe('HTTP/1 framing on real Node traffic', () => {
  test('a keep-alive conversation: Content-Length, chunked with trailers, 204, 304, HEAD, POST', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const conns = await record(async () => {
      await nodeRequest(agent, proxy.port, { path: '/cl/10' });
      await nodeRequest(agent, proxy.port, { path: '/cl/20000' });
      await nodeRequest(agent, proxy.port, { method: 'POST', path: '/upload', body: Buffer.alloc(5000, 0x62), headers: { 'content-type': 'text/plain' } });
      const chunked = await nodeRequest(agent, proxy.port, { path: '/chunked' });
      assert.equal(chunked.trailers['x-checksum'], 'abc123');
      await nodeRequest(agent, proxy.port, { path: '/no-content' });
      await nodeRequest(agent, proxy.port, { path: '/etag' });
      await nodeRequest(agent, proxy.port, { path: '/etag', headers: { 'if-none-match': '"v1"' } });
      await nodeRequest(agent, proxy.port, { method: 'HEAD', path: '/cl/123' });
      await nodeRequest(agent, proxy.port, { path: '/missing' });
      agent.destroy();
    });
    const rec = only(conns);
    const { exchanges, stats } = analyse(rec);
    assert.deepEqual(exchanges.map(summary), [
      '0 complete GET /cl/10 0 => 200 10',
      '1 complete GET /cl/20000 0 => 200 20000',
      '2 complete POST /upload 5000 => 200 17',
      '3 complete GET /chunked 0 => 200 19',
      '4 complete GET /no-content 0 => 204 0',
      '5 complete GET /etag 0 => 200 14',
      '6 complete GET /etag 0 => 304 0',
      '7 complete HEAD /cl/123 0 => 200 0',
      '8 complete GET /missing 0 => 404 9',
    ]);
    assert.equal(stats.protocols.get('http1'), 1);
    assert.equal(stats.messages, 18);
    assert.equal(stats.truncatedMessages, 0);
    assert.equal(stats.exchanges.get('complete'), 9);

    const chunked = exchanges[3].response!;
    assert.equal(headerValue(chunked.headers, 'transfer-encoding'), 'chunked');
    assert.deepEqual(chunked.trailers, [{ name: 'x-checksum', value: 'abc123' }]);
    assert.ok(chunked.headerSize > chunked.headers.length * 4, 'chunk framing and trailers count as header bytes');
    const head = exchanges[7];
    assert.equal(headerValue(head.response!.headers, 'content-length'), '123', 'a HEAD response announces a length it does not send');
    assert.equal(exchanges[2].request!.headers.find((h) => h.name === 'content-type')?.value, 'text/plain');
    assert.equal(exchanges[2].request!.headers[0].name, 'content-type', 'header order is kept, names lowercased');

    // Times are those of the chunks that held the first and last bytes.
    const firstClient = rec.chunks.find((c) => c.dir === 0)!;
    assert.deepEqual(exchanges[0].request!.startTime, [firstClient.sec, firstClient.nsec]);
    const lastServer = rec.chunks.filter((c) => c.dir === 1).at(-1)!;
    assert.deepEqual(exchanges[8].response!.endTime, [lastServer.sec, lastServer.nsec]);
    for (const e of exchanges) {
      assert.deepEqual(e.start, e.request!.startTime);
      assert.deepEqual(e.end, e.response!.endTime);
    }
  });

  test('an HTTP/1.0 response without a length is delimited by the close', async () => {
    const conns = await record(async () => {
      const reply = await rawExchange(proxy.port, 'GET /stream HTTP/1.0\r\nHost: localhost\r\n\r\n', () => false);
      assert.match(reply.toString('latin1'), /part one;part two$/);
    });
    const rec = only(conns);
    const { exchanges } = analyse(rec);
    const exchange = only(exchanges);
    assert.equal(exchange.response!.bodySize, 'part one;part two'.length);
    assert.equal(headerValue(exchange.response!.headers, 'content-length'), undefined);
    assert.equal(exchange.response!.incomplete, undefined, 'a FIN ends the body: complete');
    const cut = replay(eventsOf(rec), { end: 'capture-end' });
    assert.equal(only(cut.exchanges).response!.incomplete, true, 'the capture ended without a FIN: may be incomplete');
  });

  test('Expect: 100-continue from curl: the interim 100 attaches to the exchange', async (t) => {
    if (!requireTool(t, 'curl')) return;
    const dir = mkdtempSync(join(tmpdir(), 'wiretrace-upload-'));
    const file = join(dir, 'body.bin');
    writeFileSync(file, Buffer.alloc(3000, 0x63));
    try {
      const conns = await record(async () => {
        const r = await run('curl', ['-s', '-H', 'Expect: 100-continue', '--data-binary', `@${file}`, `http://127.0.0.1:${proxy.port}/upload`]);
        assert.equal(r.stdout, '{"received":3000}');
      });
      const { exchanges } = analyse(only(conns));
      const exchange = only(exchanges);
      assert.equal(summary(exchange), '0 complete POST /upload 3000 => 200 17 [100]');
      assert.equal(exchange.interim![0].interim, true);
      assert.equal(headerValue(exchange.request!.headers, 'expect'), '100-continue');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('pipelined requests written at once are answered and paired in order', async () => {
    const conns = await record(async () => {
      const requests =
        'GET /cl/5 HTTP/1.1\r\nHost: a\r\n\r\n' +
        'GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n' +
        'HEAD /cl/7 HTTP/1.1\r\nHost: a\r\n\r\n' +
        'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd' +
        'GET /cl/3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
      await rawExchange(proxy.port, requests, () => false);
    });
    const rec = only(conns);
    assert.equal(rec.chunks.filter((c) => c.dir === 0).length, 1, 'all requests travelled in one write');
    const { exchanges } = analyse(rec);
    assert.deepEqual(exchanges.map(summary), [
      '0 complete GET /cl/5 0 => 200 5',
      '1 complete GET /chunked 0 => 200 19',
      '2 complete HEAD /cl/7 0 => 200 0',
      '3 complete POST /upload 4 => 200 14',
      '4 complete GET /cl/3 0 => 200 3',
    ]);
  });

  test('101 Switching Protocols ends HTTP parsing on the connection', async () => {
    const conns = await record(
      () =>
        new Promise<void>((resolve, reject) => {
          const req = http.request({
            host: '127.0.0.1',
            port: proxy.port,
            path: '/chat',
            headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' },
          });
          req.on('upgrade', (_res, socket) => {
            // Bytes after the upgrade that look like HTTP must not become exchanges.
            socket.write('GET /not-http HTTP/1.1\r\nHost: x\r\n\r\n');
            socket.once('data', () => socket.end());
            socket.on('close', () => resolve());
          });
          req.on('error', reject);
          req.end();
        }),
    );
    const { exchanges, stats } = analyse(only(conns));
    assert.equal(summary(only(exchanges)), '0 complete GET /chat 0 => 101 0');
    assert.equal(headerValue(exchanges[0].response!.headers, 'upgrade'), 'websocket');
    assert.equal(stats.protocols.get('http1-upgraded'), 1);
    assert.equal(stats.messages, 2);
  });

  test('a 2xx answer to CONNECT turns the connection into a tunnel', async () => {
    const conns = await record(
      () =>
        new Promise<void>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: `127.0.0.1:${server.port}` });
          req.on('connect', (_res, socket) => {
            // A real HTTP request inside the tunnel: it must not be parsed as this connection's traffic.
            const inner = http.request({ createConnection: () => socket, path: '/cl/42', headers: { connection: 'close' } }, (res) => {
              res.resume();
              res.on('end', () => socket.end());
            });
            inner.on('error', reject);
            inner.end();
            socket.on('close', () => resolve());
          });
          req.on('error', reject);
          req.end();
        }),
    );
    const tunnel = only(conns);
    assert.ok(tunnel.chunks.some((c) => c.dir === 1 && /content-length: 42/i.test(c.bytes.toString('latin1'))), 'the tunnelled response was on the wire');
    const { exchanges, stats } = analyse(tunnel);
    const exchange: Exchange = only(exchanges);
    assert.equal(exchange.request!.method, 'CONNECT');
    assert.equal(exchange.request!.target, `127.0.0.1:${server.port}`);
    assert.equal(exchange.response!.status, 200);
    assert.equal(stats.protocols.get('http1-upgraded'), 1);
  });
});
