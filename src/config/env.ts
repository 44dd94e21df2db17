import type { ConfigLayer, ConfigProblem } from './load.js';
import { mergeLayers } from './load.js';
import { SETTINGS, describeSetting, isSecretPath, upperSnake, type SettingInfo } from './settings.js';
import { parseBooleanText, parseNumberText, parsePairsText, parseSettingText } from './text.js';

/**
 * The environment layer: a WIRETRACE_* variable for every setting, and the
 * standard OpenTelemetry variables where they mean something for wiretrace.
 * Empty variables count as unset, as the OpenTelemetry specification says.
 * Within the environment, WIRETRACE_* wins over OTEL_* for the same setting.
 */

export interface ConfigEnvVar {
  name: string;
  path: string;
  description: string;
  setting: SettingInfo;
}

/** WIRETRACE_<SECTION>_<KEY> from the setting's path; a few read better shorter. */
const ENV_NAME_OVERRIDES: Record<string, string> = {
  'services.mappings': 'WIRETRACE_SERVICES',
};

export function envNameFor(path: string): string {
  return ENV_NAME_OVERRIDES[path] ?? `WIRETRACE_${path.split('.').map(upperSnake).join('_')}`;
}

/** One row per setting: the source of truth for docs, `wiretrace config --settings` and errors. */
export const CONFIG_ENV: readonly ConfigEnvVar[] = SETTINGS.map((setting) => ({
  name: envNameFor(setting.path),
  path: setting.path,
  description: describeSetting(setting.path),
  setting,
}));

/** WIRETRACE_* variables that are not settings (read elsewhere), so not "unknown". */
export const NON_SETTING_ENV = new Set(['WIRETRACE_DEBUG']);
/** The SDK's own variables (src/sdk/env.ts): an agent sharing a shell or pod with an instrumented service ignores them. */
export const SDK_ENV_PREFIX = 'WIRETRACE_SDK_';

/** The OpenTelemetry variables honoured, and what each sets. */
export const OTEL_ENV: ReadonlyArray<{ name: string; sets: string }> = [
  { name: 'OTEL_SERVICE_NAME', sets: 'resource.attributes["wiretrace.agent.name"]: names the agent itself (the services on the wire are named from the traffic)' },
  { name: 'OTEL_RESOURCE_ATTRIBUTES', sets: 'resource.attributes (percent-decoded key=value pairs; a service.name entry names the agent, like OTEL_SERVICE_NAME, which wins)' },
  { name: 'OTEL_TRACES_EXPORTER', sets: 'exporters: otlp, zipkin, jaeger, console or none, comma-separated; replaces the file\'s list' },
  { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', sets: 'the OTLP exporter\'s endpoint; /v1/traces is appended for HTTP' },
  { name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', sets: 'the OTLP exporter\'s endpoint, used as is' },
  { name: 'OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL', sets: 'grpc (otlp-grpc), http/protobuf or http/json (otlp-http)' },
  { name: 'OTEL_EXPORTER_OTLP_[TRACES_]HEADERS', sets: 'headers of the OTLP exporter (percent-decoded key=value pairs)' },
  { name: 'OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION', sets: 'gzip or none' },
  { name: 'OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT', sets: 'queue.exportTimeoutMillis of the OTLP exporter' },
  { name: 'OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE', sets: 'tls.caFile of the OTLP exporter' },
  { name: 'OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE / _CLIENT_KEY', sets: 'tls.certFile / tls.keyFile of the OTLP exporter' },
  { name: 'OTEL_EXPORTER_OTLP_[TRACES_]INSECURE', sets: 'tls.insecure of the OTLP exporter (gRPC: plaintext to an https endpoint)' },
  { name: 'OTEL_EXPORTER_ZIPKIN_ENDPOINT', sets: 'the Zipkin exporter\'s endpoint (with OTEL_TRACES_EXPORTER=zipkin)' },
  { name: 'OTEL_TRACES_SAMPLER', sets: 'sampling.sampler' },
  { name: 'OTEL_TRACES_SAMPLER_ARG', sets: 'sampling.ratio' },
  { name: 'OTEL_BSP_SCHEDULE_DELAY', sets: 'queue.scheduledDelayMillis of every exporter that does not set it' },
  { name: 'OTEL_BSP_EXPORT_TIMEOUT', sets: 'queue.exportTimeoutMillis of every exporter that does not set it' },
  { name: 'OTEL_BSP_MAX_QUEUE_SIZE', sets: 'queue.maxQueueSize of every exporter that does not set it' },
  { name: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', sets: 'queue.maxExportBatchSize of every exporter that does not set it' },
];

type Plain = Record<string, unknown>;

function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setPath(target: Plain, path: string[], value: unknown): void {
  let cur = target;
  for (const part of path.slice(0, -1)) {
    if (!isPlainObject(cur[part])) cur[part] = {};
    cur = cur[part] as Plain;
  }
  cur[path[path.length - 1]] = value;
}

const AGENT_NAME = 'wiretrace.agent.name';

const OTLP_PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'];
const TRACES_EXPORTERS = ['otlp', 'zipkin', 'jaeger', 'console', 'none'];

const BSP: ReadonlyArray<[variable: string, field: string]> = [
  ['OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis'],
  ['OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis'],
  ['OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'],
  ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize'],
];

class EnvReader {
  readonly values: Plain = {};
  readonly origins = new Map<string, string>();
  readonly raw = new Map<string, string>();
  readonly problems: ConfigProblem[] = [];
  readonly #env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv) {
    this.#env = env;
  }

  get(name: string): string | undefined {
    const v = this.#env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  /** The first of the names that is set (signal-specific before generic). */
  first(...names: string[]): { name: string; value: string } | undefined {
    for (const name of names) {
      const value = this.get(name);
      if (value !== undefined) return { name, value };
    }
    return undefined;
  }

  set(path: string[], value: unknown, variable: string, raw: string): void {
    setPath(this.values, path, value);
    const key = path.join('.');
    this.origins.set(key, `environment variable ${variable}`);
    this.raw.set(key, raw);
  }

  problem(variable: string, raw: string, expected: string, secret = false): void {
    this.problems.push({ where: `environment variable ${variable}`, value: secret ? undefined : raw, expected });
  }

  names(): string[] {
    return Object.keys(this.#env);
  }
}

/** The environment as a config layer over the layers below it (the file), whose exporters it may overlay. */
export function envToLayer(env: NodeJS.ProcessEnv, below: ConfigLayer[] = []): ConfigLayer {
  const r = new EnvReader(env);
  readOtelResource(r);
  readOtelSampler(r);
  for (const row of CONFIG_ENV) {
    if (row.setting.kind === 'exporters') continue;
    const raw = r.get(row.name);
    if (raw === undefined) continue;
    const parsed = parseSettingText(row.setting, raw);
    if (!parsed.ok) {
      r.problem(row.name, raw, parsed.expected, isSecretPath(row.path));
      continue;
    }
    if (row.setting.kind === 'record') {
      // Per key, so that OTEL_RESOURCE_ATTRIBUTES' other keys and the file's stay.
      for (const [k, v] of Object.entries(parsed.value as Record<string, string>)) r.set([...row.path.split('.'), k], v, row.name, raw);
    } else {
      r.set(row.path.split('.'), parsed.value, row.name, raw);
    }
  }
  readExporters(r, below);
  const known = new Set(CONFIG_ENV.map((row) => row.name));
  for (const name of r.names()) {
    if (!name.startsWith('WIRETRACE_') || known.has(name) || NON_SETTING_ENV.has(name) || name.startsWith(SDK_ENV_PREFIX)) continue;
    r.problems.push({ where: `environment variable ${name}`, value: undefined, expected: 'a setting', message: `unknown setting${closest(name, [...known])}; \`wiretrace config --settings\` lists them` });
  }
  return { source: { kind: 'env', name: 'environment' }, values: r.values, origins: r.origins, raw: r.raw, problems: r.problems };
}

function closest(name: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(3, Math.max(name.length, best.length) * 0.45) ? ` (did you mean ${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

function readOtelResource(r: EnvReader): void {
  const attrs = r.get('OTEL_RESOURCE_ATTRIBUTES');
  if (attrs !== undefined) {
    const pairs = parsePairsText(attrs);
    if (pairs === undefined) r.problem('OTEL_RESOURCE_ATTRIBUTES', attrs, 'a comma-separated list of key=value pairs (W3C Baggage format, percent-encoded)');
    else for (const [k, v] of Object.entries(pairs)) r.set(['resource', 'attributes', k === 'service.name' ? AGENT_NAME : k], v, 'OTEL_RESOURCE_ATTRIBUTES', attrs);
  }
  const name = r.get('OTEL_SERVICE_NAME');
  if (name !== undefined) r.set(['resource', 'attributes', AGENT_NAME], name, 'OTEL_SERVICE_NAME', name);
}

function readOtelSampler(r: EnvReader): void {
  const sampler = r.get('OTEL_TRACES_SAMPLER');
  if (sampler !== undefined) r.set(['sampling', 'sampler'], sampler, 'OTEL_TRACES_SAMPLER', sampler);
  const arg = r.get('OTEL_TRACES_SAMPLER_ARG');
  if (arg !== undefined) {
    const ratio = parseNumberText(arg);
    if (ratio === undefined) r.problem('OTEL_TRACES_SAMPLER_ARG', arg, 'a number from 0 to 1');
    else r.set(['sampling', 'ratio'], ratio, 'OTEL_TRACES_SAMPLER_ARG', arg);
  }
}

const OTLP_VARIABLE = /^OTEL_EXPORTER_OTLP_(?:TRACES_)?(?:ENDPOINT|HEADERS|PROTOCOL|COMPRESSION|TIMEOUT|CERTIFICATE|CLIENT_CERTIFICATE|CLIENT_KEY|INSECURE)$/;

/**
 * Exporters from the environment. WIRETRACE_EXPORTERS and
 * OTEL_TRACES_EXPORTER replace the file's list (together: the first's
 * entries, then the second's). Without them, OTEL_EXPORTER_OTLP_* variables
 * overlay every OTLP exporter of the list below — so a file can name the
 * collector and the environment carry its credentials — or add one when
 * there is none, as OpenTelemetry's default exporter is OTLP. OTEL_BSP_*
 * variables are defaults: an exporter's own queue settings win.
 */
function readExporters(r: EnvReader, below: ConfigLayer[]): void {
  let list: unknown[] | undefined;
  const wt = r.get('WIRETRACE_EXPORTERS');
  if (wt !== undefined) {
    const setting = SETTINGS.find((s) => s.kind === 'exporters') as SettingInfo;
    const parsed = parseSettingText(setting, wt);
    if (!parsed.ok) r.problem('WIRETRACE_EXPORTERS', wt, parsed.expected, true);
    else {
      list = parsed.value as unknown[];
      r.origins.set('exporters', 'environment variable WIRETRACE_EXPORTERS');
    }
  }
  const otlpSet = r.names().some((n) => OTLP_VARIABLE.test(n) && r.get(n) !== undefined);
  const tracesExporter = r.get('OTEL_TRACES_EXPORTER');
  if (tracesExporter !== undefined) {
    const names = tracesExporter.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
    const bad = names.find((n) => !TRACES_EXPORTERS.includes(n));
    if (bad !== undefined || (names.includes('none') && names.length > 1)) {
      r.problem('OTEL_TRACES_EXPORTER', tracesExporter, `a comma-separated list of ${TRACES_EXPORTERS.filter((n) => n !== 'none').join(', ')}, or none alone`);
    } else {
      list ??= [];
      for (const name of names) {
        const index = list.length;
        const origin = (field: string) => `exporters.${index}${field ? '.' + field : ''}`;
        if (name === 'none') continue;
        r.origins.set(origin(''), 'environment variable OTEL_TRACES_EXPORTER');
        if (name === 'otlp') list.push(overlayOtlp(r, undefined, index));
        else if (name === 'console') list.push({ type: 'console' });
        else {
          const entry: Plain = { type: name };
          const endpointVariable = name === 'zipkin' ? 'OTEL_EXPORTER_ZIPKIN_ENDPOINT' : 'OTEL_EXPORTER_JAEGER_ENDPOINT';
          const endpoint = r.get(endpointVariable);
          if (endpoint !== undefined) {
            entry.endpoint = endpoint;
            r.origins.set(origin('endpoint'), `environment variable ${endpointVariable}`);
            r.raw.set(origin('endpoint'), endpoint);
          }
          list.push(entry);
        }
      }
    }
  } else if (otlpSet) {
    list ??= copyExporters(below);
    let overlaid = false;
    list.forEach((entry, index) => {
      if (isPlainObject(entry) && (entry.type === 'otlp-grpc' || entry.type === 'otlp-http')) {
        list![index] = overlayOtlp(r, entry, index);
        overlaid = true;
      }
    });
    if (!overlaid) {
      const cause = r.names().find((n) => OTLP_VARIABLE.test(n) && r.get(n) !== undefined) as string;
      r.origins.set(`exporters.${list.length}`, `environment variable ${cause}`);
      list.push(overlayOtlp(r, undefined, list.length));
    }
  }

  const bsp = BSP.map(([variable, field]) => ({ variable, field, raw: r.get(variable) })).filter((b) => b.raw !== undefined);
  if (bsp.length > 0) {
    list ??= copyExporters(below);
    for (const { variable, field, raw } of bsp) {
      const n = parseNumberText(raw as string);
      if (n === undefined) {
        r.problem(variable, raw as string, 'a whole number of milliseconds or spans');
        continue;
      }
      list.forEach((entry, index) => {
        if (!isPlainObject(entry)) return;
        const queue = isPlainObject(entry.queue) ? entry.queue : (entry.queue = {});
        if (queue[field] !== undefined) return;
        queue[field] = n;
        r.origins.set(`exporters.${index}.queue.${field}`, `environment variable ${variable}`);
        r.raw.set(`exporters.${index}.queue.${field}`, raw as string);
      });
    }
  }
  if (list !== undefined) r.values.exporters = list;
}

function copyExporters(below: ConfigLayer[]): unknown[] {
  const merged = mergeLayers(...below.map((l) => l.values)).exporters;
  return Array.isArray(merged) ? (structuredClone(merged) as unknown[]) : [];
}

/** An OTLP exporter entry with the OTEL_EXPORTER_OTLP_* variables applied (signal-specific ones first). */
function overlayOtlp(r: EnvReader, base: Plain | undefined, index: number): Plain {
  const entry: Plain = base ? { ...base } : { type: 'otlp-http' };
  const at = (field: string) => `exporters.${index}.${field}`;
  const note = (field: string, variable: string, raw: string) => {
    r.origins.set(at(field), `environment variable ${variable}`);
    r.raw.set(at(field), raw);
  };

  const protocol = r.first('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL');
  if (protocol !== undefined) {
    if (!OTLP_PROTOCOLS.includes(protocol.value)) r.problem(protocol.name, protocol.value, `one of ${OTLP_PROTOCOLS.join(', ')}`);
    else if (protocol.value === 'grpc') {
      entry.type = 'otlp-grpc';
      delete entry.protocol;
      note('type', protocol.name, protocol.value);
    } else {
      entry.type = 'otlp-http';
      entry.protocol = protocol.value === 'http/json' ? 'json' : 'protobuf';
      note('type', protocol.name, protocol.value);
      note('protocol', protocol.name, protocol.value);
    }
  }
  const http = entry.type === 'otlp-http';

  const specific = r.get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const generic = r.get('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (specific !== undefined) {
    entry.endpoint = specific;
    note('endpoint', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', specific);
  } else if (generic !== undefined) {
    // The specification: the generic endpoint is a base URL, the signal's path is appended for HTTP.
    entry.endpoint = http ? `${generic.replace(/\/+$/, '')}/v1/traces` : generic;
    note('endpoint', 'OTEL_EXPORTER_OTLP_ENDPOINT', generic);
  }

  const headers: Plain = isPlainObject(entry.headers) ? { ...entry.headers } : {};
  let headersChanged = false;
  for (const variable of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    const raw = r.get(variable);
    if (raw === undefined) continue;
    const pairs = parsePairsText(raw);
    if (pairs === undefined) {
      r.problem(variable, raw, 'a comma-separated list of name=value pairs (percent-encoded)', true);
      continue;
    }
    for (const [k, v] of Object.entries(pairs)) {
      headers[k] = v;
      note(`headers.${k}`, variable, raw);
      headersChanged = true;
    }
  }
  if (headersChanged) entry.headers = headers;

  const compression = r.first('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION');
  if (compression !== undefined) {
    entry.compression = compression.value;
    note('compression', compression.name, compression.value);
  }

  const timeout = r.first('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT');
  if (timeout !== undefined) {
    const n = parseNumberText(timeout.value);
    if (n === undefined) r.problem(timeout.name, timeout.value, 'a whole number of milliseconds greater than 0');
    else {
      entry.queue = { ...(isPlainObject(entry.queue) ? entry.queue : {}), exportTimeoutMillis: n };
      note('queue.exportTimeoutMillis', timeout.name, timeout.value);
    }
  }

  const tls: Plain = isPlainObject(entry.tls) ? { ...entry.tls } : {};
  let tlsChanged = false;
  for (const [suffix, field] of [
    ['CERTIFICATE', 'caFile'],
    ['CLIENT_CERTIFICATE', 'certFile'],
    ['CLIENT_KEY', 'keyFile'],
  ] as const) {
    const file = r.first(`OTEL_EXPORTER_OTLP_TRACES_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`);
    if (file === undefined) continue;
    tls[field] = file.value;
    note(`tls.${field}`, file.name, file.value);
    tlsChanged = true;
  }
  const insecure = r.first('OTEL_EXPORTER_OTLP_TRACES_INSECURE', 'OTEL_EXPORTER_OTLP_INSECURE');
  if (insecure !== undefined) {
    const b = parseBooleanText(insecure.value);
    if (b === undefined) r.problem(insecure.name, insecure.value, 'true or false');
    else {
      tls.insecure = b;
      note('tls.insecure', insecure.name, insecure.value);
      tlsChanged = true;
    }
  }
  if (tlsChanged) entry.tls = tls;
  return entry;
}
