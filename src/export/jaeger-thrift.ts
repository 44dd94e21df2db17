import { SpanKind, SpanStatusCode, type AttributeValue, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { HrTime } from '../model/time.js';
import { ExportFailure } from './failure.js';
import { HttpSender, type HttpSenderOptions } from './http-sender.js';

/*
 * Jaeger's collector takes one `Batch` (jaeger-idl, thrift/jaeger.thrift)
 * per POST to /api/traces, in the Thrift binary protocol. The encoder is
 * written here by hand: a few dozen lines instead of a Thrift runtime. The
 * tests decode what it writes with the IDL through a real Thrift library.
 */

// Thrift binary protocol type ids.
const T_STOP = 0;
const T_BOOL = 2;
const T_DOUBLE = 4;
const T_I32 = 8;
const T_I64 = 10;
const T_STRING = 11;
const T_STRUCT = 12;
const T_LIST = 15;

/** jaeger.thrift TagType. */
export const TagType = { STRING: 0, DOUBLE: 1, BOOL: 2, LONG: 3, BINARY: 4 } as const;
/** jaeger.thrift SpanRefType. */
export const SpanRefType = { CHILD_OF: 0, FOLLOWS_FROM: 1 } as const;

class ThriftBinaryWriter {
  #buf = Buffer.allocUnsafe(16 * 1024);
  #pos = 0;

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }

  field(type: number, id: number): void {
    this.#room(3);
    this.#buf[this.#pos] = type;
    this.#buf.writeInt16BE(id, this.#pos + 1);
    this.#pos += 3;
  }

  stop(): void {
    this.#room(1);
    this.#buf[this.#pos++] = T_STOP;
  }

  list(elementType: number, size: number): void {
    this.#room(5);
    this.#buf[this.#pos] = elementType;
    this.#buf.writeInt32BE(size, this.#pos + 1);
    this.#pos += 5;
  }

  bool(v: boolean): void {
    this.#room(1);
    this.#buf[this.#pos++] = v ? 1 : 0;
  }

  i32(v: number): void {
    this.#room(4);
    this.#buf.writeInt32BE(v, this.#pos);
    this.#pos += 4;
  }

  i64(v: bigint): void {
    this.#room(8);
    this.#buf.writeBigInt64BE(BigInt.asIntN(64, v), this.#pos);
    this.#pos += 8;
  }

  double(v: number): void {
    this.#room(8);
    this.#buf.writeDoubleBE(v, this.#pos);
    this.#pos += 8;
  }

  string(s: string): void {
    const len = Buffer.byteLength(s);
    this.#room(4 + len);
    this.#buf.writeInt32BE(len, this.#pos);
    this.#buf.write(s, this.#pos + 4, len, 'utf8');
    this.#pos += 4 + len;
  }

  finish(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }
}

function hexToI64(hex: string): bigint {
  return hex.length === 0 ? 0n : BigInt.asIntN(64, BigInt(`0x${hex}`));
}

function hrToMicros(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000n + BigInt(Math.floor(t[1] / 1000));
}

interface Tag {
  key: string;
  value: AttributeValue;
}

function writeTag(w: ThriftBinaryWriter, key: string, value: AttributeValue): void {
  w.field(T_STRING, 1);
  w.string(key);
  if (typeof value === 'string') {
    w.field(T_I32, 2);
    w.i32(TagType.STRING);
    w.field(T_STRING, 3);
    w.string(value);
  } else if (typeof value === 'boolean') {
    w.field(T_I32, 2);
    w.i32(TagType.BOOL);
    w.field(T_BOOL, 5);
    w.bool(value);
  } else if (typeof value === 'number' && Number.isSafeInteger(value)) {
    w.field(T_I32, 2);
    w.i32(TagType.LONG);
    w.field(T_I64, 6);
    w.i64(BigInt(value));
  } else if (typeof value === 'number') {
    w.field(T_I32, 2);
    w.i32(TagType.DOUBLE);
    w.field(T_DOUBLE, 4);
    w.double(value);
  } else {
    // Jaeger tags have no array type; OpenTelemetry's Jaeger mapping writes arrays as JSON strings.
    w.field(T_I32, 2);
    w.i32(TagType.STRING);
    w.field(T_STRING, 3);
    w.string(JSON.stringify(value));
  }
  w.stop();
}

function writeTags(w: ThriftBinaryWriter, id: number, tags: Tag[]): void {
  w.field(T_LIST, id);
  w.list(T_STRUCT, tags.length);
  for (const tag of tags) writeTag(w, tag.key, tag.value);
}

function tagsOf(attributes: Attributes, skip?: string): Tag[] {
  const tags: Tag[] = [];
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (value === undefined || value === null || key === skip) continue;
    tags.push({ key, value });
  }
  return tags;
}

const KIND_TAGS: Record<number, string | undefined> = {
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

/** Span tags as OpenTelemetry's Jaeger mapping writes them: attributes, then span.kind, status and scope. */
function spanTags(span: ReadableSpan): Tag[] {
  const tags = tagsOf(span.attributes);
  const kind = KIND_TAGS[span.kind];
  if (kind) tags.push({ key: 'span.kind', value: kind });
  if (span.status.code === SpanStatusCode.ERROR) {
    tags.push({ key: 'otel.status_code', value: 'ERROR' }, { key: 'error', value: true });
    if (span.status.message) tags.push({ key: 'otel.status_description', value: span.status.message });
  } else if (span.status.code === SpanStatusCode.OK) {
    tags.push({ key: 'otel.status_code', value: 'OK' });
  }
  const scope = span.instrumentationScope;
  if (scope?.name) tags.push({ key: 'otel.scope.name', value: scope.name });
  if (scope?.version) tags.push({ key: 'otel.scope.version', value: scope.version });
  return tags;
}

function writeSpanRef(w: ThriftBinaryWriter, refType: number, traceId: string, spanId: string): void {
  w.field(T_I32, 1);
  w.i32(refType);
  w.field(T_I64, 2);
  w.i64(hexToI64(traceId.slice(16)));
  w.field(T_I64, 3);
  w.i64(hexToI64(traceId.slice(0, 16)));
  w.field(T_I64, 4);
  w.i64(hexToI64(spanId));
  w.stop();
}

function writeSpan(w: ThriftBinaryWriter, span: ReadableSpan): void {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext;
  w.field(T_I64, 1);
  w.i64(hexToI64(ctx.traceId.slice(16)));
  w.field(T_I64, 2);
  w.i64(hexToI64(ctx.traceId.slice(0, 16)));
  w.field(T_I64, 3);
  w.i64(hexToI64(ctx.spanId));
  w.field(T_I64, 4);
  w.i64(parent ? hexToI64(parent.spanId) : 0n);
  w.field(T_STRING, 5);
  w.string(span.name);
  const refCount = (parent ? 1 : 0) + span.links.length;
  if (refCount > 0) {
    w.field(T_LIST, 6);
    w.list(T_STRUCT, refCount);
    if (parent) writeSpanRef(w, SpanRefType.CHILD_OF, parent.traceId, parent.spanId);
    for (const link of span.links) writeSpanRef(w, SpanRefType.FOLLOWS_FROM, link.context.traceId, link.context.spanId);
  }
  w.field(T_I32, 7);
  w.i32(ctx.traceFlags & 1);
  w.field(T_I64, 8);
  w.i64(hrToMicros(span.startTime));
  w.field(T_I64, 9);
  w.i64(hrToMicros(span.endTime) - hrToMicros(span.startTime));
  writeTags(w, 10, spanTags(span));
  if (span.events.length > 0) {
    w.field(T_LIST, 11);
    w.list(T_STRUCT, span.events.length);
    for (const event of span.events) {
      w.field(T_I64, 1);
      w.i64(hrToMicros(event.time));
      writeTags(w, 2, [{ key: 'event', value: event.name }, ...tagsOf(event.attributes ?? {})]);
      w.stop();
    }
  }
  w.stop();
}

function serviceNameOf(span: ReadableSpan): string {
  return String(span.resource.attributes['service.name'] ?? 'unknown_service');
}

/** Spans grouped by service, in first-seen order: one Jaeger Process, one Batch each. */
export function groupByService(spans: readonly ReadableSpan[]): Map<string, ReadableSpan[]> {
  const groups = new Map<string, ReadableSpan[]>();
  for (const span of spans) {
    const service = serviceNameOf(span);
    let group = groups.get(service);
    if (!group) groups.set(service, (group = []));
    group.push(span);
  }
  return groups;
}

/** One jaeger.thrift `Batch` in the Thrift binary protocol: the Process is the spans' service and its resource attributes. */
export function encodeJaegerBatch(serviceName: string, spans: readonly ReadableSpan[]): Buffer {
  const w = new ThriftBinaryWriter();
  // Batch.process
  w.field(T_STRUCT, 1);
  w.field(T_STRING, 1);
  w.string(serviceName);
  const processTags = spans.length > 0 ? tagsOf(spans[0].resource.attributes, 'service.name') : [];
  if (processTags.length > 0) writeTags(w, 2, processTags);
  w.stop();
  // Batch.spans
  w.field(T_LIST, 2);
  w.list(T_STRUCT, spans.length);
  for (const span of spans) writeSpan(w, span);
  w.stop();
  return w.finish();
}

/**
 * Jaeger collector over HTTP: one POST of one Batch per service.
 * When a batch holding several services fails half-way, the queue retries
 * the same batch (the same array); the services already accepted are
 * remembered against that array and not sent twice.
 */
export class JaegerThriftExporter implements SpanExporter {
  readonly #sender: HttpSender;
  readonly #delivered = new WeakMap<ReadableSpan[], Set<string>>();
  #shutdown = false;

  constructor(options: HttpSenderOptions) {
    this.#sender = new HttpSender(options);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#shutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new ExportFailure('exporter is shut down', { retryable: false, reason: 'shut-down' }) });
      return;
    }
    this.#send(spans).then(
      () => resultCallback({ code: ExportResultCode.SUCCESS }),
      (error: Error) => resultCallback({ code: ExportResultCode.FAILED, error }),
    );
  }

  async #send(spans: ReadableSpan[]): Promise<void> {
    let delivered = this.#delivered.get(spans);
    for (const [service, group] of groupByService(spans)) {
      if (delivered?.has(service)) continue;
      await this.#sender.send(encodeJaegerBatch(service, group), 'application/x-thrift');
      if (!delivered) this.#delivered.set(spans, (delivered = new Set()));
      delivered.add(service);
    }
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#shutdown = true;
    this.#sender.shutdown();
  }
}
