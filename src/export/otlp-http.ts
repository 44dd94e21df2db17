import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { ExportFailure } from './failure.js';
import { HttpSender, type HttpSenderOptions } from './http-sender.js';

export interface OtlpHttpExporterOptions extends HttpSenderOptions {
  protocol: 'protobuf' | 'json';
}

/**
 * OTLP over HTTP, protobuf or JSON. The encoding is OpenTelemetry's own
 * (otlp-transformer's serializers, the ones its exporters use); the
 * transport is our HttpSender rather than the exporter package's, because
 * that one retries internally (see the note in queue.ts).
 */
export class OtlpHttpSpanExporter implements SpanExporter {
  readonly #sender: HttpSender;
  readonly #protocol: 'protobuf' | 'json';
  #shutdown = false;

  constructor(options: OtlpHttpExporterOptions) {
    this.#sender = new HttpSender(options);
    this.#protocol = options.protocol;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#shutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new ExportFailure('exporter is shut down', { retryable: false, reason: 'shut-down' }) });
      return;
    }
    const body = this.#protocol === 'json' ? JsonTraceSerializer.serializeRequest(spans) : ProtobufTraceSerializer.serializeRequest(spans);
    if (!body) {
      resultCallback({ code: ExportResultCode.FAILED, error: new ExportFailure('OTLP serialisation failed', { retryable: false, reason: 'encode' }) });
      return;
    }
    this.#sender
      .send(body, this.#protocol === 'json' ? 'application/json' : 'application/x-protobuf')
      .then(
        () => resultCallback({ code: ExportResultCode.SUCCESS }),
        (error: Error) => resultCallback({ code: ExportResultCode.FAILED, error }),
      );
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#shutdown = true;
    this.#sender.shutdown();
  }
}
