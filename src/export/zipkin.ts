import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { WiretraceError } from '../errors.js';
import { HttpSender, type HttpSenderOptions } from './http-sender.js';

type SendFunction = (zipkinSpans: ZipkinSpanFields[], done: (result: ExportResult) => void) => void;

interface ZipkinSpanFields {
  timestamp?: number;
  duration?: number;
}

/**
 * Zipkin's model has timestamp and duration as int64 microseconds (duration
 * at least 1); toZipkinSpan gives the start time with a fraction whenever the
 * clock has sub-microsecond digits, which a Zipkin server refuses to read as
 * a long. Rounded here, before the JSON is written.
 */
function toZipkinIntegers(span: ZipkinSpanFields): void {
  if (span.timestamp !== undefined) span.timestamp = Math.round(span.timestamp);
  if (span.duration !== undefined) span.duration = Math.max(1, Math.round(span.duration));
}

/**
 * Zipkin v2 JSON through the OpenTelemetry Zipkin exporter: its span model
 * (toZipkinSpan: ids, kind, µs times, tags, annotations, localEndpoint) is
 * used as it is. Only its sender is replaced: the stock one has no timeout,
 * no TLS options and calls every status ≥ 400 a failure of one kind, where
 * ours retries 429/502/503/504 and gives up on the rest.
 *
 * The sender is the exporter's `_send` field (exporter-zipkin 2.12, pinned
 * exactly in package.json); the constructor checks it is still there, so
 * an upgrade that moves it fails loudly instead of silently bypassing ours.
 */
export class ZipkinHttpExporter extends ZipkinExporter {
  readonly #sender: HttpSender;

  constructor(options: HttpSenderOptions) {
    super({ url: options.url, headers: options.headers });
    this.#sender = new HttpSender(options);
    const internals = this as unknown as { _send?: SendFunction };
    if (typeof internals._send !== 'function') {
      throw new WiretraceError('WT_ERR_INTERNAL', '@opentelemetry/exporter-zipkin changed: its sender cannot be replaced');
    }
    internals._send = (zipkinSpans, done) => {
      if (zipkinSpans.length === 0) {
        done({ code: ExportResultCode.SUCCESS });
        return;
      }
      for (const span of zipkinSpans) toZipkinIntegers(span);
      this.#sender.send(JSON.stringify(zipkinSpans), 'application/json').then(
        () => done({ code: ExportResultCode.SUCCESS }),
        (error: Error) => done({ code: ExportResultCode.FAILED, error }),
      );
    };
  }

  override async shutdown(): Promise<void> {
    await super.shutdown();
    this.#sender.shutdown();
  }
}
