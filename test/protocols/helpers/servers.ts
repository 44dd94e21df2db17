/**
 * Real programs to record: a Node http server with one route per framing
 * rule, nginx under a temporary prefix, and small client helpers.
 */
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/** Routes: /cl/<n>, /chunked, /no-content, /etag, /slow/<ms>, /stream (no length), /upload (POST). */
export async function startNodeServer(): Promise<RunningServer> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/cl/')) {
      const n = Number(url.slice(4));
      res.setHeader('content-type', 'application/octet-stream');
      res.setHeader('content-length', n);
      res.end(Buffer.alloc(n, 0x61));
    } else if (url === '/chunked') {
      res.setHeader('content-type', 'text/plain');
      res.setHeader('trailer', 'x-checksum');
      res.write('hello ');
      setTimeout(() => {
        res.write('chunked world');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end();
      }, 5);
    } else if (url === '/no-content') {
      res.statusCode = 204;
      res.end();
    } else if (url === '/etag') {
      if (req.headers['if-none-match'] === '"v1"') {
        res.statusCode = 304;
        res.setHeader('etag', '"v1"');
        res.end();
      } else {
        res.setHeader('etag', '"v1"');
        res.end('versioned body');
      }
    } else if (url.startsWith('/slow/')) {
      setTimeout(() => res.end('slow'), Number(url.slice(6)));
    } else if (url === '/stream') {
      res.write('part one;');
      setTimeout(() => res.end('part two'), 5);
    } else if (url === '/upload') {
      let n = 0;
      req.on('data', (d: Buffer) => (n += d.length));
      req.on('end', () => res.end(JSON.stringify({ received: n })));
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  server.on('upgrade', (req, socket) => {
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  server.on('connect', (req, socket, head) => {
    const [host, port] = String(req.url).split(':');
    const target = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) target.write(head);
      target.pipe(socket);
      socket.pipe(target);
    });
    target.on('error', () => socket.destroy());
    socket.on('error', () => target.destroy());
  });
  server.keepAliveTimeout = 2000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A Node http client request with a keep-alive agent; resolves with the body length. */
export function nodeRequest(
  agent: http.Agent,
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer },
): Promise<{ status: number; bodyLength: number; trailers: NodeJS.Dict<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bodyLength: n, trailers: res.trailers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Writes bytes on a raw socket and reads until the server closes or `until` says enough. */
export function rawExchange(port: number, payload: string | Buffer, until: (received: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.end();
      resolve(Buffer.concat(parts));
    };
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      if (until(Buffer.concat(parts))) finish();
    });
    socket.on('end', finish);
    socket.on('error', reject);
  });
}

export function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** nginx in the foreground under a temporary prefix, serving a few static files. */
export async function startNginx(): Promise<RunningServer> {
  const prefix = mkdtempSync(join(tmpdir(), 'wiretrace-nginx-'));
  // nginx workers drop privileges: they must be able to read the files.
  chmodSync(prefix, 0o755);
  const port = await freePort();
  mkdirSync(join(prefix, 'logs'));
  mkdirSync(join(prefix, 'html'));
  writeFileSync(join(prefix, 'html', 'small.txt'), 'small file served by nginx\n');
  writeFileSync(join(prefix, 'html', 'big.txt'), 'line of text that compresses well\n'.repeat(2000));
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid nginx.pid;
error_log logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path tmp_body;
  proxy_temp_path tmp_proxy;
  fastcgi_temp_path tmp_fastcgi;
  uwsgi_temp_path tmp_uwsgi;
  scgi_temp_path tmp_scgi;
  keepalive_requests 100;
  server {
    listen 127.0.0.1:${port};
    root html;
    gzip on;
    gzip_types text/plain;
    gzip_min_length 100;
    location = /empty { return 204; }
  }
}
`,
  );
  const child: ChildProcess = spawn('nginx', ['-p', prefix, '-c', 'nginx.conf'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 5000;
  while (true) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    close: async () => {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
