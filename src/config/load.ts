import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { WiretraceError } from '../errors.js';
import { configSchema, type WiretraceConfig } from './schema.js';
import { describeAllowed, isSecretPath, schemaAt } from './settings.js';

/**
 * Configuration layers — defaults, a file, the environment, flags — merged
 * later-wins and validated by the one schema. Every value keeps the name of
 * where it came from, so that an invalid one is reported on one line as
 * `<where>: <value> is not <what is allowed>` and
 * `wiretrace config` can show the origin of each setting.
 */

/** Where a configuration value came from, for error messages (and `wiretrace config`). */
export type ConfigSource = { kind: 'default' } | { kind: 'file'; path: string } | { kind: 'flag'; flag: string } | { kind: 'env'; name: string };

type Plain = Record<string, unknown>;

function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value that could not be read at all (not a number, a malformed list): reported with the schema's problems. */
export interface ConfigProblem {
  /** "environment variable WIRETRACE_SAMPLING_RATIO", "flag --sample-ratio", "config file a.yaml, key x" */
  where: string;
  /** The text given, shown quoted; undefined when it must not be shown (a secret). */
  value: string | undefined;
  /** What is allowed, in words. */
  expected: string;
  /** Instead of "<value> is not <expected>", when the problem is not a value (an unknown variable). */
  message?: string;
}

export function formatProblem(p: ConfigProblem): string {
  if (p.message !== undefined) return `${p.where}: ${p.message}`;
  return `${p.where}: ${p.value === undefined ? '(hidden value)' : JSON.stringify(p.value)} is not ${p.expected}`;
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
  /**
   * For flags and env: the label of each path set ("flag --route",
   * "environment variable OTEL_EXPORTER_OTLP_ENDPOINT"). A value in such a
   * layer with no origin on its path or above is a copy of a lower layer's
   * (the environment overlays exporters from the file) and keeps its origin.
   */
  origins?: Map<string, string>;
  /** The text each path was read from, to quote it in errors. */
  raw?: Map<string, string>;
  problems?: ConfigProblem[];
}

/** Where one value came from. */
export interface ValueOrigin {
  kind: ConfigSource['kind'];
  /** Long form, as errors name it: "config file a.yaml, key spans.timeoutSeconds". */
  label: string;
  /** Short form for `wiretrace config`: "default", "file a.yaml:spans.timeoutSeconds", "env WIRETRACE_ROUTES", "flag --route". */
  short: string;
}

interface Tracked {
  layer: ConfigLayer;
  label?: string;
  /** A value set whole (scalar, list of scalars), not a list of mappings whose items are tracked one by one. */
  whole: boolean;
}

function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

function originLabel(layer: ConfigLayer, path: string): string | undefined {
  if (!layer.origins) return undefined;
  for (let p = path; ; p = p.slice(0, Math.max(0, p.lastIndexOf('.')))) {
    const label = layer.origins.get(p);
    if (label !== undefined) return label;
    if (!p.includes('.')) return undefined;
  }
}

function deleteUnder(tracked: Map<string, Tracked>, path: string): void {
  for (const key of tracked.keys()) if (key === path || key.startsWith(path + '.')) tracked.delete(key);
}

/** Follows mergeLayers' rules to remember which layer (and label) holds each leaf. */
function track(tracked: Map<string, Tracked>, layer: ConfigLayer, value: unknown, path: string, inherited: string | undefined): void {
  const label = inherited ?? originLabel(layer, path);
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) track(tracked, layer, v, join(path, k), label);
    return;
  }
  if (layer.origins && label === undefined) {
    // A copy of lower layers' value, possibly with overlays deeper down.
    if (Array.isArray(value)) value.forEach((v, i) => track(tracked, layer, v, join(path, i), undefined));
    return;
  }
  deleteUnder(tracked, path);
  if (Array.isArray(value) && value.some(isPlainObject)) {
    tracked.set(path, { layer, label, whole: false });
    value.forEach((v, i) => track(tracked, layer, v, join(path, i), label));
  } else {
    tracked.set(path, { layer, label, whole: true });
  }
}

function originOf(t: Tracked, path: string): ValueOrigin {
  switch (t.layer.source.kind) {
    case 'file':
      return { kind: 'file', label: `config file ${t.layer.source.path}, key ${path}`, short: `file ${t.layer.source.path}:${path}` };
    case 'env': {
      const label = t.label ?? `environment variable ${t.layer.source.name}`;
      return { kind: 'env', label, short: label.replace(/^environment variable /, 'env ') };
    }
    case 'flag': {
      const label = t.label ?? `flag ${t.layer.source.flag}`;
      return { kind: 'flag', label, short: label };
    }
    default:
      return { kind: 'default', label: `default of ${path}`, short: 'default' };
  }
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = path; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') out.push(p);
  return out;
}

/** The origin of a path: its own, or the nearest enclosing value's, or the layer that set something inside it. */
function whereIs(tracked: Map<string, Tracked>, path: string): ValueOrigin | undefined {
  for (const p of ancestors(path)) {
    const own = tracked.get(p);
    if (own) return originOf(own, path);
    let inside: Tracked | undefined;
    for (const [key, t] of tracked) if (key.startsWith(p + '.')) inside = t;
    if (inside) return originOf(inside, path);
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const part of path) {
    if (!isPlainObject(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

/** A value as shown in an error: the text given for flags and env, JSON for files; secrets never. */
function shownValue(layers: ConfigLayer[], tracked: Map<string, Tracked>, path: string, input: unknown, parts: readonly PropertyKey[]): string | undefined {
  if (isSecretPath(path)) return undefined;
  const t = tracked.get(path);
  const raw = t?.layer.raw?.get(path);
  if (raw !== undefined) return JSON.stringify(raw);
  const v = valueAt(input, parts);
  const text = v === undefined ? undefined : JSON.stringify(v);
  if (text === undefined) return undefined;
  return maskUrlCredentials(text.length > 120 ? text.slice(0, 117) + '...' : text);
}

/** http://user:secret@host → http://user:***@host */
export function maskUrlCredentials(text: string): string {
  return text.replace(/(\/\/[^/@:\s"]*):[^/@\s"]*@/g, '$1:***@');
}

function expectedFor(issue: z.core.$ZodIssue, input: unknown): string {
  const schema = schemaAt(issue.path, input);
  switch (issue.code) {
    case 'invalid_value':
      return `one of ${issue.values.map(String).join(', ')}`;
    case 'custom':
      return issue.message;
    case 'invalid_union': {
      if (schema) return describeAllowed(schema);
      // A discriminator (an exporter's type) that matches no option: list the options' values.
      const union = schemaAt(issue.path.slice(0, -1), input) ?? schemaAt(issue.path.slice(0, -2), input);
      const types = union ? unionTypes(union) : [];
      return types.length ? `one of ${types.join(', ')}` : issue.message;
    }
    default:
      return schema ? describeAllowed(schema) : issue.message;
  }
}

function issueLines(issue: z.core.$ZodIssue, tracked: Map<string, Tracked>, layers: ConfigLayer[], input: unknown): string[] {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const section = schemaAt(issue.path, input);
    const known = section ? Object.keys(objectShape(section)) : [];
    return issue.keys.map((key) => {
      const full = join(path, key);
      const where = whereIs(tracked, full)?.label ?? `configuration, key ${full}`;
      return `${where}: unknown setting ${full} (settings here: ${known.join(', ')})`;
    });
  }
  const where = whereIs(tracked, path)?.label ?? `configuration, key ${path}`;
  const shown = shownValue(layers, tracked, path, input, issue.path);
  const missing = valueAt(input, issue.path) === undefined;
  if (issue.code === 'custom') return [`${where}: ${issue.message}`];
  if (missing) return [`${where}: missing; it must be ${expectedFor(issue, input)}`];
  return [`${where}: ${shown ?? '(hidden value)'} is not ${expectedFor(issue, input)}`];
}

function unionTypes(schema: z.ZodType): string[] {
  let cur = schema as unknown as { _zod: { def: { type: string; innerType?: unknown; element?: unknown; options?: unknown[] } } };
  while (cur._zod.def.innerType || cur._zod.def.element) cur = (cur._zod.def.innerType ?? cur._zod.def.element) as typeof cur;
  const out: string[] = [];
  for (const option of cur._zod.def.options ?? []) {
    const type = objectShape(option as z.ZodType).type as { _zod: { def: { values?: unknown[] } } } | undefined;
    for (const v of type?._zod.def.values ?? []) out.push(String(v));
  }
  return out;
}

function objectShape(schema: z.ZodType): Record<string, unknown> {
  let cur = schema as unknown as { _zod: { def: { type: string; innerType?: unknown; shape?: Record<string, unknown> } } };
  while (cur._zod.def.innerType) cur = cur._zod.def.innerType as typeof cur;
  return cur._zod.def.shape ?? {};
}

export interface ResolvedConfig {
  config: WiretraceConfig;
  /** Where every leaf of the configuration came from, by dotted path. */
  origins: Map<string, ValueOrigin>;
}

/** Validates merged layers (later wins) against the schema; every problem one clear line, all at once. */
export function resolveConfigWithOrigins(layers: ConfigLayer[]): ResolvedConfig {
  const merged = mergeLayers(...layers.map((l) => l.values));
  const tracked = new Map<string, Tracked>();
  for (const layer of layers) track(tracked, layer, layer.values, '', undefined);
  const lines: string[] = [];
  for (const layer of layers) for (const p of layer.problems ?? []) lines.push(formatProblem(p));
  const result = configSchema.safeParse(merged);
  if (!result.success) for (const issue of result.error.issues) lines.push(...issueLines(issue, tracked, layers, merged));
  if (lines.length > 0 || !result.success) throw new WiretraceError('WT_ERR_CONFIG', [...new Set(lines)].join('\n'));
  const origins = new Map<string, ValueOrigin>();
  for (const leaf of leafPaths(result.data, '')) {
    const own = whereIs(tracked, leaf);
    // A default filled in beside values a layer gave (an exporter's queue) is still a default.
    const exact = ancestors(leaf).some((p) => tracked.get(p)?.whole === true);
    origins.set(leaf, own && exact ? own : { kind: 'default', label: `default of ${leaf}`, short: 'default' });
  }
  return { config: result.data, origins };
}

/** Validates merged layers (later wins) against the schema; one clear line per problem. */
export function resolveConfig(layers: ConfigLayer[]): WiretraceConfig {
  return resolveConfigWithOrigins(layers).config;
}

/** Dotted paths of every leaf: scalars, lists of scalars, empty mappings; list items that are mappings are walked. */
export function leafPaths(value: unknown, path: string): string[] {
  const out: string[] = [];
  const visit = (v: unknown, p: string): void => {
    if (isPlainObject(v) && Object.keys(v).length > 0) for (const [k, child] of Object.entries(v)) visit(child, join(p, k));
    else if (Array.isArray(v) && v.some(isPlainObject)) v.forEach((child, i) => visit(child, join(p, i)));
    else out.push(p);
  };
  visit(value, path);
  return out;
}
