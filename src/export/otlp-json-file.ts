import { createWriteStream, openSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { WiretraceError } from '../errors.js';

const NEWLINE = Buffer.from('\n');

/**
 * Writes spans as OTLP/JSON lines: each line one ExportTraceServiceRequest
 * in the OTLP JSON encoding, as the OpenTelemetry Collector's file exporter
 * writes it. The encoding is OpenTelemetry's own serializer, not ours.
 */
export class OtlpJsonLinesExporter implements SpanExporter {
  readonly #out: Writable;
  readonly #ownsStream: boolean;
  #failure: Error | undefined;
  #shutdown = false;
  /** Spans written; spans refused after shutdown or a write failure are counted separately. */
  written = 0;
  refused = 0;

  constructor(destination: string | Writable) {
    if (typeof destination === 'string') {
      // Opened synchronously so that a bad path fails before any capture is read.
      let fd: number;
      try {
        fd = openSync(destination, 'w');
      } catch (err) {
        throw new WiretraceError('WT_ERR_OUTPUT', `cannot write ${destination}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
      }
      this.#ownsStream = true;
      this.#out = createWriteStream(destination, { fd, highWaterMark: 1 << 20 });
    } else {
      this.#ownsStream = false;
      this.#out = destination;
    }
    this.#out.on('error', (err: Error) => {
      this.#failure ??= err;
    });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#shutdown || this.#failure) {
      this.refused += spans.length;
      resultCallback({ code: ExportResultCode.FAILED, error: this.#failure ?? new Error('exporter is shut down') });
      return;
    }
    if (spans.length === 0) {
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    const body = JsonTraceSerializer.serializeRequest(spans);
    if (!body) {
      this.refused += spans.length;
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('OTLP JSON serialisation failed') });
      return;
    }
    this.#out.write(body);
    this.#out.write(NEWLINE);
    this.written += spans.length;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {
    if (this.#out.writableNeedDrain) await once(this.#out, 'drain');
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown) return;
    this.#shutdown = true;
    if (this.#ownsStream) {
      await new Promise<void>((resolve) => this.#out.end(resolve));
    } else {
      await this.forceFlush();
    }
    if (this.#failure) {
      throw new WiretraceError('WT_ERR_OUTPUT', `cannot write spans: ${this.#failure.message}`, { cause: this.#failure });
    }
  }
}
