import type { Writable } from 'node:stream';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { formatTraces } from './readable.js';

/** Readable trace trees for development: one block per export, the same printer as `wiretrace analyze`. */
export class ConsoleSpanExporter implements SpanExporter {
  readonly #out: Writable;

  constructor(out: Writable) {
    this.#out = out;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (spans.length === 0) {
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    this.#out.write(`${formatTraces(spans)}\n`, (err) =>
      resultCallback(err ? { code: ExportResultCode.FAILED, error: err } : { code: ExportResultCode.SUCCESS }),
    );
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
