import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { WiretraceError } from '../errors.js';
import { configSchema, type WiretraceConfig } from './schema.js';

/** Where a configuration value came from, for error messages (and `wiretrace config`). */
export type ConfigSource = { kind: 'default' } | { kind: 'file'; path: string } | { kind: 'flag'; flag: string } | { kind: 'env'; name: string };

type Plain = Record<string, unknown>;

function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a JSON or YAML config file into a plain object (not yet validated). */
export function readConfigFile(path: string): Plain {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new WiretraceError(code === 'ENOENT' ? 'WT_ERR_FILE_NOT_FOUND' : 'WT_ERR_FILE_UNREADABLE', `config file ${path}: ${code === 'ENOENT' ? 'no such file' : String(code ?? err)}`);
  }
  let value: unknown;
  try {
    value = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new WiretraceError('WT_ERR_CONFIG', `config file ${path}: not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) throw new WiretraceError('WT_ERR_CONFIG', `config file ${path}: the top level must be a mapping of settings`);
  return value;
}

/** Deep merge where later layers win; arrays are replaced, not concatenated. */
export function mergeLayers(...layers: Plain[]): Plain {
  const out: Plain = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      const prev = out[key];
      out[key] = isPlainObject(prev) && isPlainObject(value) ? mergeLayers(prev, value) : value;
    }
  }
  return out;
}

export interface ConfigLayer {
  source: ConfigSource;
  values: Plain;
  /** For flags and env: which config path each value was set from, to name it in errors. */
  origins?: Map<string, string>;
}

function describeSource(layers: ConfigLayer[], path: string): string {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (!hasPath(layer.values, path)) continue;
    const origin = layer.origins?.get(path);
    switch (layer.source.kind) {
      case 'file':
        return `config file ${layer.source.path}, key ${path}`;
      case 'flag':
        return origin ?? `flag ${layer.source.flag}`;
      case 'env':
        return origin ?? `environment variable ${layer.source.name}`;
      default:
        return `default of ${path}`;
    }
  }
  return `setting ${path}`;
}

function hasPath(obj: Plain, path: string): boolean {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur) || !(part in cur)) return false;
    cur = cur[part];
  }
  return true;
}

function issueLine(issue: z.core.$ZodIssue, layers: ConfigLayer[]): string {
  const path = issue.path.map(String).join('.');
  const where = describeSource(layers, path.replace(/\.\d+$/, ''));
  if (issue.code === 'unrecognized_keys') {
    const prefix = path ? `${path}.` : '';
    return `${where === `setting ${path}` ? 'configuration' : where}: unknown setting ${issue.keys.map((k) => prefix + k).join(', ')}`;
  }
  return `${where}: ${issue.message}`;
}

/** Validates merged layers (later wins) against the schema; one clear line per problem. */
export function resolveConfig(layers: ConfigLayer[]): WiretraceConfig {
  const merged = mergeLayers(...layers.map((l) => l.values));
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => issueLine(issue, layers));
    throw new WiretraceError('WT_ERR_CONFIG', lines.join('\n'));
  }
  return result.data;
}
