import { isSpanContextValid, trace } from '@opentelemetry/api';

/*
 * Log correlation: trace_id and span_id of the active span in every log
 * line, under the field names OpenTelemetry's log data model and most log
 * backends use. Lines logged outside any span get nothing.
 */

export interface TraceFields {
  trace_id?: string;
  span_id?: string;
  trace_flags?: string;
}

const NONE: TraceFields = Object.freeze({});

/** The active span's ids as log fields; an empty object outside a span. */
export function traceFields(): TraceFields {
  const sc = trace.getActiveSpan()?.spanContext();
  if (sc === undefined || !isSpanContextValid(sc)) return NONE;
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: sc.traceFlags & 1 ? '01' : '00' };
}

/** For pino: `pino({ mixin: pinoMixin })`. */
export function pinoMixin(): TraceFields {
  return traceFields();
}

/** A winston format (an object with `transform`): `winston.format.combine(winstonTraceFormat(), winston.format.json())`. */
export function winstonTraceFormat(): { transform<T extends Record<string | symbol, unknown>>(info: T): T } {
  return {
    transform<T extends Record<string | symbol, unknown>>(info: T): T {
      const record = info as Record<string, unknown>;
      const fields = traceFields();
      if (fields.trace_id !== undefined) {
        record.trace_id = fields.trace_id;
        record.span_id = fields.span_id;
        record.trace_flags = fields.trace_flags;
      }
      return info;
    },
  };
}
