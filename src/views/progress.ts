import { formatBytes, formatMs } from '../graph/format.js';

/** The part of a stream the bar needs; process.stderr fits. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): boolean;
}

export interface ProgressOptions {
  /** Total bytes, when known (a file); without it only bytes and rate are shown (a pipe). */
  total?: number;
  label?: string;
  /** Milliseconds between redraws. Default 100 (at most 10 updates a second). */
  intervalMs?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

export interface Progress {
  /** Bytes read so far (absolute, not a delta). */
  update(bytesRead: number): void;
  /** Clears the line; call once at the end, also on failure. */
  finish(): void;
}

const NO_PROGRESS: Progress = { update() {}, finish() {} };

/** A progress line on a terminal (bytes read / total, MB/s, time left); a no-op when the stream is not a TTY. */
export function createProgress(stream: ProgressStream, options: ProgressOptions = {}): Progress {
  if (!stream.isTTY) return NO_PROGRESS;
  return new ProgressBar(stream, options);
}

export class ProgressBar implements Progress {
  readonly #stream: ProgressStream;
  readonly #total: number | undefined;
  readonly #label: string;
  readonly #interval: number;
  readonly #now: () => number;
  readonly #started: number;
  #lastDraw = -Infinity;
  #drawn = false;
  #finished = false;

  constructor(stream: ProgressStream, options: ProgressOptions = {}) {
    this.#stream = stream;
    this.#total = options.total !== undefined && options.total > 0 ? options.total : undefined;
    this.#label = options.label ?? 'reading';
    this.#interval = options.intervalMs ?? 100;
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
  }

  update(bytesRead: number): void {
    if (this.#finished) return;
    const now = this.#now();
    if (now - this.#lastDraw < this.#interval) return;
    this.#lastDraw = now;
    this.#stream.write(`\r${this.line(bytesRead, now)}\x1b[K`);
    this.#drawn = true;
  }

  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#drawn) this.#stream.write('\r\x1b[K');
  }

  /** The text of the line for `bytesRead` at time `now`, fitted to the terminal width. */
  line(bytesRead: number, now: number): string {
    const elapsedMs = Math.max(1, now - this.#started);
    const rate = bytesRead / (elapsedMs / 1000);
    const parts = [`${formatBytes(bytesRead)}${this.#total !== undefined ? ` / ${formatBytes(this.#total)}` : ''}`, `${(rate / 1e6).toFixed(1)} MB/s`];
    let barText = '';
    if (this.#total !== undefined) {
      const fraction = Math.min(1, bytesRead / this.#total);
      const left = rate > 0 ? ((this.#total - Math.min(bytesRead, this.#total)) / rate) * 1000 : Infinity;
      parts.push(`${Math.floor(fraction * 100)}%`, Number.isFinite(left) ? `${formatMs(left)} left` : '');
      const columns = this.#stream.columns ?? 80;
      const width = Math.max(10, Math.min(40, columns - this.#label.length - 60));
      const filled = Math.round(fraction * width);
      barText = ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    }
    const text = `${this.#label}${barText} ${parts.filter(Boolean).join(' · ')}`;
    const columns = this.#stream.columns ?? 80;
    return text.length < columns ? text : text.slice(0, Math.max(0, columns - 1));
  }
}
