import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Stats } from '../model/stats.js';
import type { ExportQueueConfig, ExportRetryConfig } from './config.js';
import { classifyExportError, ExportFailure, type FailureVerdict } from './failure.js';

/*
 * How retries are layered — each failure is retried by exactly one layer,
 * with one budget, and that layer is this queue.
 *
 * @opentelemetry/otlp-exporter-base 0.223 wraps its HTTP transport in a
 * RetryingTransport (up to 5 retries, 1 s initial backoff ×1.5, 5 s cap,
 * ±20 % jitter, honouring Retry-After, bounded by the exporter's
 * timeoutMillis). Under this queue's own retry that would turn each of our
 * attempts into as many as six requests, and hide from our counters what
 * happened. So the OTLP/HTTP exporters here (otlp-http.ts) use the
 * OpenTelemetry serializers with our one HTTP sender and no retrying layer.
 * The OpenTelemetry gRPC exporter is used as it is: its delegate
 * (createOtlpNetworkExportDelegate) has no retrying transport, and it hands
 * back the grpc-js ServiceError whose status code failure.ts classifies. The
 * OpenTelemetry Zipkin exporter does not retry either; we only give it our
 * sender, for timeouts, TLS and status classification (zipkin.ts).
 *
 * The result: one request per attempt, one retry budget per batch
 * (maxAttempts and maxElapsedMs), full-jitter exponential backoff, and the
 * receiver's Retry-After honoured where it sends one.
 */

export type DropReason = 'queue-full' | 'retries-exhausted' | 'rejected' | 'shutdown-deadline' | 'after-shutdown';

/** Upper bounds (ms) of the export latency histogram; a last slot counts everything slower. */
export const EXPORT_LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

/**
 * Everything one exporter's queue has done, as plain numbers that the
 * metrics endpoint reads. Counters only grow; queueLength and inFlight are
 * the present.
 */
export interface ExportQueueCounters {
  readonly exporter: string;
  /** Spans taken into the queue. */
  accepted: number;
  /** Spans the receiver acknowledged. */
  exported: number;
  exportedBatches: number;
  /** Export attempts that failed, each retry counted. */
  failedAttempts: number;
  /** Attempts that were retries of a failed one. */
  retries: number;
  /** Spans given up on, by why. */
  readonly dropped: Record<DropReason, number>;
  /** Spans waiting in the queue now (never above maxQueueSize). */
  queueLength: number;
  /** Spans in the batch being exported or waiting to be retried now (never above maxExportBatchSize). */
  inFlight: number;
  /** Latency of successful attempts. bucketCounts[i] counts attempts ≤ EXPORT_LATENCY_BUCKETS_MS[i] (not cumulative); the last slot is the rest. */
  readonly latency: { count: number; sumMs: number; maxMs: number; readonly bucketCounts: number[] };
  /** Reason of the last failed attempt ('http-503', 'ECONNREFUSED', 'timeout', 'grpc-UNAVAILABLE', ...). */
  lastFailure: string | undefined;
  /** Epoch ms of the first failed attempt since the last success; undefined while exports succeed (health reads it). */
  failingSince: number | undefined;
}

export interface ExportQueueOptions {
  queue: ExportQueueConfig;
  retry: ExportRetryConfig;
}

export interface ExportQueueDeps {
  /** Drops are also added to the shared Stats, under drops 'exporter:<name>:<reason>'. */
  stats?: Stats;
  /** Source of jitter; tests make it deterministic. */
  random?: () => number;
  /** Called on each failed attempt (for logging); must not throw. */
  onFailure?: (exporter: string, verdict: FailureVerdict & { attempt: number; willRetry: boolean }, error: unknown) => void;
}

interface FlushWaiter {
  target: number;
  resolve: () => void;
}

/**
 * A bounded queue and batcher in front of one OpenTelemetry SpanExporter.
 *
 * `offer` never blocks and never throws: past maxQueueSize spans are dropped
 * and counted. One export is in flight at a time; a failed one is retried
 * with exponential backoff and full jitter when the failure is retryable,
 * and dropped (counted) otherwise. Memory held is at most maxQueueSize spans
 * waiting plus one batch in flight, however long the receiver is away.
 */
export class ExportQueue {
  readonly name: string;
  readonly counters: ExportQueueCounters;
  readonly #exporter: SpanExporter;
  readonly #queueConfig: ExportQueueConfig;
  readonly #retryConfig: ExportRetryConfig;
  readonly #deps: ExportQueueDeps;
  readonly #random: () => number;

  /** Ring buffer of waiting spans. */
  readonly #ring: (ReadableSpan | undefined)[];
  #head = 0;
  #length = 0;

  /** Spans ever accepted, and of those, how many have been exported or dropped: flush waits on these. */
  #acceptedSeq = 0;
  #settledSeq = 0;
  #flushTarget = 0;
  readonly #waiters: FlushWaiter[] = [];

  #batchTimer: NodeJS.Timeout | undefined;
  /** The batch delay ran out: send what is queued even if it is not a full batch. */
  #due = false;
  #kickPending = false;
  #running = false;
  #current: ReadableSpan[] | undefined;
  #cancelSleep: (() => void) | undefined;
  /** Timers of the export in flight, ref'd while someone awaits a flush so the process stays up for it. */
  readonly #workTimers = new Set<NodeJS.Timeout>();
  #awaited = 0;

  #closing = false;
  #shutdownPromise: Promise<void> | undefined;

  constructor(name: string, exporter: SpanExporter, options: ExportQueueOptions, deps: ExportQueueDeps = {}) {
    this.name = name;
    this.#exporter = exporter;
    this.#queueConfig = options.queue;
    this.#retryConfig = options.retry;
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
    this.#ring = new Array<ReadableSpan | undefined>(options.queue.maxQueueSize);
    this.counters = {
      exporter: name,
      accepted: 0,
      exported: 0,
      exportedBatches: 0,
      failedAttempts: 0,
      retries: 0,
      dropped: { 'queue-full': 0, 'retries-exhausted': 0, rejected: 0, 'shutdown-deadline': 0, 'after-shutdown': 0 },
      queueLength: 0,
      inFlight: 0,
      latency: { count: 0, sumMs: 0, maxMs: 0, bucketCounts: new Array<number>(EXPORT_LATENCY_BUCKETS_MS.length + 1).fill(0) },
      lastFailure: undefined,
      failingSince: undefined,
    };
  }

  /** Takes spans for export. Never blocks, never throws; what does not fit is dropped and counted. */
  offer(spans: readonly ReadableSpan[]): void {
    if (spans.length === 0) return;
    if (this.#closing) {
      this.#countDrop('after-shutdown', spans.length);
      return;
    }
    const capacity = this.#ring.length;
    const room = capacity - this.#length;
    const taken = Math.min(room, spans.length);
    for (let i = 0; i < taken; i++) {
      this.#ring[(this.#head + this.#length) % capacity] = spans[i];
      this.#length++;
    }
    this.#acceptedSeq += taken;
    this.counters.accepted += taken;
    this.counters.queueLength = this.#length;
    if (taken < spans.length) this.#countDrop('queue-full', spans.length - taken);
    if (taken > 0) this.#schedule();
  }

  /** Resolves when every span offered before the call has been exported or dropped. */
  forceFlush(): Promise<void> {
    return this.#waitSettled(this.#acceptedSeq);
  }

  /**
   * Stops taking spans, sends what is queued, and gives up at the deadline:
   * what is still queued or in flight then is counted 'shutdown-deadline'.
   * Never rejects.
   */
  shutdown(deadlineMs = 30_000): Promise<void> {
    this.#shutdownPromise ??= this.#shutdown(deadlineMs);
    return this.#shutdownPromise;
  }

  async #shutdown(deadlineMs: number): Promise<void> {
    this.#closing = true;
    const deadline = Date.now() + deadlineMs;
    const drained = this.#waitSettled(this.#acceptedSeq);
    const inTime = await raceDeadline(drained, deadlineMs);
    if (!inTime) this.#abandonAll();
    this.#clearBatchTimer();
    // The exporter's own shutdown (closing sockets, a gRPC channel) gets what is left of the deadline, never more.
    await raceDeadline(
      Promise.resolve()
        .then(() => this.#exporter.shutdown())
        .catch(() => undefined),
      Math.max(1, deadline - Date.now()),
    );
  }

  #schedule(): void {
    if (this.#running) return; // the running loop sees the new spans
    if (this.#length >= this.#queueConfig.maxExportBatchSize || this.#urgent()) {
      this.#kick();
    } else if (this.#batchTimer === undefined) {
      this.#batchTimer = setTimeout(() => {
        this.#batchTimer = undefined;
        this.#due = true;
        this.#kick();
      }, this.#queueConfig.scheduledDelayMillis);
      this.#batchTimer.unref();
    }
  }

  #kick(): void {
    if (this.#kickPending || this.#running) return;
    this.#kickPending = true;
    // Deferred so that the caller of offer() (capture) never runs an exporter's encoding on its own stack.
    setImmediate(() => {
      this.#kickPending = false;
      void this.#run();
    });
  }

  /** Spans up to the flush target are still queued, or shutdown wants everything out. */
  #urgent(): boolean {
    return this.#closing || this.#acceptedSeq - this.#length < this.#flushTarget;
  }

  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#length > 0) {
        if (this.#length < this.#queueConfig.maxExportBatchSize && !this.#due && !this.#urgent()) break;
        this.#due = false;
        this.#clearBatchTimer();
        await this.#deliver(this.#take(this.#queueConfig.maxExportBatchSize));
      }
    } finally {
      this.#running = false;
    }
    if (this.#length > 0) this.#schedule();
  }

  #take(max: number): ReadableSpan[] {
    const n = Math.min(max, this.#length);
    const capacity = this.#ring.length;
    const batch = new Array<ReadableSpan>(n);
    for (let i = 0; i < n; i++) {
      batch[i] = this.#ring[this.#head] as ReadableSpan;
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % capacity;
    }
    this.#length -= n;
    this.counters.queueLength = this.#length;
    return batch;
  }

  async #deliver(batch: ReadableSpan[]): Promise<void> {
    this.#current = batch;
    this.counters.inFlight = batch.length;
    const firstAttemptAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      const startedAt = performance.now();
      const result = await this.#attempt(batch);
      if (this.#current !== batch) return; // abandoned at the shutdown deadline, already counted
      if (result.code === ExportResultCode.SUCCESS) {
        this.#recordLatency(performance.now() - startedAt);
        this.counters.exported += batch.length;
        this.counters.exportedBatches++;
        this.counters.failingSince = undefined;
        this.#finishBatch(batch.length);
        return;
      }
      this.counters.failedAttempts++;
      const verdict = classifyExportError(result.error);
      this.counters.lastFailure = verdict.reason;
      this.counters.failingSince ??= Date.now();
      const wait = verdict.retryAfterMs ?? this.#backoff(attempt);
      const willRetry =
        verdict.retryable && attempt < this.#retryConfig.maxAttempts && Date.now() - firstAttemptAt + wait <= this.#retryConfig.maxElapsedMs;
      this.#notifyFailure({ ...verdict, attempt, willRetry }, result.error);
      if (!willRetry) {
        this.#countDrop(verdict.retryable ? 'retries-exhausted' : 'rejected', batch.length);
        this.#finishBatch(batch.length);
        return;
      }
      await this.#sleep(wait);
      if (this.#current !== batch) return;
      this.counters.retries++;
    }
  }

  /** Full jitter: uniformly below an exponentially growing cap (AWS architecture blog, "Exponential Backoff and Jitter"). */
  #backoff(attempt: number): number {
    const cap = Math.min(this.#retryConfig.maxBackoffMs, this.#retryConfig.initialBackoffMs * 2 ** (attempt - 1));
    return Math.floor(this.#random() * cap);
  }

  #attempt(batch: ReadableSpan[]): Promise<ExportResult> {
    return new Promise<ExportResult>((resolve) => {
      let settled = false;
      const timeoutMs = this.#queueConfig.exportTimeoutMillis;
      const timer = this.#workTimer(() => finish({ code: ExportResultCode.FAILED, error: ExportFailure.timeout(timeoutMs) }), timeoutMs);
      const finish = (result: ExportResult): void => {
        if (settled) return; // a late or second callback from the exporter
        settled = true;
        this.#clearWorkTimer(timer);
        resolve(result);
      };
      try {
        this.#exporter.export(batch, finish);
      } catch (error) {
        finish({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
      }
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#workTimer(done, ms);
      const cancel = (): void => {
        this.#clearWorkTimer(timer);
        done();
      };
      this.#cancelSleep = cancel;
      function done(): void {
        resolve();
      }
    }).finally(() => {
      this.#cancelSleep = undefined;
    });
  }

  #workTimer(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#workTimers.delete(timer);
      fn();
    }, ms);
    if (this.#awaited === 0) timer.unref();
    this.#workTimers.add(timer);
    return timer;
  }

  #clearWorkTimer(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.#workTimers.delete(timer);
  }

  #clearBatchTimer(): void {
    if (this.#batchTimer !== undefined) {
      clearTimeout(this.#batchTimer);
      this.#batchTimer = undefined;
    }
  }

  #finishBatch(n: number): void {
    this.#current = undefined;
    this.counters.inFlight = 0;
    this.#settle(n);
  }

  #settle(n: number): void {
    this.#settledSeq += n;
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i];
      if (waiter.target <= this.#settledSeq) {
        this.#waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  #waitSettled(target: number): Promise<void> {
    if (this.#settledSeq >= target) return Promise.resolve();
    this.#flushTarget = Math.max(this.#flushTarget, target);
    this.#awaited++;
    for (const timer of this.#workTimers) timer.ref();
    const done = new Promise<void>((resolve) => this.#waiters.push({ target, resolve }));
    this.#clearBatchTimer();
    this.#schedule();
    return done.finally(() => {
      this.#awaited--;
      if (this.#awaited === 0) for (const timer of this.#workTimers) timer.unref();
    });
  }

  /** The shutdown deadline passed: count everything not yet sent, and let waiters go. */
  #abandonAll(): void {
    let abandoned = this.#length;
    this.#take(this.#length);
    if (this.#current) {
      abandoned += this.#current.length;
      this.#current = undefined;
      this.counters.inFlight = 0;
    }
    this.#cancelSleep?.();
    if (abandoned > 0) this.#countDrop('shutdown-deadline', abandoned);
    this.#settle(abandoned);
  }

  #countDrop(reason: DropReason, n: number): void {
    this.counters.dropped[reason] += n;
    this.#deps.stats?.drops.add(`exporter:${this.name}:${reason}`, n);
  }

  #recordLatency(ms: number): void {
    const latency = this.counters.latency;
    latency.count++;
    latency.sumMs += ms;
    if (ms > latency.maxMs) latency.maxMs = ms;
    let bucket = 0;
    while (bucket < EXPORT_LATENCY_BUCKETS_MS.length && ms > EXPORT_LATENCY_BUCKETS_MS[bucket]) bucket++;
    latency.bucketCounts[bucket]++;
  }

  #notifyFailure(verdict: FailureVerdict & { attempt: number; willRetry: boolean }, error: unknown): void {
    try {
      this.#deps.onFailure?.(this.name, verdict, error);
    } catch {
      // a logging hook must not take the queue down
    }
  }
}

/** True when the promise settled within ms; the timer is ref'd: a shutdown is something to wait for. */
async function raceDeadline(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
