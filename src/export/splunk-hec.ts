import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { HrTime } from '../model/time.js';
import { hrDiffNanos } from '../model/time.js';
import { ExportFailure } from './failure.js';
import { HttpSender, type HttpSenderOptions } from './http-sender.js';

export interface SplunkHecExporterOptions extends HttpSenderOptions {
  token: string;
  source: string;
  sourcetype: string;
  index?: string;
  host?: string;
}

/** The `event` field of one HEC event: one span. */
export interface SplunkSpanEvent {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  name: string;
  kind: string;
  /** RFC 3339 UTC with nanoseconds. */
  start_time: string;
  end_time: string;
  duration_ms: number;
  status: { code: 'UNSET' | 'OK' | 'ERROR'; message?: string };
  service: string;
  attributes: Attributes;
}

/** One HEC event envelope, as the /services/collector endpoint reads it. */
export interface SplunkHecEvent {
  /** Epoch seconds with a fraction (HEC's own format). */
  time: number;
  host?: string;
  source: string;
  sourcetype: string;
  index?: string;
  event: SplunkSpanEvent;
}

const KIND_NAMES: Record<number, string> = {
  [SpanKind.INTERNAL]: 'INTERNAL',
  [SpanKind.SERVER]: 'SERVER',
  [SpanKind.CLIENT]: 'CLIENT',
  [SpanKind.PRODUCER]: 'PRODUCER',
  [SpanKind.CONSUMER]: 'CONSUMER',
};

const STATUS_NAMES = { [SpanStatusCode.UNSET]: 'UNSET', [SpanStatusCode.OK]: 'OK', [SpanStatusCode.ERROR]: 'ERROR' } as const;

/** RFC 3339 with all nine digits: a Date would lose everything under a millisecond. */
export function hrToRfc3339(t: HrTime): string {
  const iso = new Date(t[0] * 1000).toISOString(); // yyyy-mm-ddThh:mm:ss.000Z
  return `${iso.slice(0, 19)}.${String(t[1]).padStart(9, '0')}Z`;
}

export function toSplunkEvent(span: ReadableSpan, options: Pick<SplunkHecExporterOptions, 'source' | 'sourcetype' | 'index' | 'host'>): SplunkHecEvent {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext?.spanId;
  const status: SplunkSpanEvent['status'] = { code: STATUS_NAMES[span.status.code] };
  if (span.status.message) status.message = span.status.message;
  const event: SplunkSpanEvent = {
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    ...(parent ? { parent_span_id: parent } : {}),
    name: span.name,
    kind: KIND_NAMES[span.kind] ?? String(span.kind),
    start_time: hrToRfc3339(span.startTime),
    end_time: hrToRfc3339(span.endTime),
    duration_ms: hrDiffNanos(span.endTime, span.startTime) / 1e6,
    status,
    service: String(span.resource.attributes['service.name'] ?? 'unknown'),
    attributes: span.attributes,
  };
  return {
    // Truncated to microseconds (as Jaeger and Zipkin get it): all a double holds at today's epoch.
    time: Number(`${span.startTime[0]}.${String(Math.floor(span.startTime[1] / 1000)).padStart(6, '0')}`),
    ...(options.host ? { host: options.host } : {}),
    source: options.source,
    sourcetype: options.sourcetype,
    ...(options.index ? { index: options.index } : {}),
    event,
  };
}

/**
 * Splunk HTTP Event Collector: one JSON event per span, the events of a
 * batch concatenated in one POST to /services/collector, authorised by
 * `Authorization: Splunk <token>`. HEC answers 503 when its queues are
 * full (retryable) and 400/401/403 for bad data or a bad token (not).
 */
export class SplunkHecExporter implements SpanExporter {
  readonly #sender: HttpSender;
  readonly #options: SplunkHecExporterOptions;
  #shutdown = false;

  constructor(options: SplunkHecExporterOptions) {
    this.#options = options;
    this.#sender = new HttpSender({ ...options, headers: { ...options.headers, authorization: `Splunk ${options.token}` } });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#shutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new ExportFailure('exporter is shut down', { retryable: false, reason: 'shut-down' }) });
      return;
    }
    let body = '';
    for (const span of spans) body += `${JSON.stringify(toSplunkEvent(span, this.#options))}\n`;
    this.#sender.send(body, 'application/json').then(
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
