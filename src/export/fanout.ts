import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ExportQueue, ExportQueueCounters } from './queue.js';

/**
 * Every span to every exporter. Each exporter has its own ExportQueue, and
 * offering to a queue never blocks or throws, so a dead receiver costs only
 * its own queue's spans (counted there) and never delays the others.
 */
export class SpanFanout {
  readonly queues: readonly ExportQueue[];

  constructor(queues: readonly ExportQueue[]) {
    this.queues = queues;
  }

  offer(spans: readonly ReadableSpan[]): void {
    for (const queue of this.queues) queue.offer(spans);
  }

  /** `offer` bound to this fanout, to pass as the pipeline's `onSpans`. */
  readonly onSpans = (spans: ReadableSpan[]): void => this.offer(spans);

  /** Resolves when every span offered so far has been exported or dropped by every queue. */
  async forceFlush(): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.forceFlush()));
  }

  /** Flushes all queues in parallel, each within the same deadline; what is left then is counted 'shutdown-deadline'. */
  async shutdown(deadlineMs: number): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.shutdown(deadlineMs)));
  }

  counters(): ExportQueueCounters[] {
    return this.queues.map((queue) => queue.counters);
  }
}

export interface SignalFlushOptions {
  deadlineMs: number;
  signals?: readonly NodeJS.Signals[];
  /** Called after the flush (or at once on a second signal); defaults to process.exit(128 + signal number). */
  exit?: (code: number) => void;
  /** Told when the flush starts, e.g. to stop capture. */
  onSignal?: (signal: NodeJS.Signals) => void;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * On SIGINT/SIGTERM, flush what is queued within the deadline, then exit.
 * A second signal exits at once. Returns a function that removes the handlers.
 */
export function flushOnSignals(fanout: SpanFanout, options: SignalFlushOptions): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let flushing = false;
  const handler = (signal: NodeJS.Signals): void => {
    const code = 128 + (SIGNAL_NUMBERS[signal] ?? 0);
    if (flushing) {
      exit(code);
      return;
    }
    flushing = true;
    options.onSignal?.(signal);
    fanout.shutdown(options.deadlineMs).then(
      () => exit(code),
      () => exit(code),
    );
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
