import { Option, type Command } from 'commander';
import type { ConfigLayer, ConfigProblem } from './load.js';
import { SETTINGS, describeSetting, isSecretPath, kebab, settingAt, type SettingInfo } from './settings.js';
import { EXPORTER_SPEC_HELP, parseExporterText, parseMappingText, parseNumberText, parsePairsText } from './text.js';

/**
 * Command-line flags that set configuration values. One table, so that the
 * CLI, `--help` and error messages agree on which flag sets which setting.
 * The hand-written rows have the short names people type; every other
 * setting gets a systematic `--<section>-<key>` flag (hidden from --help,
 * listed by `wiretrace config --settings`).
 */
export interface ConfigFlag {
  /** commander's attribute name for the option */
  option: string;
  flag: string;
  path: string;
  description: string;
  /**
   * 'boolean' is one flag that sets the value it implies (--no-x false, --x true);
   * 'switch' is a --x / --no-x pair; 'repeat' flags collect every occurrence into an array.
   */
  kind: 'number' | 'string' | 'boolean' | 'switch' | 'repeat-string' | 'repeat-port' | 'repeat-number' | 'repeat-mapping' | 'repeat-pair' | 'repeat-exporter';
  placeholder?: string;
  /** Systematic name, hidden from --help. */
  generated?: boolean;
}

const NAMED_FLAGS: ConfigFlag[] = [
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
  { option: 'exporter', flag: '--exporter', path: 'exporters', kind: 'repeat-exporter', placeholder: '<spec>', description: `send spans to an exporter too: ${EXPORTER_SPEC_HELP} (repeatable; replaces the file's list)` },
  { option: 'sampler', flag: '--sampler', path: 'sampling.sampler', kind: 'string', placeholder: '<name>', description: 'always_on (default), always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio' },
  { option: 'sampleRatio', flag: '--sample-ratio', path: 'sampling.ratio', kind: 'number', placeholder: '<0..1>', description: 'fraction of traces the ratio samplers keep (default 1)' },
  { option: 'keepSlowerThan', flag: '--keep-slower-than', path: 'sampling.keepSlowerThanMs', kind: 'number', placeholder: '<ms>', description: 'keep traces holding a span at least this slow whatever the sampler says (default 0: off)' },
  { option: 'resourceAttribute', flag: '--resource-attribute', path: 'resource.attributes', kind: 'repeat-pair', placeholder: '<key=value>', description: 'resource attribute added to every span (repeatable)' },
];

function camel(flagName: string): string {
  return flagName.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function generatedFlag(setting: SettingInfo): ConfigFlag {
  const name = setting.path.split('.').map(kebab).join('-');
  const kinds: Record<SettingInfo['kind'], ConfigFlag['kind']> = {
    number: 'number',
    integer: 'number',
    string: 'string',
    enum: 'string',
    boolean: 'switch',
    'string-list': 'repeat-string',
    'number-list': 'repeat-number',
    'mapping-list': 'repeat-mapping',
    record: 'repeat-pair',
    exporters: 'repeat-exporter',
  };
  const kind = kinds[setting.kind];
  const placeholders: Partial<Record<ConfigFlag['kind'], string>> = { number: '<n>', string: '<value>', 'repeat-string': '<value>', 'repeat-number': '<n>', 'repeat-mapping': '<match=name>', 'repeat-pair': '<key=value>', 'repeat-exporter': '<spec>' };
  const def = setting.defaultValue === undefined ? '' : `; default ${JSON.stringify(setting.defaultValue)}`;
  return {
    option: camel(name),
    flag: `--${name}`,
    path: setting.path,
    kind,
    placeholder: placeholders[kind],
    description: `${describeSetting(setting.path)} (${setting.allowed}${kind.startsWith('repeat') ? '; repeatable' : ''}${def})`,
    generated: true,
  };
}

export const CONFIG_FLAGS: ConfigFlag[] = [...NAMED_FLAGS, ...SETTINGS.filter((s) => !NAMED_FLAGS.some((f) => f.path === s.path)).map(generatedFlag)];

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds every configuration flag to a command. */
export function registerConfigFlags(cmd: Command): Command {
  for (const def of CONFIG_FLAGS) {
    const spec = def.placeholder ? `${def.flag} ${def.placeholder}` : def.flag;
    const option = new Option(spec, def.description);
    if (def.kind.startsWith('repeat')) option.argParser(collect);
    if (def.generated) option.hideHelp();
    cmd.addOption(option);
    if (def.kind === 'switch') cmd.addOption(new Option(`--no-${def.flag.slice(2)}`, `turn ${def.path} off`).hideHelp());
  }
  cmd.addHelpText('after', '\nEvery setting also has a flag --<section>-<key> and an environment variable WIRETRACE_<SECTION>_<KEY>;\n`wiretrace config --settings` lists them all with what each allows.');
  return cmd;
}

function setPath(target: Record<string, unknown>, path: string | string[], value: unknown): void {
  const parts = typeof path === 'string' ? path.split('.') : path;
  let cur = target;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

/** Turns parsed commander options into a config layer, remembering which flag set each path. */
export function flagsToLayer(options: Record<string, unknown>, explicitlySet: (option: string) => boolean): ConfigLayer {
  const values: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  const raw = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  for (const def of CONFIG_FLAGS) {
    const given = options[def.option];
    if (given === undefined || !explicitlySet(def.option)) continue;
    const setting = settingAt(def.path);
    const allowed = setting?.allowed ?? 'a valid value';
    // An exporter given as JSON may hold a token or headers: only the short form is quoted back.
    const hidden = isSecretPath(def.path) || (def.kind === 'repeat-exporter' && /[{@]/.test(String(given)));
    const bad = (text: string, expected = allowed) => problems.push({ where: `flag ${def.flag}`, value: hidden ? undefined : text, expected });
    let value: unknown;
    let ok = true;
    switch (def.kind) {
      case 'number': {
        const n = parseNumberText(String(given));
        if (n === undefined) {
          bad(String(given));
          ok = false;
        }
        value = n;
        raw.set(def.path, String(given));
        break;
      }
      case 'boolean':
      case 'switch':
        value = Boolean(given);
        break;
      case 'string':
        value = String(given);
        raw.set(def.path, String(given));
        break;
      case 'repeat-string':
        value = given as string[];
        break;
      case 'repeat-port':
      case 'repeat-number':
        value = (given as string[]).map((p) => {
          const n = parseNumberText(p);
          if (n === undefined) {
            bad(p, allowed.replace(/^a list of (\w+)s\b/, 'an $1'));
            ok = false;
          }
          return n;
        });
        break;
      case 'repeat-mapping':
        value = (given as string[]).map((m) => {
          const mapping = parseMappingText(m);
          if (mapping === undefined) {
            bad(m, 'of the form <address|address:port|cidr>=<name>');
            ok = false;
          }
          return mapping;
        });
        break;
      case 'repeat-pair': {
        const pairs: Record<string, string> = {};
        for (const item of given as string[]) {
          const parsed = item.includes('=') ? parsePairsText(item) : undefined;
          if (parsed === undefined || Object.keys(parsed).length !== 1) {
            bad(item, 'of the form <key>=<value> (percent-encoded)');
            ok = false;
            continue;
          }
          Object.assign(pairs, parsed);
        }
        // Per key, so that the file's other attributes stay.
        for (const [k, v] of Object.entries(pairs)) {
          setPath(values, [...def.path.split('.'), k], v);
          origins.set(`${def.path}.${k}`, `flag ${def.flag}`);
        }
        continue;
      }
      case 'repeat-exporter':
        value = (given as string[]).map((spec) => {
          const e = parseExporterText(spec);
          if (e === undefined) {
            bad(spec, `an exporter: ${EXPORTER_SPEC_HELP}`);
            ok = false;
          }
          return e;
        });
        break;
    }
    if (!ok) continue;
    setPath(values, def.path, value);
    origins.set(def.path, `flag ${def.flag}`);
  }
  return { source: { kind: 'flag', flag: 'command line' }, values, origins, raw, problems };
}
