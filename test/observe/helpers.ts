// Shared by the observe tests: real HTTP scrapes, captures fed packet by packet, promtool.
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoFile = (relative: string): string => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One real HTTP request on loopback. */
export function get(url: string, method = 'GET'): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until check() holds (async checks allowed); fails with the last value seen. */
export async function until<T>(read: () => T | Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > end) throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${JSON.stringify(value)})`);
    await delay(10);
  }
}

/** A port that was free a moment ago (bound and released by the OS). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A classic pcap file cut at a packet boundary: the file header with the
 * first n records, and the rest. Feeding the two halves with a pause between
 * them holds the pipeline at a known moment of the recorded traffic.
 */
export function splitPcap(file: Buffer, n: number): { head: Buffer; tail: Buffer } {
  const magic = file.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!littleEndian && file.readUInt32BE(0) !== 0xa1b2c3d4 && file.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a classic pcap');
  let offset = 24;
  for (let i = 0; i < n; i++) {
    const capturedLength = littleEndian ? file.readUInt32LE(offset + 8) : file.readUInt32BE(offset + 8);
    offset += 16 + capturedLength;
    if (offset > file.length) throw new Error(`the capture has fewer than ${n} packets`);
  }
  return { head: file.subarray(0, offset), tail: file.subarray(offset) };
}

let promtoolChecked: boolean | undefined;
export function hasPromtool(): boolean {
  promtoolChecked ??= spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
  return promtoolChecked;
}

/** Skip reason when promtool is absent; under CI its absence is a failure. */
export function promtoolSkip(): string | undefined {
  if (hasPromtool()) return undefined;
  if (process.env.CI === 'true') throw new Error('promtool is required under CI (apt-get install prometheus)');
  return 'promtool not installed (apt-get install prometheus) — exposition checked by the strict parser only';
}

/**
 * promtool's verdict on an exposition: parse errors and lint problems. The
 * only lint problems accepted are prom-client's own Node.js gauges named
 * *_total, which are not ours to rename.
 */
export function promtoolProblems(text: string): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  const problems = lines.filter((l) => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(l));
  if (r.status !== 0 && r.status !== 3 && problems.length === 0) problems.push(`promtool exited ${r.status}`);
  return problems;
}
