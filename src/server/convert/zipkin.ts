import { PayloadError, UNKNOWN_SERVICE, normaliseTraceId, type SpanKindNumber, type StatusCodeNumber, type StoredSpan, type Tag } from '../span.js';

/*
 * Zipkin v2 JSON (zipkin-api's zipkin2-api.yaml, ListOfSpans) into stored
 * spans, the way OpenTelemetry's Zipkin receiver maps it: the local
 * endpoint's serviceName is the service, the OpenTelemetry status tags
 * become the status, the remote endpoint becomes peer attributes.
 */

type Json = Record<string, unknown>;

const KINDS: Record<string, SpanKindNumber> = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };
const HEX = /^[0-9a-fA-F]+$/;

function hex(v: unknown, lengths: number[], what: string, optional: boolean): string {
  if ((v === undefined || v === null || v === '') && optional) return '';
  if (typeof v !== 'string' || !HEX.test(v) || !lengths.includes(v.length)) throw new PayloadError(`${what} must be ${lengths.join(' or ')} hex digits`);
  return v.toLowerCase();
}

function micros(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new PayloadError(`${what} must be a non-negative number of microseconds`);
  // Senders compute µs from nanoseconds and may leave a fraction; rounding keeps the value they meant.
  return Math.round(v);
}

function endpoint(v: unknown, what: string): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new PayloadError(`${what} must be an object`);
  return v as Json;
}

function optionalString(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new PayloadError(`${what} must be a string`);
  return v;
}

function decodeSpan(raw: unknown, index: number): StoredSpan {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PayloadError(`span ${index} must be an object`);
  const s = raw as Json;
  const traceId = normaliseTraceId(hex(s.traceId, [16, 32], `span ${index}: traceId`, false));
  const spanId = hex(s.id, [16], `span ${index}: id`, false);
  const parentSpanId = hex(s.parentId, [16], `span ${index}: parentId`, true);
  const local = endpoint(s.localEndpoint, `span ${index}: localEndpoint`);
  const remote = endpoint(s.remoteEndpoint, `span ${index}: remoteEndpoint`);
  const kindName = optionalString(s.kind, `span ${index}: kind`);
  if (kindName !== '' && !(kindName in KINDS)) throw new PayloadError(`span ${index}: kind must be one of CLIENT, SERVER, PRODUCER, CONSUMER`);
  let statusCode: StatusCodeNumber = 0;
  let statusMessage = '';
  let scopeName = '';
  let scopeVersion = '';
  const attributes: Tag[] = [];
  if (s.tags !== undefined && s.tags !== null) {
    if (typeof s.tags !== 'object' || Array.isArray(s.tags)) throw new PayloadError(`span ${index}: tags must be an object of strings`);
    for (const [key, value] of Object.entries(s.tags as Json)) {
      if (typeof value !== 'string') throw new PayloadError(`span ${index}: tag ${JSON.stringify(key)} must be a string`);
      if (key === 'otel.status_code') statusCode = value === 'ERROR' ? 2 : value === 'OK' ? 1 : statusCode;
      else if (key === 'error') {
        statusCode = 2;
        statusMessage = value;
      } else if (key === 'otel.status_description') statusMessage = value;
      else if (key === 'otel.scope.name' || key === 'otel.library.name') scopeName = value;
      else if (key === 'otel.scope.version' || key === 'otel.library.version') scopeVersion = value;
      else attributes.push({ key, type: 'string', value });
    }
  }
  if (remote) {
    const peerService = optionalString(remote.serviceName, `span ${index}: remoteEndpoint.serviceName`);
    if (peerService) attributes.push({ key: 'peer.service', type: 'string', value: peerService });
    const address = optionalString(remote.ipv6, 'remoteEndpoint.ipv6') || optionalString(remote.ipv4, 'remoteEndpoint.ipv4');
    if (address) attributes.push({ key: 'network.peer.address', type: 'string', value: address });
    if (typeof remote.port === 'number' && Number.isInteger(remote.port) && remote.port > 0) attributes.push({ key: 'network.peer.port', type: 'int64', value: remote.port });
  }
  const annotations = s.annotations ?? [];
  if (!Array.isArray(annotations)) throw new PayloadError(`span ${index}: annotations must be an array`);
  return {
    traceId,
    spanId,
    parentSpanId: /^0+$/.test(parentSpanId) ? '' : parentSpanId,
    name: optionalString(s.name, `span ${index}: name`),
    kind: kindName ? KINDS[kindName] : 0,
    service: (local && optionalString(local.serviceName, `span ${index}: localEndpoint.serviceName`)) || UNKNOWN_SERVICE,
    startUs: micros(s.timestamp, `span ${index}: timestamp`),
    durationUs: micros(s.duration, `span ${index}: duration`),
    attributes,
    events: annotations.map((a: unknown, i: number) => {
      if (typeof a !== 'object' || a === null) throw new PayloadError(`span ${index}: annotation ${i} must be an object`);
      const ann = a as Json;
      return { timeUs: micros(ann.timestamp, `span ${index}: annotation ${i} timestamp`), name: optionalString(ann.value, `span ${index}: annotation ${i} value`), attributes: [] };
    }),
    links: [],
    statusCode,
    statusMessage,
    resource: [],
    scopeName,
    scopeVersion,
    traceState: '',
    // A span that reached a collector was sampled; Zipkin v2 has no other flag to carry.
    flags: 1,
  };
}

/** Decodes a Zipkin v2 JSON list of spans (already parsed). Throws PayloadError; wrap in safeDecode. */
export function decodeZipkinJson(body: unknown): StoredSpan[] {
  if (!Array.isArray(body)) throw new PayloadError('a Zipkin v2 payload is a JSON array of spans');
  return body.map(decodeSpan);
}
