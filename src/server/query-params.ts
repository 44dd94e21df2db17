import type { TraceQuery } from './store/memory.js';

/*
 * The query parameters of Jaeger's HTTP API (jaeger cmd/query query_parser):
 * start/end in epoch microseconds, lookback and min/maxDuration as Go
 * durations, tags as a JSON object or repeated key:value pairs, limit.
 */

export class QueryParamError extends Error {}

const GO_UNITS: Record<string, number> = { ns: 1e-3, us: 1, µs: 1, μs: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };

/** A Go time.Duration string ('1.5s', '100ms', '1h30m', '500us') in microseconds. Days ('2d') are accepted for lookback. */
export function parseGoDurationMicros(text: string, allowDays = false): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  let sign = 1;
  let body = s;
  if (body.startsWith('-') || body.startsWith('+')) {
    sign = body[0] === '-' ? -1 : 1;
    body = body.slice(1);
  }
  if (body === '') throw new QueryParamError(`invalid duration "${text}"`);
  re.lastIndex = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) throw new QueryParamError(`invalid duration "${text}"`);
    const unit = m[2];
    if (unit === 'd' && !allowDays) throw new QueryParamError(`invalid duration "${text}" (units: ns, us, ms, s, m, h)`);
    total += Number(m[1]) * (unit === 'd' ? 86_400e6 : GO_UNITS[unit]);
    pos = re.lastIndex;
  }
  return sign * total;
}

function intParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) throw new QueryParamError(`unable to parse param '${name}': "${raw}" is not an integer`);
  return Number(raw);
}

/** Tags as Jaeger reads them: `tags={"k":"v"}` (JSON) and/or repeated `tag=k:v`. */
export function parseTags(params: URLSearchParams): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of params.getAll('tags')) {
    if (raw === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      throw new QueryParamError(`malformed 'tags' parameter: ${raw} is not a JSON object`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new QueryParamError(`malformed 'tags' parameter: ${raw} is not a JSON object`);
    for (const [k, v] of Object.entries(obj)) out.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  for (const raw of params.getAll('tag')) {
    const colon = raw.indexOf(':');
    if (colon <= 0) throw new QueryParamError(`malformed 'tag' parameter, expected key:value: ${raw}`);
    out.push([raw.slice(0, colon), raw.slice(colon + 1)]);
  }
  return out;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 1500;

/** /api/traces parameters as a store query. `nowUs` anchors a missing end and the lookback. */
export function parseTraceQuery(params: URLSearchParams, nowUs: number): TraceQuery {
  const service = params.get('service') || undefined;
  const operation = params.get('operation') || undefined;
  let end = intParam(params, 'end');
  let start = intParam(params, 'start');
  const lookback = params.get('lookback');
  if (end === undefined) end = nowUs;
  if (start === undefined && lookback && lookback !== 'custom') start = end - parseGoDurationMicros(lookback, true);
  const minDuration = params.get('minDuration');
  const maxDuration = params.get('maxDuration');
  const durationMinUs = minDuration ? parseGoDurationMicros(minDuration) : undefined;
  const durationMaxUs = maxDuration ? parseGoDurationMicros(maxDuration) : undefined;
  if (durationMinUs !== undefined && durationMaxUs !== undefined && durationMaxUs < durationMinUs) {
    throw new QueryParamError('maxDuration must not be less than minDuration');
  }
  const limitRaw = intParam(params, 'limit');
  const limit = limitRaw === undefined || limitRaw <= 0 ? DEFAULT_LIMIT : Math.min(limitRaw, MAX_LIMIT);
  const tags = parseTags(params);
  return {
    service,
    operation,
    spanKind: params.get('spanKind') || undefined,
    tags: tags.length ? tags : undefined,
    startMinUs: start,
    startMaxUs: end,
    durationMinUs,
    durationMaxUs,
    limit,
  };
}
