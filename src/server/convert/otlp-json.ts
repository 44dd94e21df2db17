import { PayloadError, UNKNOWN_SERVICE, type SpanKindNumber, type StatusCodeNumber, type StoredSpan, type Tag } from '../span.js';

/*
 * OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions: ids as hex,
 * enums as integers). Field names are accepted in lowerCamelCase and in the
 * proto's snake_case, as protobuf JSON parsers do.
 */

type Json = Record<string, unknown>;

const MAX_NESTING = 32;

function field(obj: Json, camel: string, snake: string): unknown {
  const v = obj[camel];
  return v !== undefined ? v : obj[snake];
}

function object(v: unknown, what: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new PayloadError(`${what} must be an object`);
  return v as Json;
}

function array(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PayloadError(`${what} must be an array`);
  return v;
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new PayloadError(`${what} must be a string`);
  return v;
}

function int64(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  throw new PayloadError(`${what} must be an integer or a decimal string`);
}

function hexId(v: unknown, bytes: number, what: string, optional: boolean): string {
  const s = str(v, what).toLowerCase();
  if (s === '' && optional) return '';
  if (s.length !== bytes * 2 || !/^[0-9a-f]+$/.test(s)) throw new PayloadError(`${what} must be ${bytes * 2} hex digits`);
  if (/^0+$/.test(s)) {
    if (optional) return '';
    throw new PayloadError(`${what} must not be all zeros`);
  }
  return s;
}

function enumNumber(v: unknown, names: readonly string[], max: number, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v >= 0 && v <= max ? v : 0;
  if (typeof v === 'string') {
    const i = names.indexOf(v);
    if (i >= 0) return i;
  }
  throw new PayloadError(`${what} must be an enum number`);
}

const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

function plainValue(v: unknown, depth: number): unknown {
  if (depth > MAX_NESTING) throw new PayloadError('attribute values nested too deeply');
  const o = object(v, 'AnyValue');
  if ('stringValue' in o || 'string_value' in o) return str(field(o, 'stringValue', 'string_value'), 'stringValue');
  if ('boolValue' in o || 'bool_value' in o) return Boolean(field(o, 'boolValue', 'bool_value'));
  if ('intValue' in o || 'int_value' in o) return Number(int64(field(o, 'intValue', 'int_value'), 'intValue'));
  if ('doubleValue' in o || 'double_value' in o) return Number(field(o, 'doubleValue', 'double_value'));
  if ('bytesValue' in o || 'bytes_value' in o) return str(field(o, 'bytesValue', 'bytes_value'), 'bytesValue');
  if ('arrayValue' in o || 'array_value' in o) return array(object(field(o, 'arrayValue', 'array_value'), 'arrayValue').values, 'arrayValue.values').map((x) => plainValue(x, depth + 1));
  if ('kvlistValue' in o || 'kvlist_value' in o) {
    const entries = array(object(field(o, 'kvlistValue', 'kvlist_value'), 'kvlistValue').values, 'kvlistValue.values');
    return Object.fromEntries(entries.map((kv) => [str(object(kv, 'KeyValue').key, 'key'), plainValue(object(kv, 'KeyValue').value, depth + 1)]));
  }
  return null;
}

function valueTag(key: string, v: unknown): Tag | undefined {
  const o = object(v, 'AnyValue');
  if ('stringValue' in o || 'string_value' in o) return { key, type: 'string', value: str(field(o, 'stringValue', 'string_value'), 'stringValue') };
  if ('boolValue' in o || 'bool_value' in o) {
    const b = field(o, 'boolValue', 'bool_value');
    if (typeof b !== 'boolean') throw new PayloadError('boolValue must be a boolean');
    return { key, type: 'bool', value: b };
  }
  if ('intValue' in o || 'int_value' in o) return { key, type: 'int64', value: Number(int64(field(o, 'intValue', 'int_value'), 'intValue')) };
  if ('doubleValue' in o || 'double_value' in o) {
    const d = field(o, 'doubleValue', 'double_value');
    const n = typeof d === 'string' ? Number(d) : d;
    if (typeof n !== 'number' || Number.isNaN(n)) throw new PayloadError('doubleValue must be a number');
    return { key, type: 'float64', value: n };
  }
  if ('bytesValue' in o || 'bytes_value' in o) return { key, type: 'binary', value: str(field(o, 'bytesValue', 'bytes_value'), 'bytesValue') };
  const p = plainValue(o, 0);
  return p === null ? undefined : { key, type: 'string', value: JSON.stringify(p) };
}

function attributes(list: unknown, what: string): Tag[] {
  const tags: Tag[] = [];
  for (const kv of array(list, what)) {
    const o = object(kv, 'KeyValue');
    const tag = valueTag(str(o.key, 'KeyValue.key'), o.value);
    if (tag) tags.push(tag);
  }
  return tags;
}

const micros = (ns: bigint): number => Number(ns / 1000n);

/** Decodes an OTLP/JSON ExportTraceServiceRequest (already parsed from text). Throws PayloadError; wrap in safeDecode. */
export function decodeOtlpJson(body: unknown): StoredSpan[] {
  const spans: StoredSpan[] = [];
  const request = object(body, 'request');
  for (const rsRaw of array(field(request, 'resourceSpans', 'resource_spans'), 'resourceSpans')) {
    const rs = object(rsRaw, 'ResourceSpans');
    const all = attributes(object(rs.resource, 'resource').attributes, 'resource.attributes');
    let service = UNKNOWN_SERVICE;
    const resource: Tag[] = [];
    for (const t of all) {
      if (t.key === 'service.name' && t.type === 'string') service = String(t.value);
      else resource.push(t);
    }
    for (const ssRaw of array(field(rs, 'scopeSpans', 'scope_spans'), 'scopeSpans')) {
      const ss = object(ssRaw, 'ScopeSpans');
      const scope = object(ss.scope, 'scope');
      const scopeName = str(scope.name, 'scope.name');
      const scopeVersion = str(scope.version, 'scope.version');
      for (const spanRaw of array(ss.spans, 'spans')) {
        const s = object(spanRaw, 'Span');
        const startNs = int64(field(s, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano');
        const endNs = int64(field(s, 'endTimeUnixNano', 'end_time_unix_nano'), 'endTimeUnixNano');
        const status = object(s.status, 'status');
        spans.push({
          traceId: hexId(field(s, 'traceId', 'trace_id'), 16, 'traceId', false),
          spanId: hexId(field(s, 'spanId', 'span_id'), 8, 'spanId', false),
          parentSpanId: hexId(field(s, 'parentSpanId', 'parent_span_id'), 8, 'parentSpanId', true),
          name: str(s.name, 'name'),
          kind: enumNumber(s.kind, KIND_NAMES, 5, 'kind') as SpanKindNumber,
          service,
          startUs: micros(startNs),
          durationUs: endNs > startNs ? micros(endNs - startNs) : 0,
          attributes: attributes(s.attributes, 'attributes'),
          events: array(s.events, 'events').map((eRaw) => {
            const e = object(eRaw, 'Event');
            return { timeUs: micros(int64(field(e, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano')), name: str(e.name, 'event.name'), attributes: attributes(e.attributes, 'event.attributes') };
          }),
          links: array(s.links, 'links').map((lRaw) => {
            const l = object(lRaw, 'Link');
            return {
              traceId: hexId(field(l, 'traceId', 'trace_id'), 16, 'link.traceId', false),
              spanId: hexId(field(l, 'spanId', 'span_id'), 8, 'link.spanId', false),
              refType: 'FOLLOWS_FROM' as const,
              attributes: attributes(l.attributes, 'link.attributes'),
            };
          }),
          statusCode: enumNumber(status.code, STATUS_NAMES, 2, 'status.code') as StatusCodeNumber,
          statusMessage: str(status.message, 'status.message'),
          resource,
          scopeName,
          scopeVersion,
          traceState: str(field(s, 'traceState', 'trace_state'), 'traceState'),
          flags: Number(s.flags ?? 0) & 0xff,
        });
      }
    }
  }
  return spans;
}
