/**
 * Live capture: a `tcpdump -U -w -` child process whose standard output is
 * the pcap stream the pipeline reads, packet by packet as they arrive.
 * tcpdump does what it does best (interfaces, BPF, privileges, the kernel
 * ring); its stderr tells us when it listens, why it failed, and at the end
 * how many packets the kernel dropped.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { WiretraceError } from '../errors.js';
import type { Stats } from '../model/stats.js';

export interface LiveCaptureOptions {
  interface: string;
  /** BPF filter expression; empty captures everything. */
  filter: string;
  snaplen: number;
  tcpdumpPath: string;
  /** How long tcpdump may take to start listening. */
  startTimeoutMs?: number;
}

/** tcpdump's own end-of-capture counts (absent when it did not print them). */
export interface TcpdumpStatistics {
  captured?: number;
  receivedByFilter?: number;
  droppedByKernel?: number;
  droppedByInterface?: number;
}

/** Most of tcpdump's stderr kept for messages: it is small unless something is very wrong. */
const STDERR_LIMIT = 64 * 1024;
const DEFAULT_START_TIMEOUT_MS = 15_000;

/** The arguments handed to tcpdump: packets written unbuffered, as they arrive, to standard output. */
export function tcpdumpArguments(options: Pick<LiveCaptureOptions, 'interface' | 'filter' | 'snaplen'>): string[] {
  // --immediate-mode: without it packets wait in the kernel buffer, and those buffered at stop are lost.
  const args = ['-i', options.interface, '-U', '-w', '-', '-s', String(options.snaplen), '--immediate-mode'];
  if (options.filter.trim().length > 0) args.push(options.filter);
  return args;
}

/** Reads tcpdump's final statistics lines ("12 packets captured", ...). */
export function parseTcpdumpStatistics(stderr: string): TcpdumpStatistics {
  const stats: TcpdumpStatistics = {};
  const re = /^(\d+) packets? (captured|received by filter|dropped by kernel|dropped by interface)\s*$/gm;
  for (let m = re.exec(stderr); m !== null; m = re.exec(stderr)) {
    const n = Number(m[1]);
    if (m[2] === 'captured') stats.captured = n;
    else if (m[2] === 'received by filter') stats.receivedByFilter = n;
    else if (m[2] === 'dropped by kernel') stats.droppedByKernel = n;
    else stats.droppedByInterface = n;
  }
  return stats;
}

/** The user-facing error for a tcpdump that did not start listening. */
export function tcpdumpFailure(options: Pick<LiveCaptureOptions, 'interface' | 'filter' | 'tcpdumpPath'>, stderr: string, exitCode: number | null): WiretraceError {
  const said = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('tcpdump: listening on'));
  const first = (said[0] ?? '').replace(/^tcpdump:\s*/, '');
  const all = said.join(' ');
  if (/permission|not permitted|EPERM|Operation not permitted/i.test(all)) {
    return new WiretraceError(
      'WT_ERR_CAPTURE_UNAVAILABLE',
      `not permitted to capture on ${options.interface} (${first}): run as root, or give tcpdump CAP_NET_RAW and CAP_NET_ADMIN: sudo setcap cap_net_raw,cap_net_admin=eip $(command -v ${options.tcpdumpPath})`,
    );
  }
  if (/No such device|doesn't exist|no suitable device/i.test(all)) {
    return new WiretraceError('WT_ERR_CAPTURE_UNAVAILABLE', `no such interface ${JSON.stringify(options.interface)} (tcpdump: ${first}); tcpdump -D lists the interfaces`);
  }
  if (/filter expression|syntax error|parse filter/i.test(all)) {
    return new WiretraceError('WT_ERR_CAPTURE_UNAVAILABLE', `invalid capture filter ${JSON.stringify(options.filter)}: tcpdump: ${first}`);
  }
  const why = first.length > 0 ? `tcpdump: ${first}` : `tcpdump exited with status ${exitCode ?? 'unknown'} and said nothing`;
  return new WiretraceError('WT_ERR_CAPTURE_UNAVAILABLE', `live capture on ${options.interface} failed: ${why}`);
}

function notInstalled(path: string, cause: unknown): WiretraceError {
  return new WiretraceError(
    'WT_ERR_CAPTURE_UNAVAILABLE',
    `live capture needs tcpdump, and ${JSON.stringify(path)} was not found: install it (apt-get install tcpdump, dnf install tcpdump, apk add tcpdump) or set capture.tcpdumpPath`,
    { cause },
  );
}

/**
 * A running tcpdump. `source` is its pcap output for the pipeline; it ends
 * after tcpdump has exited, so its statistics are known when the pipeline
 * finishes. `stop()` asks tcpdump to finish (SIGINT: it flushes what it
 * holds and prints its counts).
 */
export class LiveCapture {
  readonly #child: ChildProcessByStdio<null, Readable, Readable>;
  readonly #exited: Promise<number | null>;
  #stderr = '';
  #stopping = false;
  #exitCode: number | null | undefined;

  private constructor(child: ChildProcessByStdio<null, Readable, Readable>) {
    this.#child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (this.#stderr.length < STDERR_LIMIT) this.#stderr += chunk;
    });
    // 'close': the process has exited and its stdio streams are drained, statistics included.
    this.#exited = new Promise((resolve) => {
      child.once('close', (code) => {
        this.#exitCode = code;
        resolve(code);
      });
    });
  }

  /** Starts tcpdump; resolves once it listens, rejects with a clear WiretraceError when it cannot. */
  static async start(options: LiveCaptureOptions): Promise<LiveCapture> {
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      // Its own process group: a terminal's Ctrl-C reaches wiretrace only, which stops tcpdump once, in order.
      child = spawn(options.tcpdumpPath, tcpdumpArguments(options), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (e) {
      throw notInstalled(options.tcpdumpPath, e);
    }
    const capture = new LiveCapture(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new WiretraceError('WT_ERR_CAPTURE_UNAVAILABLE', `tcpdump did not start listening on ${options.interface} within ${Math.round((options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS) / 1000)} s`));
      }, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
      const onData = (): void => {
        if (capture.#stderr.includes('listening on')) {
          cleanup();
          resolve();
        }
      };
      const onError = (e: NodeJS.ErrnoException): void => {
        cleanup();
        reject(e.code === 'ENOENT' || e.code === 'EACCES' ? notInstalled(options.tcpdumpPath, e) : new WiretraceError('WT_ERR_CAPTURE_UNAVAILABLE', `cannot run ${options.tcpdumpPath}: ${e.message}`, { cause: e }));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stderr.off('data', onData);
        child.off('error', onError);
      };
      child.stderr.on('data', onData);
      child.once('error', onError);
      void capture.#exited.then((code) => {
        if (!capture.#stderr.includes('listening on')) {
          cleanup();
          reject(tcpdumpFailure(options, capture.#stderr, code));
        }
      });
    });
    return capture;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** tcpdump's pcap output; ends once tcpdump has exited. */
  get source(): AsyncIterable<Buffer> {
    const stdout = this.#child.stdout;
    const exited = this.#exited;
    return (async function* () {
      for await (const chunk of stdout) yield chunk as Buffer;
      await exited;
    })();
  }

  /** Asks tcpdump to stop: it writes what it holds, prints its counts and exits. Idempotent. */
  stop(): void {
    if (this.#stopping || this.#exitCode !== undefined) return;
    this.#stopping = true;
    this.#child.kill('SIGINT');
  }

  /** Ends tcpdump without waiting for it to flush (wiretrace is leaving at once). */
  kill(): void {
    if (this.#exitCode === undefined) this.#child.kill('SIGKILL');
  }

  /** Whether tcpdump ended because it was asked to (rather than on its own). */
  get stopped(): boolean {
    return this.#stopping;
  }

  /** Resolves with tcpdump's exit status once it has exited. */
  exited(): Promise<number | null> {
    return this.#exited;
  }

  statistics(): TcpdumpStatistics {
    return parseTcpdumpStatistics(this.#stderr);
  }

  /** What tcpdump said that was not its start banner nor its counts (warnings, a failure mid-capture). */
  messages(): string[] {
    return this.#stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith('tcpdump: listening on') && !/^\d+ packets? /.test(l));
  }

  /** Adds tcpdump's drop counts to the run's counters (stats.drops), where the summary and metrics read them. */
  recordDrops(stats: Stats): void {
    const s = this.statistics();
    if (s.droppedByKernel !== undefined) stats.drops.add('tcpdump-kernel', s.droppedByKernel);
    if (s.droppedByInterface !== undefined) stats.drops.add('tcpdump-interface', s.droppedByInterface);
  }
}

/**
 * Wall time as the pipeline's clock during live capture: capture time only
 * moves with packets, and on a quiet link nothing would time out or be
 * released. `lagMs` keeps the clock behind packets still in flight from
 * tcpdump, so that none arrives "from the past".
 */
export function wallClock(options: { intervalMs?: number; lagMs?: number } = {}): { start(tick: (sec: number, nsec: number) => void): () => void } {
  const intervalMs = options.intervalMs ?? 250;
  const lagMs = options.lagMs ?? 1000;
  return {
    start(tick) {
      const timer = setInterval(() => {
        const ms = Date.now() - lagMs;
        tick(Math.floor(ms / 1000), (ms % 1000) * 1e6);
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
