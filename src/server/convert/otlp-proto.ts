import { PayloadError, UNKNOWN_SERVICE, type SpanKindNumber, type StatusCodeNumber, type StoredEvent, type StoredLink, type StoredSpan, type Tag } from '../span.js';

/*
 * ExportTraceServiceRequest (opentelemetry-proto, collector/trace/v1) in the
 * protobuf wire format, decoded by hand straight into StoredSpans: the
 * messages are few and flat, and a generated runtime would build an object
 * tree per span only to be walked once. Tests decode the same bytes with the
 * official generated definitions and compare.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const MAX_NESTING = 32;

class ProtoReader {
  pos: number;
  end: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    end: number,
  ) {
    this.pos = start;
    this.end = end;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    while (true) {
      if (this.pos >= this.end) throw new PayloadError('truncated varint');
      const b = this.buf[this.pos++];
      if (shift < 28) result |= (b & 0x7f) << shift;
      else result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new PayloadError('varint longer than 10 bytes');
    }
  }

  /** A varint as a signed 64-bit integer. */
  int64(): bigint {
    let result = 0n;
    let shift = 0n;
    while (true) {
      if (this.pos >= this.end) throw new PayloadError('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asIntN(64, result);
      shift += 7n;
      if (shift > 63n) throw new PayloadError('varint longer than 10 bytes');
    }
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw new PayloadError('truncated fixed64');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new PayloadError('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw new PayloadError('truncated fixed32');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads a length prefix; returns the end offset of the delimited bytes. */
  delimited(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw new PayloadError(`length ${len} runs past the end of its message`);
    return end;
  }

  string(): string {
    const end = this.delimited();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  hex(): string {
    const end = this.delimited();
    const s = this.buf.toString('hex', this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) throw new PayloadError('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.delimited();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) throw new PayloadError('truncated fixed32');
        this.pos += 4;
        return;
      default:
        throw new PayloadError(`unsupported wire type ${wireType}`);
    }
  }
}

type AnyValue = { kind: 'string'; v: string } | { kind: 'bool'; v: boolean } | { kind: 'int'; v: bigint } | { kind: 'double'; v: number } | { kind: 'bytes'; v: Buffer } | { kind: 'array'; v: AnyValue[] } | { kind: 'kvlist'; v: Array<[string, AnyValue]> } | { kind: 'empty' };

function readAnyValue(r: ProtoReader, end: number, depth: number): AnyValue {
  if (depth > MAX_NESTING) throw new PayloadError('attribute values nested too deeply');
  let value: AnyValue = { kind: 'empty' };
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1 && wt === WIRE_LEN) value = { kind: 'string', v: r.string() };
    else if (field === 2 && wt === WIRE_VARINT) value = { kind: 'bool', v: r.varint() !== 0 };
    else if (field === 3 && wt === WIRE_VARINT) value = { kind: 'int', v: r.int64() };
    else if (field === 4 && wt === WIRE_FIXED64) value = { kind: 'double', v: r.double() };
    else if (field === 5 && wt === WIRE_LEN) {
      const e = r.delimited();
      const values: AnyValue[] = [];
      while (r.pos < e) {
        const t = r.varint();
        if (t === ((1 << 3) | WIRE_LEN)) {
          const ve = r.delimited();
          values.push(readAnyValue(r, ve, depth + 1));
          r.pos = ve;
        } else r.skip(t & 7);
      }
      value = { kind: 'array', v: values };
    } else if (field === 6 && wt === WIRE_LEN) {
      const e = r.delimited();
      const entries: Array<[string, AnyValue]> = [];
      while (r.pos < e) {
        const t = r.varint();
        if (t === ((1 << 3) | WIRE_LEN)) {
          const ke = r.delimited();
          const [key, v] = readKeyValue(r, ke, depth + 1);
          entries.push([key, v]);
          r.pos = ke;
        } else r.skip(t & 7);
      }
      value = { kind: 'kvlist', v: entries };
    } else if (field === 7 && wt === WIRE_LEN) {
      const e = r.delimited();
      value = { kind: 'bytes', v: r.buf.subarray(r.pos, e) };
      r.pos = e;
    } else r.skip(wt);
  }
  if (r.pos !== end) throw new PayloadError('AnyValue overruns its length');
  return value;
}

function readKeyValue(r: ProtoReader, end: number, depth: number): [string, AnyValue] {
  let key = '';
  let value: AnyValue = { kind: 'empty' };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((1 << 3) | WIRE_LEN)) key = r.string();
    else if (tag === ((2 << 3) | WIRE_LEN)) {
      const e = r.delimited();
      value = readAnyValue(r, e, depth);
      r.pos = e;
    } else r.skip(tag & 7);
  }
  if (r.pos !== end) throw new PayloadError('KeyValue overruns its length');
  return [key, value];
}

function plain(v: AnyValue): unknown {
  switch (v.kind) {
    case 'int':
      return Number(v.v);
    case 'bytes':
      return v.v.toString('base64');
    case 'array':
      return v.v.map(plain);
    case 'kvlist':
      return Object.fromEntries(v.v.map(([k, x]) => [k, plain(x)]));
    case 'empty':
      return null;
    default:
      return v.v;
  }
}

/** An OTLP AnyValue as a Jaeger-typed tag, the mapping OpenTelemetry's Jaeger translator uses. */
export function anyValueTag(key: string, v: AnyValue): Tag | undefined {
  switch (v.kind) {
    case 'string':
      return { key, type: 'string', value: v.v };
    case 'bool':
      return { key, type: 'bool', value: v.v };
    case 'int':
      return { key, type: 'int64', value: Number(v.v) };
    case 'double':
      return { key, type: 'float64', value: v.v };
    case 'bytes':
      return { key, type: 'binary', value: v.v.toString('base64') };
    case 'array':
    case 'kvlist':
      return { key, type: 'string', value: JSON.stringify(plain(v)) };
    default:
      return undefined;
  }
}

function readAttributeInto(r: ProtoReader, tags: Tag[]): void {
  const e = r.delimited();
  const [key, value] = readKeyValue(r, e, 0);
  r.pos = e;
  const tag = anyValueTag(key, value);
  if (tag) tags.push(tag);
}

function nanosToMicros(ns: bigint): number {
  return Number(ns / 1000n);
}

interface Scope {
  name: string;
  version: string;
}

interface ResourceInfo {
  service: string;
  tags: Tag[];
}

function readResource(r: ProtoReader, end: number): ResourceInfo {
  const tags: Tag[] = [];
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((1 << 3) | WIRE_LEN)) readAttributeInto(r, tags);
    else r.skip(tag & 7);
  }
  let service = UNKNOWN_SERVICE;
  const rest: Tag[] = [];
  for (const t of tags) {
    if (t.key === 'service.name' && t.type === 'string') service = String(t.value);
    else rest.push(t);
  }
  return { service, tags: rest };
}

function readScope(r: ProtoReader, end: number): Scope {
  const scope = { name: '', version: '' };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((1 << 3) | WIRE_LEN)) scope.name = r.string();
    else if (tag === ((2 << 3) | WIRE_LEN)) scope.version = r.string();
    else r.skip(tag & 7);
  }
  return scope;
}

function readEvent(r: ProtoReader, end: number): StoredEvent {
  const event: StoredEvent = { timeUs: 0, name: '', attributes: [] };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((1 << 3) | WIRE_FIXED64)) event.timeUs = nanosToMicros(r.fixed64());
    else if (tag === ((2 << 3) | WIRE_LEN)) event.name = r.string();
    else if (tag === ((3 << 3) | WIRE_LEN)) readAttributeInto(r, event.attributes);
    else r.skip(tag & 7);
  }
  return event;
}

function readLink(r: ProtoReader, end: number): StoredLink {
  const link: StoredLink = { traceId: '', spanId: '', refType: 'FOLLOWS_FROM', attributes: [] };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((1 << 3) | WIRE_LEN)) link.traceId = r.hex();
    else if (tag === ((2 << 3) | WIRE_LEN)) link.spanId = r.hex();
    else if (tag === ((4 << 3) | WIRE_LEN)) readAttributeInto(r, link.attributes);
    else r.skip(tag & 7);
  }
  if (link.traceId.length !== 32 || link.spanId.length !== 16) throw new PayloadError('link with an invalid trace or span id');
  return link;
}

function readSpan(r: ProtoReader, end: number, resource: ResourceInfo, scope: Scope): StoredSpan {
  let startNs = 0n;
  let endNs = 0n;
  const span: StoredSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    service: resource.service,
    startUs: 0,
    durationUs: 0,
    attributes: [],
    events: [],
    links: [],
    statusCode: 0,
    statusMessage: '',
    resource: resource.tags,
    scopeName: scope.name,
    scopeVersion: scope.version,
    traceState: '',
    flags: 0,
  };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag) {
      case (1 << 3) | WIRE_LEN:
        span.traceId = r.hex();
        break;
      case (2 << 3) | WIRE_LEN:
        span.spanId = r.hex();
        break;
      case (3 << 3) | WIRE_LEN:
        span.traceState = r.string();
        break;
      case (4 << 3) | WIRE_LEN:
        span.parentSpanId = r.hex();
        break;
      case (5 << 3) | WIRE_LEN:
        span.name = r.string();
        break;
      case (6 << 3) | WIRE_VARINT: {
        const kind = r.varint();
        span.kind = (kind >= 0 && kind <= 5 ? kind : 0) as SpanKindNumber;
        break;
      }
      case (7 << 3) | WIRE_FIXED64:
        startNs = r.fixed64();
        break;
      case (8 << 3) | WIRE_FIXED64:
        endNs = r.fixed64();
        break;
      case (9 << 3) | WIRE_LEN:
        readAttributeInto(r, span.attributes);
        break;
      case (11 << 3) | WIRE_LEN: {
        const e = r.delimited();
        span.events.push(readEvent(r, e));
        r.pos = e;
        break;
      }
      case (13 << 3) | WIRE_LEN: {
        const e = r.delimited();
        span.links.push(readLink(r, e));
        r.pos = e;
        break;
      }
      case (15 << 3) | WIRE_LEN: {
        const e = r.delimited();
        while (r.pos < e) {
          const t = r.varint();
          if (t === ((2 << 3) | WIRE_LEN)) span.statusMessage = r.string();
          else if (t === ((3 << 3) | WIRE_VARINT)) {
            const code = r.varint();
            span.statusCode = (code <= 2 ? code : 0) as StatusCodeNumber;
          } else r.skip(t & 7);
        }
        r.pos = e;
        break;
      }
      case (16 << 3) | WIRE_FIXED32:
        span.flags = r.fixed32() & 0xff;
        break;
      default:
        r.skip(tag & 7);
    }
  }
  if (span.traceId.length !== 32 || /^0+$/.test(span.traceId)) throw new PayloadError('span with an invalid trace id (16 non-zero bytes required)');
  if (span.spanId.length !== 16 || /^0+$/.test(span.spanId)) throw new PayloadError('span with an invalid span id (8 non-zero bytes required)');
  if (span.parentSpanId !== '' && span.parentSpanId.length !== 16) throw new PayloadError('span with an invalid parent span id');
  if (/^0+$/.test(span.parentSpanId)) span.parentSpanId = '';
  span.startUs = nanosToMicros(startNs);
  span.durationUs = endNs > startNs ? nanosToMicros(endNs - startNs) : 0;
  return span;
}

/** Decodes an ExportTraceServiceRequest. Throws PayloadError (or RangeError) on malformed input; wrap in safeDecode. */
export function decodeOtlpProtobuf(buf: Buffer): StoredSpan[] {
  const spans: StoredSpan[] = [];
  const r = new ProtoReader(buf, 0, buf.length);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag !== ((1 << 3) | WIRE_LEN)) {
      r.skip(tag & 7);
      continue;
    }
    const rsEnd = r.delimited();
    let resource: ResourceInfo = { service: UNKNOWN_SERVICE, tags: [] };
    // The resource may follow the scope spans on the wire; spans are converted once it is known.
    const scopeRanges: Array<[number, number]> = [];
    while (r.pos < rsEnd) {
      const t = r.varint();
      if (t === ((1 << 3) | WIRE_LEN)) {
        const e = r.delimited();
        resource = readResource(r, e);
        r.pos = e;
      } else if (t === ((2 << 3) | WIRE_LEN)) {
        const e = r.delimited();
        scopeRanges.push([r.pos, e]);
        r.pos = e;
      } else r.skip(t & 7);
    }
    for (const [start, end] of scopeRanges) {
      const sr = new ProtoReader(buf, start, end);
      let scope: Scope = { name: '', version: '' };
      const spanRanges: Array<[number, number]> = [];
      while (sr.pos < end) {
        const t = sr.varint();
        if (t === ((1 << 3) | WIRE_LEN)) {
          const e = sr.delimited();
          scope = readScope(sr, e);
          sr.pos = e;
        } else if (t === ((2 << 3) | WIRE_LEN)) {
          const e = sr.delimited();
          spanRanges.push([sr.pos, e]);
          sr.pos = e;
        } else sr.skip(t & 7);
      }
      for (const [s, e] of spanRanges) {
        const spanReader = new ProtoReader(buf, s, e);
        spans.push(readSpan(spanReader, e, resource, scope));
      }
    }
  }
  return spans;
}

/** An ExportTraceServiceResponse: empty on full success, partial_success with the count rejected otherwise. */
export function encodeExportResponse(rejectedSpans = 0, errorMessage = ''): Buffer {
  if (rejectedSpans === 0 && errorMessage === '') return Buffer.alloc(0);
  const inner: number[] = [];
  if (rejectedSpans > 0) {
    inner.push(0x08);
    let v = rejectedSpans;
    while (v > 0x7f) {
      inner.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    inner.push(v);
  }
  const msg = Buffer.from(errorMessage, 'utf8');
  const innerBuf = Buffer.concat([Buffer.from(inner), msg.length ? Buffer.concat([Buffer.from([0x12]), varintBytes(msg.length), msg]) : Buffer.alloc(0)]);
  return Buffer.concat([Buffer.from([0x0a]), varintBytes(innerBuf.length), innerBuf]);
}

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
