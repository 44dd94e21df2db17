import type { SettingInfo } from './settings.js';

/**
 * Settings given as text (environment variables, flags) turned into the
 * values the schema validates. Only the shape is checked here (is it a
 * number, a list of name=value pairs); ranges and enums are the schema's.
 */

export type TextResult = { ok: true; value: unknown } | { ok: false; expected: string };

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function fail(expected: string): TextResult {
  return { ok: false, expected };
}

export function parseNumberText(raw: string): number | undefined {
  const t = raw.trim();
  const n = Number(t);
  return t === '' || !Number.isFinite(n) ? undefined : n;
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** "match=name" → { match, name }; IPv6 forms keep their colons ("[::1]:80=api"). */
export function parseMappingText(item: string): { match: string; name: string } | undefined {
  const eq = item.lastIndexOf('=');
  if (eq <= 0 || eq === item.length - 1) return undefined;
  return { match: item.slice(0, eq).trim(), name: item.slice(eq + 1).trim() };
}

/**
 * "k1=v1,k2=v2" with percent-encoded keys and values, as the W3C Baggage
 * format OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS use
 * (";"-metadata is not supported there, so it is refused).
 */
export function parsePairsText(raw: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const item of raw.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return undefined;
    try {
      const key = decodeURIComponent(item.slice(0, eq).trim());
      const value = decodeURIComponent(item.slice(eq + 1).trim());
      if (key === '' || key.includes(';') || value.includes(';')) return undefined;
      out[key] = value;
    } catch {
      return undefined;
    }
  }
  return out;
}

const EXPORTER_TYPES = ['otlp-grpc', 'otlp-http', 'jaeger', 'zipkin', 'splunk', 'console', 'file'];
export const EXPORTER_SPEC_HELP = `JSON, or ${EXPORTER_TYPES.join('|')}[=endpoint] (file=path, console=stdout|stderr)`;

/** One exporter from "type", "type=endpoint", "file=path", "console=stderr" or a JSON object. */
export function parseExporterText(raw: string): Record<string, unknown> | undefined {
  const t = raw.trim();
  if (t.startsWith('{')) {
    try {
      const v: unknown = JSON.parse(t);
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  const eq = t.indexOf('=');
  const type = eq < 0 ? t : t.slice(0, eq);
  const target = eq < 0 ? undefined : t.slice(eq + 1).trim();
  if (!EXPORTER_TYPES.includes(type) || target === '') return undefined;
  if (target === undefined) return { type };
  if (type === 'file') return { type, path: target };
  if (type === 'console') return { type, stream: target };
  return { type, endpoint: target };
}

/** Exporters from a JSON array or comma-separated specs. */
export function parseExportersText(raw: string): unknown[] | undefined {
  const t = raw.trim();
  if (t.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(t);
      return Array.isArray(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }
  if (t.startsWith('{')) {
    const one = parseExporterText(t);
    return one ? [one] : undefined;
  }
  const out: unknown[] = [];
  for (const item of splitList(t)) {
    const e = parseExporterText(item);
    if (!e) return undefined;
    out.push(e);
  }
  return out;
}

export function parseBooleanText(raw: string): boolean | undefined {
  const t = raw.trim().toLowerCase();
  return TRUE.has(t) ? true : FALSE.has(t) ? false : undefined;
}

/** A whole setting from one text (an environment variable): lists are comma-separated. */
export function parseSettingText(info: SettingInfo, raw: string): TextResult {
  switch (info.kind) {
    case 'number':
    case 'integer': {
      const n = parseNumberText(raw);
      return n === undefined ? fail(info.allowed) : { ok: true, value: n };
    }
    case 'boolean': {
      const b = parseBooleanText(raw);
      return b === undefined ? fail('true or false (also 1/0, yes/no, on/off)') : { ok: true, value: b };
    }
    case 'string':
    case 'enum':
      return { ok: true, value: raw };
    case 'string-list':
      return { ok: true, value: splitList(raw) };
    case 'number-list': {
      const items = splitList(raw).map(parseNumberText);
      return items.some((n) => n === undefined) ? fail(`a comma-separated list of ${info.allowed.replace(/^a list of /, '')}`) : { ok: true, value: items };
    }
    case 'mapping-list': {
      const items = splitList(raw).map(parseMappingText);
      return items.some((m) => m === undefined) ? fail('a comma-separated list of match=name pairs (match: address, address:port or CIDR)') : { ok: true, value: items };
    }
    case 'record': {
      const pairs = parsePairsText(raw);
      return pairs === undefined ? fail('a comma-separated list of name=value pairs (percent-encoded)') : { ok: true, value: pairs };
    }
    case 'exporters': {
      const list = parseExportersText(raw);
      return list === undefined ? fail(`a list of exporters: ${EXPORTER_SPEC_HELP}, comma-separated, or a JSON array`) : { ok: true, value: list };
    }
  }
}
