import type { Command } from 'commander';
import { Document, isMap, isScalar, isSeq, type Node } from 'yaml';
import { CONFIG_ENV, OTEL_ENV } from '../../config/env.js';
import { CONFIG_FLAGS, registerConfigFlags } from '../../config/flags.js';
import { maskUrlCredentials, type ValueOrigin } from '../../config/load.js';
import { isSecretPath } from '../../config/settings.js';
import { loadCommandConfigWithOrigins } from '../agent.js';

/**
 * `wiretrace config`: the merged configuration and where each value came
 * from. Secrets (exporter header values, tokens, anything secret-named,
 * passwords in URLs) are masked: this output is made to be pasted into an
 * issue.
 */

const MASK = '***';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A copy with every secret replaced by *** (an empty secret stays empty, so a missing one is visible). */
export function maskSecrets(value: unknown, path = ''): unknown {
  if (Array.isArray(value)) return value.map((v, i) => maskSecrets(v, path ? `${path}.${i}` : String(i)));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskSecrets(v, path ? `${path}.${k}` : k);
    return out;
  }
  if (typeof value === 'string') {
    if (isSecretPath(path) && value !== '') return MASK;
    return maskUrlCredentials(value);
  }
  return value;
}

/** Puts each value's origin as a comment at the end of its line. */
function annotate(node: Node | null | undefined, path: string, origins: Map<string, ValueOrigin>): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const childPath = path ? `${path}.${key}` : key;
      const value = pair.value as Node | null;
      const origin = origins.get(childPath);
      if (origin && (isScalar(value) || ((isSeq(value) || isMap(value)) && value.items.length === 0) || (isSeq(value) && value.items.every(isScalar)))) {
        if (isSeq(value) || isMap(value)) value.flow = true;
        value.comment = ` ${origin.short}`;
      } else {
        annotate(value, childPath, origins);
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => annotate(item as Node, `${path}.${i}`, origins));
  }
}

export function renderConfigYaml(config: unknown, origins: Map<string, ValueOrigin>): string {
  const doc = new Document(maskSecrets(config));
  annotate(doc.contents as Node, '', origins);
  return doc.toString({ lineWidth: 0 });
}

function settingsTable(): string {
  const lines: string[] = ['Settings: config key, flag, environment variable, what is allowed, default.', ''];
  for (const row of CONFIG_ENV) {
    const flag = CONFIG_FLAGS.find((f) => f.path === row.path);
    const flagText = flag ? (flag.kind === 'switch' ? `${flag.flag} / --no-${flag.flag.slice(2)}` : `${flag.flag}${flag.placeholder ? ' ' + flag.placeholder : ''}`) : '';
    lines.push(`${row.path}`);
    lines.push(`    ${row.description}`);
    lines.push(`    flag ${flagText}   env ${row.name}`);
    lines.push(`    ${row.setting.allowed}; default ${JSON.stringify(maskSecrets(row.setting.defaultValue, row.path)) ?? '(unset)'}`);
  }
  lines.push('', 'OpenTelemetry variables honoured (WIRETRACE_* wins over them; flags win over both):', '');
  for (const v of OTEL_ENV) lines.push(`${v.name}`, `    ${v.sets}`);
  return lines.join('\n') + '\n';
}

export function registerConfig(program: Command): void {
  const cmd = program
    .command('config')
    .description('print the merged configuration (defaults < --config file < environment < flags) with where each value came from; secrets masked')
    .option('-c, --config <file>', 'configuration file (JSON or YAML)')
    .option('--json', 'print JSON: { config, origins } instead of YAML with comments')
    .option('--settings', 'list every setting with its flag, environment variable, allowed values and default');
  registerConfigFlags(cmd).action((opts: Record<string, unknown>, command: Command) => {
    if (opts.settings) {
      process.stdout.write(settingsTable());
      return;
    }
    const { config, origins } = loadCommandConfigWithOrigins(opts, command);
    if (opts.json) {
      const sources = Object.fromEntries([...origins].map(([path, origin]) => [path, origin.short]));
      process.stdout.write(JSON.stringify({ config: maskSecrets(config), origins: sources }, null, 2) + '\n');
      return;
    }
    process.stdout.write(renderConfigYaml(config, origins));
  });
}
