/**
 * The one shape the trace server stores. Every receiver converts what it
 * receives (OTLP, Zipkin, Jaeger Thrift, the wire pipeline's ReadableSpans)
 * into it in one place each; the query API converts it out in one place.
 *
 * Tags are kept typed as the Jaeger model types them, because the store's
 * main reader is the Jaeger API, and the OTLP distinction between an int
 * and a double (lost in a JS number) must survive to it.
 */

export type TagType = 'string' | 'bool' | 'int64' | 'float64' | 'binary';

export interface Tag {
  key: string;
  type: TagType;
  /** int64 as a number (exact up to 2^53), binary as base64. */
  value: string | number | boolean;
}

/** OTLP SpanKind numbering: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
export type SpanKindNumber = 0 | 1 | 2 | 3 | 4 | 5;
export const SPAN_KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

/** OTLP status: 0 unset, 1 ok, 2 error. */
export type StatusCodeNumber = 0 | 1 | 2;

export interface StoredEvent {
  /** Epoch microseconds. */
  timeUs: number;
  name: string;
  attributes: Tag[];
}

export interface StoredLink {
  traceId: string;
  spanId: string;
  /** Jaeger's reference type: OTLP links are FOLLOWS_FROM, extra Jaeger CHILD_OF references stay CHILD_OF. */
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  attributes: Tag[];
}

export interface StoredSpan {
  /** 32 lowercase hex digits (a 64-bit id is left-padded with zeros). */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: SpanKindNumber;
  service: string;
  /** Epoch microseconds, and the duration in microseconds (Jaeger's units). */
  startUs: number;
  durationUs: number;
  attributes: Tag[];
  events: StoredEvent[];
  links: StoredLink[];
  statusCode: StatusCodeNumber;
  statusMessage: string;
  /** Resource attributes other than service.name. */
  resource: Tag[];
  scopeName: string;
  scopeVersion: string;
  traceState: string;
  /** W3C trace flags (bit 0: sampled). */
  flags: number;
}

const HEX_TRACE = /^[0-9a-f]{32}$/;
const HEX_SPAN = /^[0-9a-f]{16}$/;

export function isTraceId(id: string): boolean {
  return HEX_TRACE.test(id) && id !== '00000000000000000000000000000000';
}

export function isSpanId(id: string): boolean {
  return HEX_SPAN.test(id) && id !== '0000000000000000';
}

/** Normalises a hex trace id of up to 32 digits (Jaeger and Zipkin send 64-bit ones as 16) to 32 lowercase digits. */
export function normaliseTraceId(id: string): string {
  const lower = id.toLowerCase();
  return lower.length >= 32 ? lower : lower.padStart(32, '0');
}

/** A JS value as a typed tag, the way OpenTelemetry's Jaeger mapping types it. */
export function tagOf(key: string, value: unknown): Tag | undefined {
  switch (typeof value) {
    case 'string':
      return { key, type: 'string', value };
    case 'boolean':
      return { key, type: 'bool', value };
    case 'number':
      return Number.isInteger(value) ? { key, type: 'int64', value } : { key, type: 'float64', value };
    case 'bigint':
      return { key, type: 'int64', value: Number(value) };
    case 'object':
      if (value === null) return undefined;
      // Jaeger tags have no array or map type: they travel as JSON text.
      return { key, type: 'string', value: JSON.stringify(value) };
    default:
      return undefined;
  }
}

export function tagsOf(attributes: Record<string, unknown> | undefined, skip?: string): Tag[] {
  const tags: Tag[] = [];
  if (!attributes) return tags;
  for (const key of Object.keys(attributes)) {
    if (key === skip) continue;
    const tag = tagOf(key, attributes[key]);
    if (tag) tags.push(tag);
  }
  return tags;
}

/** Thrown inside decoders and turned into a 400 with its message at the receiver. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

export type DecodeResult = { ok: true; spans: StoredSpan[] } | { ok: false; reason: string };

/** Runs a decoder so that nothing it meets in a payload escapes as an exception. */
export function safeDecode(decode: () => StoredSpan[]): DecodeResult {
  try {
    return { ok: true, spans: decode() };
  } catch (err) {
    if (err instanceof PayloadError) return { ok: false, reason: err.message };
    if (err instanceof RangeError || err instanceof TypeError || err instanceof SyntaxError) return { ok: false, reason: `malformed payload: ${err.message}` };
    throw err;
  }
}

export const UNKNOWN_SERVICE = 'unknown_service';
