/**
 * Real traffic: a Node HTTP server and a raw TCP client on loopback,
 * captured by tcpdump, read back through the capture reader and the decoder,
 * reassembled. The two streams must be byte for byte what the client wrote
 * and what it received.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { readCapture } from '../../../src/capture/reader.js';
import { Stats } from '../../../src/model/stats.js';
import { PacketDecoder } from '../../../src/net/decode.js';
import { TcpReassembler } from '../../../src/net/tcp/reassembler.js';
import { Recorder } from './helpers.js';

const tcpdumpWorks = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
const inCi = process.env.CI === 'true';
const skip = !tcpdumpWorks && !inCi ? 'tcpdump is not installed: live loopback capture skipped' : false;
if (skip) console.log(`# SKIP ${skip}`);

/** Deterministic bytes, so a mismatch is reproducible. */
function pattern(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startCapture(file: string, port: number): Promise<{ stop(): Promise<string> }> {
  const child = spawn('tcpdump', ['-i', 'lo', '-U', '--immediate-mode', '-n', '-s', '0', '-B', '16384', '-Z', 'root', '-w', file, `tcp port ${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}) before listening: ${stderr}`)));
    child.once('error', reject);
  });
  await listening;
  return {
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
      return stderr;
    },
  };
}

async function listen(server: Server, host: string): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function exchangeAndCapture(host: string) {
  const uploadBody = pattern(700_000, 7);
  const downloadBody = pattern(1_300_000, 11);
  const server = createServer((req, res) => {
    let received = 0;
    req.on('data', (chunk: Buffer) => (received += chunk.length));
    req.on('end', () => {
      if (req.url === '/download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': downloadBody.length });
        res.end(downloadBody);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`received ${received} bytes`);
      }
    });
  });
  const port = await listen(server, host);
  const dir = mkdtempSync(join(tmpdir(), 'wiretrace-tcp-'));
  const file = join(dir, 'loopback.pcap');
  try {
    const capture = await startCapture(file, port);
    const written: Buffer[] = [];
    const received: Buffer[] = [];
    const socket = connect(port, host);
    await once(socket, 'connect');
    const clientPort = socket.localPort as number;
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = once(socket, 'close');
    const write = (bytes: Buffer) => {
      written.push(bytes);
      socket.write(bytes);
    };
    write(Buffer.from(`POST /upload HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${uploadBody.length}\r\n\r\n`));
    // Several writes with pauses: segments of many sizes.
    for (let off = 0; off < uploadBody.length; off += 100_000) {
      write(uploadBody.subarray(off, off + 100_000));
      await sleep(5);
    }
    write(Buffer.from(`GET /download HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
    write(Buffer.from(`GET /last HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    await ended;
    await sleep(200);
    const tcpdumpLog = await capture.stop();

    const stats = new Stats();
    const rec = new Recorder();
    const tcp = new TcpReassembler(rec, stats, { maxConnections: 100, maxBufferedBytesPerStream: 1 << 20, connectionIdleSeconds: 300 });
    await readCapture(createReadStream(file), new PacketDecoder(tcp, stats), stats);
    tcp.finish();
    return { rec, stats, port, clientPort, written: Buffer.concat(written), received: Buffer.concat(received), tcpdumpLog };
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('TCP reassembly of real loopback traffic captured by tcpdump', { skip }, () => {
  for (const host of ['127.0.0.1', '::1']) {
    test(`HTTP over ${host}: both reassembled streams equal what the client wrote and received`, async (t) => {
      assert.ok(tcpdumpWorks, 'tcpdump is required (CI=true)');
      if (host === '::1') {
        const probe = createServer();
        const ok = await listen(probe, host).then(
          () => true,
          () => false,
        );
        probe.close();
        if (!ok) {
          if (inCi) assert.fail('IPv6 loopback unavailable');
          t.skip('IPv6 loopback (::1) unavailable');
          return;
        }
      }
      const { rec, stats, port, clientPort, written, received, tcpdumpLog } = await exchangeAndCapture(host);
      assert.match(tcpdumpLog, /^0 packets dropped by kernel/m, tcpdumpLog);
      const conns = rec.connections.filter((c) => c.info.client.port === clientPort && c.info.server.port === port);
      assert.equal(conns.length, 1, `one connection for client port ${clientPort}`);
      const c = conns[0];
      assert.equal(c.info.client.address, host);
      assert.equal(c.info.rolesFromHandshake, true);
      assert.equal(c.pieces[0].filter((p) => p.kind === 'gap').length, 0, 'no gaps client→server');
      assert.equal(c.pieces[1].filter((p) => p.kind === 'gap').length, 0, 'no gaps server→client');
      assert.equal(c.bytes(0).length, written.length);
      assert.ok(c.bytes(0).equals(written), 'client→server bytes are exactly what the client wrote');
      assert.equal(c.bytes(1).length, received.length);
      assert.ok(c.bytes(1).equals(received), 'server→client bytes are exactly what the client received');
      assert.equal(c.endReason, 'fin');
      assert.equal(stats.gapBytes, 0);
      assert.ok(received.includes(Buffer.from('received 700000 bytes')), 'the server answered the upload');
    });
  }
});
