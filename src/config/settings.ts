import type { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * The settings of the schema, found by walking it, so that every field
 * anyone adds to `schema.ts` gets an environment variable, a flag, a line in
 * `wiretrace config` and an "allowed" text in errors without a second list
 * to keep in step.
 */

type AnySchema = z.ZodType;

interface ZodDef {
  type: string;
  innerType?: AnySchema;
  defaultValue?: unknown;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  options?: AnySchema[];
  entries?: Record<string, string>;
  values?: unknown[];
  checks?: Array<{ _zod: { def: CheckDef } }>;
  format?: string;
  in?: AnySchema;
}

interface CheckDef {
  check: string;
  value?: number;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  format?: string;
  prefix?: string;
}

export function defOf(schema: AnySchema): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

/** Strips default/prefault/optional wrappers, remembering the default. */
export function unwrap(schema: AnySchema): { schema: AnySchema; defaultValue?: unknown; optional: boolean } {
  let cur = schema;
  let defaultValue: unknown;
  let optional = false;
  for (;;) {
    const def = defOf(cur);
    if (def.type === 'default' || def.type === 'prefault') {
      if (def.type === 'default' && defaultValue === undefined) defaultValue = typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
      cur = def.innerType as AnySchema;
    } else if (def.type === 'optional' || def.type === 'nullable') {
      optional = true;
      cur = def.innerType as AnySchema;
    } else if (def.type === 'pipe') {
      cur = def.in as AnySchema;
    } else {
      return { schema: cur, defaultValue, optional };
    }
  }
}

export type SettingKind = 'number' | 'integer' | 'string' | 'boolean' | 'enum' | 'string-list' | 'number-list' | 'mapping-list' | 'record' | 'exporters';

export interface SettingInfo {
  /** Dotted path in the configuration, e.g. "spans.timeoutSeconds". */
  path: string;
  kind: SettingKind;
  /** What a valid value is, in words: "a number greater than 0", "one of a, b". */
  allowed: string;
  defaultValue: unknown;
  enumValues?: string[];
  schema: AnySchema;
}

function numberBounds(schema: AnySchema): { lo?: { v: number; inc: boolean }; hi?: { v: number; inc: boolean }; int: boolean } {
  const out: { lo?: { v: number; inc: boolean }; hi?: { v: number; inc: boolean }; int: boolean } = { int: false };
  for (const c of defOf(schema).checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'number_format' && (d.format === 'safeint' || d.format === 'int32' || d.format === 'uint32')) out.int = true;
    else if (d.check === 'greater_than' && d.value !== undefined) out.lo = { v: d.value, inc: Boolean(d.inclusive) };
    else if (d.check === 'less_than' && d.value !== undefined) out.hi = { v: d.value, inc: Boolean(d.inclusive) };
  }
  return out;
}

function describeNumber(schema: AnySchema): string {
  const { lo, hi, int } = numberBounds(schema);
  const noun = int ? 'an integer' : 'a number';
  if (lo && hi && lo.inc && hi.inc) return `${noun} from ${lo.v} to ${hi.v}`;
  const parts: string[] = [];
  if (lo) parts.push(lo.inc ? `at least ${lo.v}` : `greater than ${lo.v}`);
  if (hi) parts.push(hi.inc ? `at most ${hi.v}` : `less than ${hi.v}`);
  return parts.length ? `${noun} ${parts.join(' and ')}` : noun;
}

function describeString(schema: AnySchema): string {
  const def = defOf(schema);
  if (def.format === 'url') return 'a URL such as http://host:port/path';
  const parts: string[] = [];
  for (const c of def.checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'min_length' && d.minimum !== undefined) parts.push(d.minimum === 1 ? 'non-empty' : `at least ${d.minimum} characters`);
    else if (d.check === 'string_format' && d.format === 'starts_with') parts.push(`starting with "${d.prefix}"`);
  }
  if (parts.length === 0) return 'a string';
  if (parts[0] === 'non-empty') return `a non-empty string${parts.length > 1 ? ' ' + parts.slice(1).join(' ') : ''}`;
  return `a string ${parts.join(' and ')}`;
}

/** What a schema accepts, in words, for error messages and `wiretrace config --settings`. */
export function describeAllowed(schemaIn: AnySchema): string {
  const { schema } = unwrap(schemaIn);
  const def = defOf(schema);
  switch (def.type) {
    case 'number':
      return describeNumber(schema);
    case 'string':
      return describeString(schema);
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${Object.values(def.entries ?? {}).join(', ')}`;
    case 'literal':
      return `exactly ${(def.values ?? []).map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'array':
      return `a list of ${plural(describeAllowed(def.element as AnySchema))}`;
    case 'record':
      return `a mapping of names to ${plural(describeAllowed(def.valueType as AnySchema))}`;
    case 'object':
      return `a mapping with keys ${Object.keys(def.shape ?? {}).join(', ')}`;
    case 'union':
      return `one of: ${(def.options ?? []).map((o) => describeAllowed(o)).join('; ')}`;
    default:
      return def.type;
  }
}

function plural(text: string): string {
  return text.replace(/^an? (\w+)/, (_, noun: string) => (noun.endsWith('s') ? noun : noun + 's')).replace(/^(integers?|numbers?|strings?) (from|at|greater|less)/, '$1 $2');
}

function kindOf(schema: AnySchema, path: string): SettingKind {
  const def = defOf(schema);
  switch (def.type) {
    case 'number':
      return numberBounds(schema).int ? 'integer' : 'number';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return 'enum';
    case 'record':
      return 'record';
    case 'array': {
      const element = defOf(unwrap(def.element as AnySchema).schema);
      if (element.type === 'number') return 'number-list';
      if (element.type === 'object') return 'mapping-list';
      if (element.type === 'union') return 'exporters';
      return 'string-list';
    }
    case 'string':
      return 'string';
    default:
      throw new Error(`config schema: no setting kind for ${path} (${def.type})`);
  }
}

function walk(schema: AnySchema, prefix: string, out: SettingInfo[]): void {
  const { schema: inner, defaultValue } = unwrap(schema);
  const def = defOf(inner);
  if (def.type === 'object' && def.shape) {
    for (const [key, child] of Object.entries(def.shape)) walk(child, prefix ? `${prefix}.${key}` : key, out);
    return;
  }
  const kind = kindOf(inner, prefix);
  const info: SettingInfo = { path: prefix, kind, allowed: describeAllowed(inner), defaultValue, schema: inner };
  if (kind === 'enum') info.enumValues = Object.values(def.entries ?? {});
  else if (kind === 'exporters') info.allowed = 'a list of exporters: JSON, or type[=endpoint] entries such as otlp-http=http://collector:4318/v1/traces';
  else if (kind === 'mapping-list') info.allowed = 'a list of match=name pairs (match: address, address:port or CIDR)';
  else if (kind === 'record') info.allowed = 'a list of name=value pairs';
  out.push(info);
}

/** Every setting of the schema, in schema order. */
export const SETTINGS: readonly SettingInfo[] = (() => {
  const out: SettingInfo[] = [];
  walk(configSchema, '', out);
  return out;
})();

export function settingAt(path: string): SettingInfo | undefined {
  return SETTINGS.find((s) => s.path === path);
}

/** The setting that holds a path: "exporters.0.endpoint" → exporters, "services.mappings.2.name" → services.mappings. */
export function settingHolding(path: string): SettingInfo | undefined {
  let best: SettingInfo | undefined;
  for (const s of SETTINGS) {
    if ((path === s.path || path.startsWith(s.path + '.')) && (!best || s.path.length > best.path.length)) best = s;
  }
  return best;
}

/**
 * The schema for any path inside the configuration, array indices and
 * exporter types included (the exporter's own `type` picks its schema).
 */
export function schemaAt(path: readonly PropertyKey[], input: unknown): AnySchema | undefined {
  let schema: AnySchema = configSchema;
  let value: unknown = input;
  for (const part of path) {
    let def = defOf(unwrap(schema).schema);
    if (def.type === 'union') {
      const type = isRecord(value) ? value.type : undefined;
      const option = (def.options ?? []).find((o) => {
        const typeSchema = defOf(unwrap(o).schema).shape?.type;
        return typeSchema !== undefined && (defOf(typeSchema).values ?? []).includes(type);
      });
      if (!option) return undefined;
      schema = option;
      def = defOf(unwrap(schema).schema);
    }
    if (def.type === 'object' && def.shape && typeof part === 'string' && part in def.shape) schema = def.shape[part];
    else if (def.type === 'array' && def.element) schema = def.element;
    else if (def.type === 'record' && def.valueType) schema = def.valueType;
    else return undefined;
    value = isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[part] : undefined;
  }
  return schema;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** camelCase → UPPER_SNAKE, "timeoutSeconds" → "TIMEOUT_SECONDS". */
export function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** camelCase → kebab, "timeoutSeconds" → "timeout-seconds". */
export function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Keys whose values are secrets wherever they appear; never printed. */
const SECRET_KEY = /token|secret|passw|pwd|api[-_]?key|apikey|^auth(orization)?$|credential|cookie|signature|private[-_]?key/i;

/** Whether the value at a config path is a secret: exporter header values, tokens, anything secret-named. */
export function isSecretPath(path: string): boolean {
  const parts = path.split('.');
  const last = parts[parts.length - 1];
  // Header values carry credentials under names that do not say so (x-honeycomb-team, dd-api-key, ...): all are hidden.
  if (parts.length >= 2 && parts[parts.length - 2] === 'headers') return true;
  if (/(File|Path)$/.test(last)) return false;
  return SECRET_KEY.test(last);
}

/** One line per setting, for `wiretrace config --settings`, flags' help and the README. */
const DESCRIPTIONS: Record<string, string> = {
  'limits.maxConnections': 'connections tracked at once; beyond it the least recently active is evicted',
  'limits.maxBufferedBytesPerStream': 'out-of-order bytes buffered per connection direction before a gap is declared',
  'limits.maxHeaderBytes': 'start line and headers of one HTTP message; beyond it the message is a parse error',
  'limits.maxPendingRequestsPerConnection': 'requests awaiting a response on one connection',
  'limits.maxHeldExchanges': 'completed exchanges held for linking',
  'limits.connectionIdleSeconds': 'capture-time seconds after which a silent connection is forgotten',
  'spans.timeoutSeconds': 'capture-time seconds a request waits for its response before it ends as an error "timeout"',
  'spans.clientSpans': 'emit a CLIENT span per exchange as well as the SERVER span',
  'spans.dropOrphans': 'drop spans of responses whose request was not captured',
  'spans.linkWindowSeconds': 'capture-time seconds a finished exchange waits for the server span that encloses it',
  'spans.recordRequestHeaders': 'request headers recorded as span attributes',
  'spans.recordResponseHeaders': 'response headers recorded as span attributes',
  routes: 'route templates such as /api/users/:id (first match wins)',
  'services.mappings': 'service names for addresses, address:port or CIDR ranges',
  'filters.excludePaths': 'glob patterns over the URL path whose exchanges produce no spans',
  'filters.includePorts': 'only connections with one of these ports at either end (empty: all)',
  'filters.excludePorts': 'ignore connections with one of these ports at either end',
  exporters: 'where spans go besides --output (OTLP gRPC/HTTP, Jaeger, Zipkin, Splunk HEC, console, file)',
  'sampling.sampler': 'which traces are kept (the OTEL_TRACES_SAMPLER names)',
  'sampling.ratio': 'fraction of traces the ratio samplers keep, decided by trace id as OpenTelemetry does',
  'sampling.keepErrors': 'keep traces holding an error span whatever the sampler says',
  'sampling.keepSlowerThanMs': 'keep traces holding a span at least this slow (ms) whatever the sampler says; 0: off',
  'resource.attributes': 'resource attributes added to every span',
  'resource.hostName': 'add host.name of the machine wiretrace runs on (live capture)',
  'capture.interface': 'network interface of a live capture',
  'capture.filter': 'BPF filter handed to tcpdump',
  'capture.snaplen': 'bytes captured per packet',
  'capture.tcpdumpPath': 'the tcpdump program',
  'capture.processEnrichment': 'name services by the local process that owns each socket',
  'observe.metricsPort': 'serve Prometheus /metrics and /healthz on this port; 0: off',
  'observe.metricsHost': 'address the metrics endpoint listens on',
  'observe.maxAwaitingRequests': '/healthz answers 503 when more requests than this await a response',
  'observe.exporterFailureSeconds': '/healthz answers 503 when an exporter has failed for longer than this',
  'observe.logLevel': 'least severe log level written',
  'observe.logFormat': 'log format (auto: readable on a terminal, JSON otherwise)',
  'redaction.queryParams': 'query parameter names (case-insensitive substrings) whose values are replaced',
  'redaction.replacement': 'text that replaces redacted values',
};

export function describeSetting(path: string): string {
  return DESCRIPTIONS[path] ?? `the ${path} setting`;
}
