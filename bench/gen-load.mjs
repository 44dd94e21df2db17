#!/usr/bin/env node
// Records a keep-alive HTTP/1.1 load on loopback with real tcpdump, for the
// benchmark: a Node http server, a Node client with N keep-alive connections,
// responses of 1–16 KiB, a W3C traceparent on every request. Stops when the
// capture reaches the requested size. Usage: gen-load.mjs OUT.pcap SIZE_MB
import http from 'node:http';
import { spawn } from 'node:child_process';
import { statSync, existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const [out, sizeArg] = process.argv.slice(2);
if (!out || !sizeArg) {
  console.error('usage: gen-load.mjs OUT.pcap SIZE_MB');
  process.exit(2);
}
const targetBytes = Number(sizeArg) * 1024 * 1024;
const bodies = [1024, 2048, 4096, 8192, 16384].map((n) => Buffer.alloc(n, 'x'));

const server = http.createServer((req, res) => {
  const id = Number(req.url.split('/').pop()) || 0;
  const body = bodies[id % bodies.length];
  res.writeHead(id % 50 === 0 ? 500 : 200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

if (existsSync(out)) rmSync(out);
const tcpdump = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-s', '0', '-B', '65536', '-w', out, `tcp port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
let tcpdumpErr = '';
await new Promise((resolve, reject) => {
  tcpdump.stderr.on('data', (d) => {
    tcpdumpErr += d;
    if (tcpdumpErr.includes('listening on')) resolve();
  });
  tcpdump.on('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${tcpdumpErr}`)));
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let stop = false;
let sent = 0;
const hex = (n) => randomBytes(n).toString('hex');
async function worker() {
  while (!stop) {
    const id = sent++;
    await new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: `/api/items/${id}`, agent, headers: { traceparent: `00-${hex(16)}-${hex(8)}-01`, 'user-agent': 'wiretrace-bench' } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
}
const check = setInterval(() => {
  if (existsSync(out) && statSync(out).size >= targetBytes) stop = true;
}, 100);
await Promise.all(Array.from({ length: 16 }, worker));
clearInterval(check);
agent.destroy();
await new Promise((r) => setTimeout(r, 300));
tcpdump.kill('SIGINT');
await new Promise((r) => tcpdump.on('exit', r));
server.close();
const dropped = /(\d+) packets dropped by kernel/.exec(tcpdumpErr)?.[1] ?? '?';
console.error(`gen-load: ${sent} requests, ${(statSync(out).size / 1048576).toFixed(0)} MiB, kernel drops ${dropped}`);
