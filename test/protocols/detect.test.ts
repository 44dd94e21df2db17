/**
 * Protocol detection on bytes recorded from real programs: HTTP/1 is
 * parsed, everything else is recognised or skipped and counted, roles are
 * corrected from the bytes, and a capture that begins mid-stream is
 * picked up at the next message boundary.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  RecordingProxy,
  eventsOf,
  replay,
  requirePort,
  requireTool,
  streamOf,
  summary,
  type RecordedConnection,
  type StreamEvent,
} from './helpers/record.js';
import { nodeRequest, run, startNodeServer, type RunningServer } from './helpers/servers.js';

async function recordThrough(targetPort: number, drive: (port: number) => Promise<void>): Promise<RecordedConnection[]> {
  const proxy = await RecordingProxy.start(targetPort);
  try {
    await drive(proxy.port);
    await proxy.settled();
    return proxy.connections;
  } finally {
    await proxy.close();
  }
}

/** Drops the first `n` bytes of one direction (the capture started later on that side). */
function dropFirst(events: StreamEvent[], dir: 0 | 1, n: number): StreamEvent[] {
  let left = n;
  const out: StreamEvent[] = [];
  for (const e of events) {
    if (e.kind === 'data' && e.dir === dir && left > 0) {
      if (e.bytes.length <= left) {
        left -= e.bytes.length;
        continue;
      }
      out.push({ ...e, bytes: e.bytes.subarray(left) });
      left = 0;
      continue;
    }
    out.push(e);
  }
  return out;
}

function assertSkipped(rec: RecordedConnection, protocol: string): void {
  for (const rolesFromHandshake of [true, false]) {
    const { exchanges, stats } = replay(eventsOf(rec), { rolesFromHandshake });
    assert.equal(exchanges.length, 0, `no exchanges (rolesFromHandshake=${rolesFromHandshake})`);
    assert.equal(stats.protocols.get(protocol), 1, `${protocol} counted (rolesFromHandshake=${rolesFromHandshake}): ${JSON.stringify(stats.protocols)}`);
    assert.equal(stats.protocols.get('http1'), 0);
    assert.equal(stats.messages, 0);
  }
}

describe('non-HTTP connections are recognised or skipped, never parsed', () => {
  test('Redis (RESP) through redis-cli is unknown', async (t) => {
    if (!(await requirePort(t, 6379, 'Redis')) || !requireTool(t, 'redis-cli')) return;
    const conns = await recordThrough(6379, async (port) => {
      const r = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'PING']);
      assert.equal(r.stdout.trim(), 'PONG');
      await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'GET', 'wiretrace:test:key']);
    });
    assert.equal(conns.length, 2);
    for (const c of conns) assertSkipped(c, 'unknown');
  });

  test('PostgreSQL startup through psql is unknown', async (t) => {
    if (!(await requirePort(t, 5432, 'PostgreSQL')) || !requireTool(t, 'psql')) return;
    const conns = await recordThrough(5432, async (port) => {
      // Authentication may fail: the startup exchange on the wire is what matters.
      await run('psql', [`host=127.0.0.1 port=${port} user=wiretrace_probe dbname=postgres sslmode=prefer connect_timeout=3`, '-w', '-c', 'select 1']);
    });
    assert.ok(conns.length >= 1);
    assert.ok(conns[0].chunks.some((c) => c.dir === 1), 'the server answered');
    for (const c of conns) assertSkipped(c, 'unknown');
  });

  test('a MariaDB greeting (the server speaks first) is unknown', async (t) => {
    if (!(await requirePort(t, 3306, 'MariaDB'))) return;
    const conns = await recordThrough(3306, (port) => new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('data', () => s.end());
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    }));
    assert.ok(conns[0].chunks.some((c) => c.dir === 1));
    assertSkipped(conns[0], 'unknown');
  });

  test('a TLS session from Node tls is tls, at the start and mid-stream', async (t) => {
    if (!requireTool(t, 'openssl', ['version'])) return;
    const dir = mkdtempSync(join(tmpdir(), 'wiretrace-tls-'));
    try {
      const keyFile = join(dir, 'key.pem');
      const certFile = join(dir, 'cert.pem');
      const gen = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost']);
      assert.equal(gen.code, 0, gen.stderr);
      const server = tls.createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, (socket) => {
        socket.on('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
        socket.on('error', () => socket.destroy());
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const conns = await recordThrough((server.address() as net.AddressInfo).port, (port) => new Promise<void>((resolve, reject) => {
        const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
        s.on('data', () => undefined);
        s.on('close', () => resolve());
        s.on('error', reject);
      }));
      server.close();
      const rec = conns[0];
      assert.equal(rec.chunks[0].bytes[0], 0x16, 'a ClientHello record');
      assertSkipped(rec, 'tls');
      // Mid-stream: the capture starts at the first application-data record.
      const events = eventsOf(rec);
      const firstAppData = events.findIndex((e) => e.kind === 'data' && e.bytes[0] === 0x17);
      assert.ok(firstAppData > 0);
      const mid = replay(events.slice(firstAppData), { rolesFromHandshake: false });
      assert.equal(mid.stats.protocols.get('tls'), 1);
      assert.equal(mid.exchanges.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('HTTP/2 with prior knowledge (h2c preface from Node http2) is http2', async () => {
    const server = http2.createServer((_req, res) => res.end('h2'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const conns = await recordThrough((server.address() as net.AddressInfo).port, (port) => new Promise<void>((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', reject);
      const req = session.request({ ':path': '/' });
      req.on('data', () => undefined);
      req.on('end', () => session.close(() => resolve()));
      req.end();
    }));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const { exchanges, stats } = replay(eventsOf(conns[0]));
    assert.equal(stats.protocols.get('http2'), 1);
    assert.equal(exchanges.length, 0);
  });
});

describe('HTTP/1 picked up mid-stream and with roles guessed wrong', () => {
  let server: RunningServer;
  let rec: RecordedConnection;
  before(async () => {
    server = await startNodeServer();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    [rec] = await recordThrough(server.port, async (port) => {
      await nodeRequest(agent, port, { path: '/cl/300' });
      await nodeRequest(agent, port, { path: '/chunked' });
      await nodeRequest(agent, port, { method: 'POST', path: '/upload', body: Buffer.alloc(700, 0x41) });
      agent.destroy();
    });
  });
  after(() => server.close());

  const all = [
    '0 complete GET /cl/300 0 => 200 300',
    '1 complete GET /chunked 0 => 200 19',
    '2 complete POST /upload 700 => 200 16',
  ];

  test('roles the TCP layer guessed the wrong way round are swapped by the first start line', () => {
    const { exchanges, conn, stats } = replay(eventsOf(rec), { rolesFromHandshake: false, mislabelled: true });
    assert.equal(conn.swaps, 1);
    assert.equal(conn.client.port, 8080, 'the side that sent the requests is now the client');
    assert.deepEqual(exchanges.map(summary), all);
    assert.equal(stats.protocols.get('http1'), 1);
  });

  test('roles fixed by the handshake are never swapped', () => {
    const { exchanges, stats } = replay(eventsOf(rec), { rolesFromHandshake: true, mislabelled: true });
    assert.equal(exchanges.length, 0);
    assert.equal(stats.parseErrors.get('http1:roles-contradict-handshake'), 1);
  });

  test('a capture that begins inside the first messages resumes at the next message boundary', () => {
    const client = streamOf(eventsOf(rec), 0);
    const serverBytes = streamOf(eventsOf(rec), 1);
    assert.ok(client.length > 40 && serverBytes.length > 200);
    for (const mislabelled of [false, true]) {
      const events = dropFirst(dropFirst(eventsOf(rec), 0, 9), 1, 150);
      const { exchanges, stats, conn } = replay(events, { rolesFromHandshake: false, mislabelled });
      assert.deepEqual(exchanges.map((e) => summary(e).slice(2)), all.slice(1).map((s) => s.slice(2)), `mislabelled=${mislabelled}`);
      assert.equal(conn.swaps, mislabelled ? 1 : 0);
      assert.equal(stats.protocols.get('http1'), 1);
    }
  });

  test('a response whose request was not captured is an orphan; the rest pair normally', () => {
    const firstRequestLength = streamOf(eventsOf(rec), 0).indexOf('GET /chunked');
    const events = dropFirst(eventsOf(rec), 0, firstRequestLength);
    const { exchanges, stats } = replay(events, { rolesFromHandshake: false });
    assert.deepEqual(
      exchanges.map(summary),
      ['0 orphan - => 200 300', '1 complete GET /chunked 0 => 200 19', '2 complete POST /upload 700 => 200 16'],
    );
    assert.equal(exchanges[0].request, undefined);
    assert.deepEqual(exchanges[0].start, exchanges[0].response!.startTime);
    assert.equal(stats.exchanges.get('orphan'), 1);
  });
});
