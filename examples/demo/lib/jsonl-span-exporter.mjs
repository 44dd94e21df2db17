// A SpanExporter that appends every finished span as one JSON line to a file.
// The file is the ground truth wiretrace's wire-derived spans are compared to.
import { appendFileSync } from 'node:fs';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';

const KIND_NAMES = {
  [SpanKind.INTERNAL]: 'INTERNAL',
  [SpanKind.SERVER]: 'SERVER',
  [SpanKind.CLIENT]: 'CLIENT',
  [SpanKind.PRODUCER]: 'PRODUCER',
  [SpanKind.CONSUMER]: 'CONSUMER',
};

const STATUS_NAMES = {
  [SpanStatusCode.UNSET]: 'UNSET',
  [SpanStatusCode.OK]: 'OK',
  [SpanStatusCode.ERROR]: 'ERROR',
};

// Nanoseconds since the epoch exceed 2^53, so a JSON number would lose the
// low digits; the decimal string is exact (the OTLP JSON convention).
function hrTimeToNanosString([seconds, nanos]) {
  return (BigInt(seconds) * 1_000_000_000n + BigInt(nanos)).toString();
}

export function spanToGroundTruth(span) {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  const record = {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: parent?.spanId ?? null,
    parentIsRemote: parent?.isRemote ?? false,
    traceFlags: context.traceFlags,
    traceState: context.traceState?.serialize() || null,
    name: span.name,
    kind: KIND_NAMES[span.kind] ?? String(span.kind),
    serviceName: span.resource.attributes['service.name'],
    startTimeUnixNano: hrTimeToNanosString(span.startTime),
    endTimeUnixNano: hrTimeToNanosString(span.endTime),
    status: { code: STATUS_NAMES[span.status.code] ?? String(span.status.code) },
    attributes: { ...span.attributes },
  };
  if (span.status.message) record.status.message = span.status.message;
  return record;
}

export class JsonlSpanExporter {
  #path;
  #stopped = false;

  constructor(path) {
    this.#path = path;
  }

  export(spans, resultCallback) {
    if (this.#stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
      return;
    }
    try {
      const lines = spans.map((span) => JSON.stringify(spanToGroundTruth(span)) + '\n').join('');
      appendFileSync(this.#path, lines);
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error });
    }
  }

  forceFlush() {
    return Promise.resolve();
  }

  shutdown() {
    this.#stopped = true;
    return Promise.resolve();
  }
}
