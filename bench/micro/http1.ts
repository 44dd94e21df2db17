// HTTP/1 parsing and pairing throughput. A keep-alive conversation is
// recorded in-process from a real Node http server (through a loopback
// proxy that keeps the chunks as they arrived), then replayed from memory
// many times into one Http1Connection, as the TCP layer would deliver it.
// Small bodies stress heads and pairing; 16 KiB bodies stress framing.
import http from 'node:http';
import net from 'node:net';
import { defaultConfig } from '../../src/config/schema.js';
import type { ExchangeSink } from '../../src/model/exchange.js';
import { Stats } from '../../src/model/stats.js';
import type { ConnectionInfo, Direction } from '../../src/model/stream.js';
import { Http1Connection } from '../../src/protocols/http1/connection.js';

const REQUESTS_RECORDED = 200;
const TARGET_BYTES = 96 * 1024 * 1024;
const RUNS = 7;

interface Chunk {
  dir: Direction;
  bytes: Buffer;
}

async function recordConversation(bodySize: number): Promise<Chunk[]> {
  const body = Buffer.alloc(bodySize, 0x61);
  const server = http.createServer((req, res) => {
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const chunks: Chunk[] = [];
  const proxy = net.createServer((client) => {
    const upstream = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.on('data', (d: Buffer) => {
      chunks.push({ dir: 0, bytes: Buffer.from(d) });
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      chunks.push({ dir: 1, bytes: Buffer.from(d) });
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const port = (proxy.address() as net.AddressInfo).port;
  for (let i = 0; i < REQUESTS_RECORDED; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, agent, path: `/api/items/${i}?page=2`, headers: { 'user-agent': 'bench', accept: 'application/json' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  }
  agent.destroy();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return chunks;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const connection: ConnectionInfo = {
  id: 'bench',
  index: 0,
  client: { address: '127.0.0.1', port: 40000 },
  server: { address: '127.0.0.1', port: 8080 },
  rolesFromHandshake: true,
  firstSeen: [1_700_000_000, 0],
  swapRoles() {},
};

function measure(chunks: Chunk[]): { mbPerSec: number; messagesPerSec: number } {
  const bytesPerPass = chunks.reduce((n, c) => n + c.bytes.length, 0);
  const passes = Math.max(1, Math.ceil(TARGET_BYTES / bytesPerPass));
  const rates: number[] = [];
  const messageRates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const stats = new Stats();
    let exchanges = 0;
    const sink: ExchangeSink = { onExchange: () => void exchanges++ };
    const config = defaultConfig();
    const consumer = new Http1Connection(connection, sink, stats, {
      maxHeaderBytes: config.limits.maxHeaderBytes,
      maxPendingRequests: config.limits.maxPendingRequestsPerConnection,
      timeoutSeconds: config.spans.timeoutSeconds,
      clientMidStream: false,
      serverMidStream: false,
    });
    let sec = 1_700_000_000;
    const t0 = process.hrtime.bigint();
    for (let p = 0; p < passes; p++) {
      sec++;
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i];
        consumer.onData(c.dir, c.bytes, 0, c.bytes.length, sec, i);
      }
    }
    consumer.onEnd('fin', sec, 0);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (exchanges !== passes * REQUESTS_RECORDED) throw new Error(`expected ${passes * REQUESTS_RECORDED} exchanges, got ${exchanges}`);
    rates.push((bytesPerPass * passes) / seconds / 1e6);
    messageRates.push(stats.messages / seconds);
  }
  return { mbPerSec: median(rates), messagesPerSec: median(messageRates) };
}

export async function bench(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const out: Array<{ name: string; value: number; unit: string }> = [];
  for (const [label, size] of [['small bodies (64 B)', 64], ['16 KiB bodies', 16 * 1024]] as const) {
    const chunks = await recordConversation(size);
    const r = measure(chunks);
    out.push({ name: `http1 parse+pair, ${label}`, value: Math.round(r.mbPerSec), unit: 'MB/s' });
    out.push({ name: `http1 parse+pair, ${label}`, value: Math.round(r.messagesPerSec), unit: 'messages/s' });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await bench()) console.log(`${r.name}: ${r.value.toLocaleString('en-US')} ${r.unit}`);
}
