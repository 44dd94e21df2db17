import { WiretraceError } from '../errors.js';
import type { ConfigLayer } from './load.js';

/**
 * Command-line flags that set configuration values. One table, so that the
 * CLI, `--help` and error messages agree on which flag sets which setting.
 */
export interface ConfigFlag {
  /** commander's attribute name for the option */
  option: string;
  flag: string;
  path: string;
  description: string;
  /** 'repeat' flags collect every occurrence into an array */
  kind: 'number' | 'string' | 'boolean' | 'repeat-string' | 'repeat-port' | 'repeat-mapping';
  placeholder?: string;
}

export const CONFIG_FLAGS: ConfigFlag[] = [
  { option: 'spanTimeout', flag: '--span-timeout', path: 'spans.timeoutSeconds', kind: 'number', placeholder: '<seconds>', description: 'capture-time seconds a request waits for its response before it ends as an error "timeout" (default 30)' },
  { option: 'clientSpans', flag: '--no-client-spans', path: 'spans.clientSpans', kind: 'boolean', description: 'emit only SERVER spans, no CLIENT span per exchange' },
  { option: 'dropOrphans', flag: '--drop-orphans', path: 'spans.dropOrphans', kind: 'boolean', description: 'drop spans of responses whose request was not captured' },
  { option: 'route', flag: '--route', path: 'routes', kind: 'repeat-string', placeholder: '<pattern>', description: 'route template such as /api/users/:id (repeatable; first match wins)' },
  { option: 'service', flag: '--service', path: 'services.mappings', kind: 'repeat-mapping', placeholder: '<match=name>', description: 'name the service at an address, address:port or CIDR (repeatable)' },
  { option: 'excludePath', flag: '--exclude-path', path: 'filters.excludePaths', kind: 'repeat-string', placeholder: '<glob>', description: 'drop exchanges whose URL path matches (repeatable)' },
  { option: 'includePort', flag: '--include-port', path: 'filters.includePorts', kind: 'repeat-port', placeholder: '<port>', description: 'only connections with this port at either end (repeatable)' },
  { option: 'excludePort', flag: '--exclude-port', path: 'filters.excludePorts', kind: 'repeat-port', placeholder: '<port>', description: 'ignore connections with this port at either end (repeatable)' },
  { option: 'recordRequestHeader', flag: '--record-request-header', path: 'spans.recordRequestHeaders', kind: 'repeat-string', placeholder: '<name>', description: 'record this request header as a span attribute (repeatable; replaces the default list)' },
  { option: 'recordResponseHeader', flag: '--record-response-header', path: 'spans.recordResponseHeaders', kind: 'repeat-string', placeholder: '<name>', description: 'record this response header as a span attribute (repeatable; replaces the default list)' },
  { option: 'maxConnections', flag: '--max-connections', path: 'limits.maxConnections', kind: 'number', placeholder: '<n>', description: 'connections tracked at once (default 100000)' },
  { option: 'metricsPort', flag: '--metrics-port', path: 'observe.metricsPort', kind: 'number', placeholder: '<port>', description: 'serve Prometheus metrics at /metrics and health at /healthz on this port while running (default 0: off)' },
  { option: 'metricsHost', flag: '--metrics-host', path: 'observe.metricsHost', kind: 'string', placeholder: '<address>', description: 'address the metrics server binds (default 127.0.0.1)' },
  { option: 'logLevel', flag: '--log-level', path: 'observe.logLevel', kind: 'string', placeholder: '<level>', description: "the agent's own log: fatal, error, warn, info, debug, trace or silent (default info)" },
  { option: 'logFormat', flag: '--log-format', path: 'observe.logFormat', kind: 'string', placeholder: '<format>', description: 'log lines as json, pretty, or auto: pretty on a terminal, JSON otherwise (default auto)' },
];

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = target;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

function parseNumber(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new WiretraceError('WT_ERR_USAGE', `flag ${flag}: "${raw}" is not a number`);
  return n;
}

/** Turns parsed commander options into a config layer, remembering which flag set each path. */
export function flagsToLayer(options: Record<string, unknown>, explicitlySet: (option: string) => boolean): ConfigLayer {
  const values: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  for (const def of CONFIG_FLAGS) {
    const raw = options[def.option];
    if (raw === undefined || !explicitlySet(def.option)) continue;
    let value: unknown;
    switch (def.kind) {
      case 'number':
        value = parseNumber(def.flag, String(raw));
        break;
      case 'boolean':
        value = Boolean(raw);
        break;
      case 'string':
        value = String(raw);
        break;
      case 'repeat-string':
        value = raw as string[];
        break;
      case 'repeat-port':
        value = (raw as string[]).map((p) => parseNumber(def.flag, p));
        break;
      case 'repeat-mapping':
        value = (raw as string[]).map((m) => {
          const eq = m.lastIndexOf('=');
          if (eq <= 0 || eq === m.length - 1) throw new WiretraceError('WT_ERR_USAGE', `flag ${def.flag}: "${m}" is not of the form <address|address:port|cidr>=<name>`);
          return { match: m.slice(0, eq), name: m.slice(eq + 1) };
        });
        break;
    }
    setPath(values, def.path, value);
    origins.set(def.path, `flag ${def.flag}`);
  }
  return { source: { kind: 'flag', flag: 'command line' }, values, origins };
}
