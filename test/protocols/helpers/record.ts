/**
 * Recording real traffic for protocol tests: a loopback TCP proxy that
 * forwards each connection to a real server and records the exact bytes
 * each way, in the chunks they arrived in, with their arrival times. A
 * recorded connection is then replayed into a StreamConsumerFactory the
 * way the TCP layer would deliver it.
 */
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { defaultConfig, type WiretraceConfig } from '../../../src/config/schema.js';
import type { Exchange, ExchangeSink } from '../../../src/model/exchange.js';
import { Stats } from '../../../src/model/stats.js';
import type { Endpoint } from '../../../src/model/endpoint.js';
import type { ConnectionInfo, Direction, EndReason, GapReason, StreamConsumerFactory } from '../../../src/model/stream.js';
import type { HrTime } from '../../../src/model/time.js';
import { ProtocolDispatcher } from '../../../src/protocols/detect.js';

export interface RecordedChunk {
  /** 0: from the real client, 1: from the real server. */
  dir: 0 | 1;
  bytes: Buffer;
  sec: number;
  nsec: number;
}

export interface RecordedConnection {
  chunks: RecordedChunk[];
  closed: boolean;
}

// Capture-like timestamps: a fixed epoch plus the monotonic clock.
const EPOCH_SEC = 1_700_000_000;
const startNs = process.hrtime.bigint();
export function nowTs(): [number, number] {
  const ns = process.hrtime.bigint() - startNs;
  return [EPOCH_SEC + Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

export class RecordingProxy {
  readonly connections: RecordedConnection[] = [];
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  port = 0;

  private constructor(targetPort: number, targetHost: string) {
    this.#server = net.createServer((client) => {
      const record: RecordedConnection = { chunks: [], closed: false };
      this.connections.push(record);
      const upstream = net.connect(targetPort, targetHost);
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      client.pause();
      upstream.on('connect', () => client.resume());
      const push = (dir: 0 | 1, bytes: Buffer): void => {
        const [sec, nsec] = nowTs();
        record.chunks.push({ dir, bytes: Buffer.from(bytes), sec, nsec });
      };
      client.on('data', (d: Buffer) => {
        push(0, d);
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => {
        push(1, d);
        client.write(d);
      });
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      let open = 2;
      const closed = (s: net.Socket): void => {
        this.#sockets.delete(s);
        if (--open === 0) record.closed = true;
      };
      client.on('close', () => {
        closed(client);
        upstream.destroy();
      });
      upstream.on('close', () => {
        closed(upstream);
        client.destroy();
      });
    });
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<RecordingProxy> {
    const proxy = new RecordingProxy(targetPort, targetHost);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.#server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** Waits until every recorded connection has closed on both sides. */
  async settled(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.some((c) => !c.closed) || this.#sockets.size > 0) {
      if (Date.now() > deadline) throw new Error('recorded connections did not close');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Closes every connection still open (for servers that keep connections alive). */
  destroyAll(): void {
    for (const s of this.#sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.destroyAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export class FakeConnection implements ConnectionInfo {
  readonly id: string;
  readonly index: number;
  client: Endpoint;
  server: Endpoint;
  rolesFromHandshake: boolean;
  readonly firstSeen: HrTime;
  swaps = 0;

  constructor(index: number, rolesFromHandshake: boolean, firstSeen: HrTime) {
    this.id = `test-${index}`;
    this.index = index;
    this.client = { address: '127.0.0.1', port: 40000 + index };
    this.server = { address: '127.0.0.1', port: 8080 };
    this.rolesFromHandshake = rolesFromHandshake;
    this.firstSeen = firstSeen;
  }

  swapRoles(): void {
    if (this.rolesFromHandshake) throw new Error('swapRoles called although the handshake fixed the roles');
    const c = this.client;
    this.client = this.server;
    this.server = c;
    this.swaps++;
  }
}

/** One step the fake TCP layer delivers. */
export type StreamEvent =
  | { kind: 'data'; dir: 0 | 1; bytes: Buffer; sec: number; nsec: number }
  | { kind: 'gap'; dir: 0 | 1; length: number; reason: GapReason; sec: number; nsec: number }
  | { kind: 'tick'; sec: number; nsec: number };

export function eventsOf(rec: RecordedConnection): StreamEvent[] {
  return rec.chunks.map((c) => ({ kind: 'data', dir: c.dir, bytes: c.bytes, sec: c.sec, nsec: c.nsec }));
}

export interface ReplayOptions {
  config?: WiretraceConfig;
  /** The TCP layer saw the handshake (default true). */
  rolesFromHandshake?: boolean;
  /** The TCP layer guessed the roles the wrong way round. */
  mislabelled?: boolean;
  end?: EndReason;
  /** Deliver each data chunk inside a larger Buffer at a non-zero offset (as a reader's frame buffer would). */
  embed?: boolean;
  /** Call onTick before each event with the event's time (a capture clock). */
  tickEveryEvent?: boolean;
}

export interface ReplayResult {
  exchanges: Exchange[];
  stats: Stats;
  conn: FakeConnection;
  dispatcher: ProtocolDispatcher;
}

/** Feeds the events to a fresh dispatcher as the TCP layer would, honouring swapRoles. */
export function replay(events: StreamEvent[], options: ReplayOptions = {}): ReplayResult {
  const stats = new Stats();
  const exchanges: Exchange[] = [];
  const sink: ExchangeSink = { onExchange: (e) => exchanges.push(e) };
  const dispatcher = new ProtocolDispatcher(sink, stats, options.config ?? defaultConfig());
  const first = events.find((e) => e.kind !== 'tick');
  const conn = new FakeConnection(0, options.rolesFromHandshake ?? true, first ? [first.sec, first.nsec] : [EPOCH_SEC, 0]);
  const factory: StreamConsumerFactory = dispatcher;
  const consumer = factory.create(conn);
  const label = (dir: 0 | 1): Direction => ((dir ^ (options.mislabelled ? 1 : 0) ^ (conn.swaps % 2)) as Direction);
  let last: [number, number] = first ? [first.sec, first.nsec] : [EPOCH_SEC, 0];
  for (const e of events) {
    if (options.tickEveryEvent) factory.onTick?.(e.sec, e.nsec);
    last = [e.sec, e.nsec];
    if (e.kind === 'data') {
      if (options.embed) {
        const host = Buffer.alloc(e.bytes.length + 96, 0x0a);
        e.bytes.copy(host, 37);
        consumer.onData(label(e.dir), host, 37, e.bytes.length, e.sec, e.nsec);
      } else {
        consumer.onData(label(e.dir), e.bytes, 0, e.bytes.length, e.sec, e.nsec);
      }
    } else if (e.kind === 'gap') {
      consumer.onGap(label(e.dir), e.length, e.reason, e.sec, e.nsec);
    } else {
      factory.onTick?.(e.sec, e.nsec);
    }
  }
  consumer.onEnd(options.end ?? 'fin', last[0], last[1]);
  return { exchanges, stats, conn, dispatcher };
}

/** Splits every data event at the given cut points (fractions in [0,1) per event, reused cyclically). */
export function recut(events: StreamEvent[], cutsFor: (length: number, index: number) => number[]): StreamEvent[] {
  const out: StreamEvent[] = [];
  events.forEach((e, index) => {
    if (e.kind !== 'data') {
      out.push(e);
      return;
    }
    const cuts = [...new Set(cutsFor(e.bytes.length, index).filter((c) => c > 0 && c < e.bytes.length))].sort((a, b) => a - b);
    let prev = 0;
    for (const c of [...cuts, e.bytes.length]) {
      out.push({ ...e, bytes: e.bytes.subarray(prev, c) });
      prev = c;
    }
  });
  return out;
}

/** Concatenates the bytes of one direction. */
export function streamOf(events: StreamEvent[], dir: 0 | 1): Buffer {
  return Buffer.concat(events.flatMap((e) => (e.kind === 'data' && e.dir === dir ? [e.bytes] : [])));
}

/** The essentials of an exchange, for comparing runs. */
export function summary(e: Exchange): string {
  const q = e.request;
  const r = e.response;
  const req = q ? `${q.method} ${q.target} ${q.bodySize}${q.truncated ? ' T' : ''}` : '-';
  const res = r ? `${r.status} ${r.bodySize}${r.truncated ? ' T' : ''}` : '-';
  const interim = e.interim ? ` [${e.interim.map((i) => i.status).join(',')}]` : '';
  return `${e.sequence} ${e.outcome} ${req} => ${res}${interim}`;
}

/** A server this test needs: present, skipped visibly, or (CI=true) a failure. */
export async function requirePort(t: TestContext, port: number, what: string): Promise<boolean> {
  const up = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (up) return true;
  if (process.env.CI === 'true') throw new Error(`${what} on 127.0.0.1:${port} is required under CI=true`);
  t.skip(`${what} is not listening on 127.0.0.1:${port}`);
  return false;
}

export function requireTool(t: TestContext, name: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(name, args, { stdio: 'ignore' });
  if (r.error === undefined && r.status === 0) return true;
  if (process.env.CI === 'true') throw new Error(`${name} is required under CI=true but is not installed`);
  t.skip(`${name} is not installed`);
  return false;
}
