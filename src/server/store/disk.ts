import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { WiretraceError } from '../../errors.js';
import type { StoredSpan } from '../span.js';
import type { MemoryStore, StorePersistence, TraceEntry } from './memory.js';

/** Bumped when the stored shape changes; a store of another version is refused, not misread. */
const FORMAT_VERSION = 1;

interface TraceMeta {
  traceId: string;
  receivedAtMs: number;
}

/**
 * Traces kept on disk in LMDB under `--storage PATH`. Spans are keyed by
 * (trace arrival sequence, span id), so one ordered scan at start replays
 * traces oldest first into the in-memory indexes, and evicting a trace is
 * one key range. Writes are batched by LMDB into transactions; close()
 * waits until they are on disk.
 */
export class DiskPersistence implements StorePersistence {
  readonly #env: RootDatabase;
  readonly #spans: Database<StoredSpan, [number, string]>;
  readonly #traces: Database<TraceMeta, number>;
  readonly #written = new Set<number>();

  private constructor(env: RootDatabase) {
    this.#env = env;
    this.#spans = env.openDB({ name: 'spans' });
    this.#traces = env.openDB({ name: 'traces' });
  }

  static open(path: string): DiskPersistence {
    let env: RootDatabase;
    try {
      mkdirSync(path, { recursive: true });
      env = open({ path, maxDbs: 4, mapSize: 2 ** 34 });
    } catch (err) {
      throw new WiretraceError('WT_ERR_FILE_UNREADABLE', `trace storage ${path}: ${(err as Error).message}`, { cause: err });
    }
    const meta = env.openDB<number, string>({ name: 'meta' });
    const version = meta.get('format');
    if (version === undefined) meta.putSync('format', FORMAT_VERSION);
    else if (version !== FORMAT_VERSION) {
      void env.close();
      throw new WiretraceError('WT_ERR_CONFIG', `trace storage ${path} has format ${version}; this wiretrace reads format ${FORMAT_VERSION}`);
    }
    return new DiskPersistence(env);
  }

  /** Replays every stored trace, oldest first, into the store's indexes (before attaching as its persistence). */
  load(store: MemoryStore): { traces: number; spans: number } {
    let traces = 0;
    let spans = 0;
    let seq = -1;
    let batch: StoredSpan[] = [];
    let meta: TraceMeta | undefined;
    const flush = (): void => {
      if (batch.length && meta) {
        store.add(batch, { receivedAtMs: meta.receivedAtMs, seq });
        traces++;
        spans += batch.length;
        this.#written.add(seq);
      }
      batch = [];
    };
    for (const { key, value } of this.#spans.getRange()) {
      if (key[0] !== seq) {
        flush();
        seq = key[0];
        meta = this.#traces.get(seq);
      }
      batch.push(value);
    }
    flush();
    return { traces, spans };
  }

  saveSpans(trace: TraceEntry, spans: StoredSpan[]): void {
    if (!this.#written.has(trace.seq)) {
      this.#written.add(trace.seq);
      void this.#traces.put(trace.seq, { traceId: trace.traceId, receivedAtMs: trace.receivedAtMs });
    }
    for (const span of spans) void this.#spans.put([trace.seq, span.spanId], span);
  }

  deleteTraces(traces: TraceEntry[]): void {
    const seqs = traces.map((t) => t.seq);
    for (const seq of seqs) this.#written.delete(seq);
    // In a write transaction, queued after the puts of the same traces, so the range read sees them.
    void this.#env.transaction(() => {
      for (const seq of seqs) {
        void this.#traces.remove(seq);
        for (const key of this.#spans.getKeys({ start: [seq], end: [seq + 1] })) void this.#spans.remove(key);
      }
    });
  }

  async close(): Promise<void> {
    await this.#env.flushed;
    await this.#env.close();
  }
}
