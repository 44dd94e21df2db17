import { liveUrl, type LiveSummary } from './api.js';

export type LiveState = 'connecting' | 'open' | 'offline';

/**
 * The server's live feed (/api/live, Server-Sent Events: `event: traces`
 * with a JSON array of trace summaries). EventSource retries by itself
 * after a dropped stream; when the server refuses the stream outright (a
 * 503 when full, a restart) it gives up, so this reconnects with backoff.
 */
export class LiveFeed {
  #source: EventSource | undefined;
  #retryMs = 1000;
  #timer: number | undefined;
  readonly #onTraces: (summaries: LiveSummary[]) => void;
  readonly #onState: (state: LiveState) => void;

  constructor(onTraces: (summaries: LiveSummary[]) => void, onState: (state: LiveState) => void) {
    this.#onTraces = onTraces;
    this.#onState = onState;
  }

  start(): void {
    this.#connect();
  }

  #connect(): void {
    this.#onState('connecting');
    const source = new EventSource(liveUrl());
    this.#source = source;
    source.onopen = () => {
      this.#retryMs = 1000;
      this.#onState('open');
    };
    source.addEventListener('traces', (event) => {
      let summaries: LiveSummary[];
      try {
        summaries = JSON.parse((event as MessageEvent<string>).data) as LiveSummary[];
      } catch {
        return;
      }
      if (Array.isArray(summaries)) this.#onTraces(summaries);
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        this.#onState('offline');
        source.close();
        this.#timer = window.setTimeout(() => this.#connect(), this.#retryMs);
        this.#retryMs = Math.min(this.#retryMs * 2, 30_000);
      } else {
        this.#onState('connecting');
      }
    };
  }

  restart(): void {
    this.stop();
    this.#connect();
  }

  stop(): void {
    if (this.#timer !== undefined) window.clearTimeout(this.#timer);
    this.#source?.close();
    this.#source = undefined;
  }
}
