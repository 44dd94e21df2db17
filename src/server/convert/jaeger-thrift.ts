import { PayloadError, UNKNOWN_SERVICE, type SpanKindNumber, type StatusCodeNumber, type StoredEvent, type StoredLink, type StoredSpan, type Tag } from '../span.js';

/*
 * jaeger.thrift `Batch` in the Thrift binary protocol, as jaeger clients and
 * wiretrace's own JaegerThriftExporter POST it to /api/traces. Decoded by
 * hand into stored spans, with the OpenTelemetry conventions Jaeger's own
 * translator reads back: span.kind, otel.status_code, error, otel.scope.*.
 */

const T_STOP = 0;
const T_BOOL = 2;
const T_DOUBLE = 4;
const T_I16 = 6;
const T_I32 = 8;
const T_I64 = 10;
const T_STRING = 11;
const T_STRUCT = 12;
const T_MAP = 13;
const T_SET = 14;
const T_LIST = 15;
const T_BYTE = 3;

const MAX_DEPTH = 32;

class ThriftReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  #need(n: number): void {
    if (this.pos + n > this.buf.length) throw new PayloadError('truncated Thrift payload');
  }
  byte(): number {
    this.#need(1);
    return this.buf[this.pos++];
  }
  i16(): number {
    this.#need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    this.#need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): bigint {
    this.#need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  double(): number {
    this.#need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  binary(): Buffer {
    const len = this.i32();
    if (len < 0) throw new PayloadError('negative Thrift string length');
    this.#need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }
  string(): string {
    return this.binary().toString('utf8');
  }
  /** Reads a list header; returns the element count after checking the element type. */
  list(expected: number, what: string): number {
    const type = this.byte();
    const size = this.i32();
    if (size < 0) throw new PayloadError(`${what}: negative list size`);
    if (size > 0 && type !== expected) throw new PayloadError(`${what}: list of type ${type}, expected ${expected}`);
    // Every element takes at least one byte: a size beyond the payload is a lie, refused before any allocation.
    if (size > this.buf.length - this.pos) throw new PayloadError(`${what}: list size ${size} exceeds the payload`);
    return size;
  }
  skip(type: number, depth = 0): void {
    if (depth > MAX_DEPTH) throw new PayloadError('Thrift structures nested too deeply');
    switch (type) {
      case T_BOOL:
      case T_BYTE:
        this.#need(1);
        this.pos += 1;
        return;
      case T_I16:
        this.#need(2);
        this.pos += 2;
        return;
      case T_I32:
        this.#need(4);
        this.pos += 4;
        return;
      case T_I64:
      case T_DOUBLE:
        this.#need(8);
        this.pos += 8;
        return;
      case T_STRING:
        this.binary();
        return;
      case T_STRUCT:
        for (;;) {
          const ft = this.byte();
          if (ft === T_STOP) return;
          this.i16();
          this.skip(ft, depth + 1);
        }
      case T_MAP: {
        const kt = this.byte();
        const vt = this.byte();
        const n = this.i32();
        if (n < 0 || n > this.buf.length - this.pos) throw new PayloadError('bad Thrift map size');
        for (let i = 0; i < n; i++) {
          this.skip(kt, depth + 1);
          this.skip(vt, depth + 1);
        }
        return;
      }
      case T_SET:
      case T_LIST: {
        const et = this.byte();
        const n = this.i32();
        if (n < 0 || n > this.buf.length - this.pos) throw new PayloadError('bad Thrift list size');
        for (let i = 0; i < n; i++) this.skip(et, depth + 1);
        return;
      }
      default:
        throw new PayloadError(`unknown Thrift type ${type}`);
    }
  }
  /** Iterates the fields of a struct: calls `onField(id, type)`, which must consume the value or return false to skip it. */
  struct(onField: (id: number, type: number) => boolean): void {
    for (;;) {
      const type = this.byte();
      if (type === T_STOP) return;
      const id = this.i16();
      if (!onField(id, type)) this.skip(type);
    }
  }
}

const hex64 = (v: bigint): string => BigInt.asUintN(64, v).toString(16).padStart(16, '0');

function readTag(r: ThriftReader): Tag {
  let key = '';
  let vType = 0;
  let vStr = '';
  let vDouble = 0;
  let vBool = false;
  let vLong = 0n;
  let vBinary: Buffer = Buffer.alloc(0);
  r.struct((id, type) => {
    if (id === 1 && type === T_STRING) key = r.string();
    else if (id === 2 && type === T_I32) vType = r.i32();
    else if (id === 3 && type === T_STRING) vStr = r.string();
    else if (id === 4 && type === T_DOUBLE) vDouble = r.double();
    else if (id === 5 && type === T_BOOL) vBool = r.byte() !== 0;
    else if (id === 6 && type === T_I64) vLong = r.i64();
    else if (id === 7 && type === T_STRING) vBinary = r.binary();
    else return false;
    return true;
  });
  switch (vType) {
    case 0:
      return { key, type: 'string', value: vStr };
    case 1:
      return { key, type: 'float64', value: vDouble };
    case 2:
      return { key, type: 'bool', value: vBool };
    case 3:
      return { key, type: 'int64', value: Number(vLong) };
    case 4:
      return { key, type: 'binary', value: Buffer.from(vBinary).toString('base64') };
    default:
      throw new PayloadError(`tag ${JSON.stringify(key)}: unknown TagType ${vType}`);
  }
}

function readTags(r: ThriftReader, what: string): Tag[] {
  const n = r.list(T_STRUCT, what);
  const tags: Tag[] = new Array(n);
  for (let i = 0; i < n; i++) tags[i] = readTag(r);
  return tags;
}

interface RawSpan {
  traceLow: bigint;
  traceHigh: bigint;
  spanId: bigint;
  parentSpanId: bigint;
  operationName: string;
  references: Array<{ refType: number; traceId: string; spanId: string }>;
  flags: number;
  startTime: bigint;
  duration: bigint;
  tags: Tag[];
  logs: StoredEvent[];
}

function readSpan(r: ThriftReader): RawSpan {
  const s: RawSpan = { traceLow: 0n, traceHigh: 0n, spanId: 0n, parentSpanId: 0n, operationName: '', references: [], flags: 0, startTime: 0n, duration: 0n, tags: [], logs: [] };
  r.struct((id, type) => {
    if (type === T_I64 && id >= 1 && id <= 4) {
      const v = r.i64();
      if (id === 1) s.traceLow = v;
      else if (id === 2) s.traceHigh = v;
      else if (id === 3) s.spanId = v;
      else s.parentSpanId = v;
    } else if (id === 5 && type === T_STRING) s.operationName = r.string();
    else if (id === 6 && type === T_LIST) {
      const n = r.list(T_STRUCT, 'references');
      for (let i = 0; i < n; i++) {
        let refType = 0;
        let low = 0n;
        let high = 0n;
        let spanId = 0n;
        r.struct((fid, ft) => {
          if (fid === 1 && ft === T_I32) refType = r.i32();
          else if (fid === 2 && ft === T_I64) low = r.i64();
          else if (fid === 3 && ft === T_I64) high = r.i64();
          else if (fid === 4 && ft === T_I64) spanId = r.i64();
          else return false;
          return true;
        });
        s.references.push({ refType, traceId: hex64(high) + hex64(low), spanId: hex64(spanId) });
      }
    } else if (id === 7 && type === T_I32) s.flags = r.i32();
    else if (id === 8 && type === T_I64) s.startTime = r.i64();
    else if (id === 9 && type === T_I64) s.duration = r.i64();
    else if (id === 10 && type === T_LIST) s.tags = readTags(r, 'span tags');
    else if (id === 11 && type === T_LIST) {
      const n = r.list(T_STRUCT, 'logs');
      for (let i = 0; i < n; i++) {
        let timestamp = 0n;
        let fields: Tag[] = [];
        r.struct((fid, ft) => {
          if (fid === 1 && ft === T_I64) timestamp = r.i64();
          else if (fid === 2 && ft === T_LIST) fields = readTags(r, 'log fields');
          else return false;
          return true;
        });
        let name = '';
        const attributes: Tag[] = [];
        for (const f of fields) {
          if (f.key === 'event' && f.type === 'string' && name === '') name = String(f.value);
          else attributes.push(f);
        }
        s.logs.push({ timeUs: Number(timestamp), name, attributes });
      }
    } else return false;
    return true;
  });
  return s;
}

const KIND_BY_TAG: Record<string, SpanKindNumber> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

function toStored(raw: RawSpan, service: string, resource: Tag[]): StoredSpan {
  const traceId = hex64(raw.traceHigh) + hex64(raw.traceLow);
  if (/^0+$/.test(traceId)) throw new PayloadError('span with a zero trace id');
  if (raw.spanId === 0n) throw new PayloadError('span with a zero span id');
  let kind: SpanKindNumber = 0;
  let statusCode: StatusCodeNumber = 0;
  let statusMessage = '';
  let scopeName = '';
  let scopeVersion = '';
  let traceState = '';
  const attributes: Tag[] = [];
  for (const t of raw.tags) {
    if (t.key === 'span.kind' && t.type === 'string' && String(t.value) in KIND_BY_TAG) kind = KIND_BY_TAG[String(t.value)];
    else if (t.key === 'otel.status_code' && t.type === 'string') statusCode = t.value === 'ERROR' ? 2 : t.value === 'OK' ? 1 : statusCode;
    else if (t.key === 'error' && t.type === 'bool') statusCode = t.value === true ? 2 : statusCode;
    else if (t.key === 'otel.status_description' && t.type === 'string') statusMessage = String(t.value);
    else if ((t.key === 'otel.scope.name' || t.key === 'otel.library.name') && t.type === 'string') scopeName = String(t.value);
    else if ((t.key === 'otel.scope.version' || t.key === 'otel.library.version') && t.type === 'string') scopeVersion = String(t.value);
    else if (t.key === 'w3c.tracestate' && t.type === 'string') traceState = String(t.value);
    else attributes.push(t);
  }
  let parentSpanId = raw.parentSpanId === 0n ? '' : hex64(raw.parentSpanId);
  const links: StoredLink[] = [];
  for (const ref of raw.references) {
    const refType = ref.refType === 1 ? 'FOLLOWS_FROM' : 'CHILD_OF';
    if (refType === 'CHILD_OF' && ref.traceId === traceId && (parentSpanId === '' || parentSpanId === ref.spanId)) {
      parentSpanId = ref.spanId;
      continue;
    }
    links.push({ traceId: ref.traceId, spanId: ref.spanId, refType, attributes: [] });
  }
  return {
    traceId,
    spanId: hex64(raw.spanId),
    parentSpanId,
    name: raw.operationName,
    kind,
    service,
    startUs: Number(raw.startTime),
    durationUs: raw.duration > 0n ? Number(raw.duration) : 0,
    attributes,
    events: raw.logs,
    links,
    statusCode,
    statusMessage,
    resource,
    scopeName,
    scopeVersion,
    traceState,
    flags: raw.flags & 0xff,
  };
}

/** Decodes one jaeger.thrift Batch (Thrift binary protocol). Throws PayloadError; wrap in safeDecode. */
export function decodeJaegerBatch(buf: Buffer): StoredSpan[] {
  const r = new ThriftReader(buf);
  let service = '';
  let resource: Tag[] = [];
  let raws: RawSpan[] = [];
  let sawProcess = false;
  r.struct((id, type) => {
    if (id === 1 && type === T_STRUCT) {
      sawProcess = true;
      r.struct((pid, pt) => {
        if (pid === 1 && pt === T_STRING) service = r.string();
        else if (pid === 2 && pt === T_LIST) resource = readTags(r, 'process tags');
        else return false;
        return true;
      });
    } else if (id === 2 && type === T_LIST) {
      const n = r.list(T_STRUCT, 'spans');
      raws = new Array(n);
      for (let i = 0; i < n; i++) raws[i] = readSpan(r);
    } else return false;
    return true;
  });
  if (r.pos !== buf.length) throw new PayloadError(`${buf.length - r.pos} bytes after the end of the Batch`);
  if (!sawProcess) throw new PayloadError('Batch without a process');
  const serviceName = service || UNKNOWN_SERVICE;
  return raws.map((raw) => toStored(raw, serviceName, resource));
}
