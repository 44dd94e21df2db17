import { SpanStatusCode, trace, type Attributes, type AttributeValue, type Span } from '@opentelemetry/api';

/** The attribute keys services use most, so that every service spells them alike. */
export const Attr = {
  JOB_ID: 'job.id',
  JOB_NAME: 'job.name',
  JOB_STATUS: 'job.status',
  USER_ID: 'user.id',
  USER_NAME: 'user.name',
  OPERATION: 'operation.name',
  PROVIDER: 'provider.name',
  ERROR_TYPE: 'error.type',
  ERROR_MESSAGE: 'error.message',
  HTTP_METHOD: 'http.request.method',
  HTTP_PATH: 'url.path',
  HTTP_ROUTE: 'http.route',
  HTTP_STATUS: 'http.response.status_code',
  RETRY_ATTEMPT: 'retry.attempt',
  RETRY_MAX_ATTEMPTS: 'retry.max_attempts',
  RETRY_OUTCOME: 'retry.outcome',
} as const;

function jsonOf(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    return text ?? String(value);
  } catch {
    return '[unserializable]';
  }
}

function homogeneousPrimitives(value: unknown[]): boolean {
  if (value.length === 0) return true;
  const t = typeof value[0];
  if (t !== 'string' && t !== 'number' && t !== 'boolean') return false;
  for (const v of value) if (typeof v !== t) return false;
  return true;
}

/** One value as an attribute value: primitives as they are, arrays of one primitive type as they are, everything else as JSON. */
export function attributeValue(value: unknown): AttributeValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (value instanceof Error) return value.message;
  if (Array.isArray(value) && homogeneousPrimitives(value)) return value as AttributeValue;
  return jsonOf(value);
}

/** A plain record of any values as span attributes (objects become JSON strings; null and undefined are left out). */
export function toAttributes(record: Readonly<Record<string, unknown>> | undefined): Attributes {
  const out: Attributes = {};
  if (!record) return out;
  for (const key in record) {
    const v = attributeValue(record[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function activeSpan(span?: Span): Span | undefined {
  return span ?? trace.getActiveSpan();
}

/** Adds attributes to the active span (or the one given). */
export function setAttributes(attributes: Readonly<Record<string, unknown>>, span?: Span): void {
  const s = activeSpan(span);
  if (s?.isRecording()) s.setAttributes(toAttributes(attributes));
}

export function addEvent(name: string, attributes?: Readonly<Record<string, unknown>>, span?: Span): void {
  const s = activeSpan(span);
  if (s?.isRecording()) s.addEvent(name, toAttributes(attributes));
}

export function setStatus(status: 'ok' | 'error' | 'unset', message?: string, span?: Span): void {
  const s = activeSpan(span);
  if (!s?.isRecording()) return;
  const code = status === 'ok' ? SpanStatusCode.OK : status === 'error' ? SpanStatusCode.ERROR : SpanStatusCode.UNSET;
  s.setStatus(code === SpanStatusCode.ERROR && message !== undefined ? { code, message } : { code });
}

function errorType(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return typeof code === 'string' && code.length > 0 ? code : error.name || error.constructor.name;
  }
  return typeof error;
}

/** Records an error on the active span (or the one given): an exception event, error.type, and status ERROR. */
export function recordError(error: unknown, attributes?: Readonly<Record<string, unknown>>, span?: Span): void {
  const s = activeSpan(span);
  if (!s?.isRecording()) return;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error) s.recordException(error);
  else s.recordException({ name: typeof error, message });
  s.setAttribute(Attr.ERROR_TYPE, errorType(error));
  if (attributes) s.setAttributes(toAttributes(attributes));
  s.setStatus({ code: SpanStatusCode.ERROR, message });
}
