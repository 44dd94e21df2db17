/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4),
 * for the tests: anything a Prometheus server would reject, or that breaks
 * the format's rules for a metric type, throws with the line number.
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (for a histogram: name_bucket, name_sum, name_count). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string | undefined;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// As Go's strconv.ParseFloat reads it (what Prometheus uses): special values in any case.
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity)|nan)$/i;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

class ExpositionError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

function parseFloatStrict(raw: string, line: number): number {
  if (!FLOAT.test(raw)) throw new ExpositionError(line, `"${raw}" is not a float`);
  const lower = raw.toLowerCase();
  if (lower.endsWith('inf') || lower.endsWith('infinity')) return lower.startsWith('-') ? -Infinity : Infinity;
  return lower === 'nan' ? NaN : Number(raw);
}

/** Reads `{a="x",b="y"}` from position i (at "{"); returns the labels and the position after "}". */
function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new ExpositionError(line, 'label without "="');
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new ExpositionError(line, `bad label name "${name}"`);
    if (name in labels) throw new ExpositionError(line, `label "${name}" twice`);
    if (text[eq + 1] !== '"') throw new ExpositionError(line, `label "${name}" value not quoted`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new ExpositionError(line, `label "${name}" value not closed`);
      if (c === '"') break;
      if (c === '\\') {
        const next = text[j + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new ExpositionError(line, `bad escape "\\${next}" in label "${name}"`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new ExpositionError(line, `expected "," or "}" after label "${name}"`);
  }
}

function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const family = families.get(sampleName.slice(0, -suffix.length));
    if (!family) continue;
    if (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket')) return family;
  }
  return undefined;
}

function seriesKey(name: string, labels: Record<string, string>, omit?: string): string {
  const keys = Object.keys(labels)
    .filter((k) => k !== omit)
    .sort();
  return `${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/** Checks the rules of each type that the grammar alone does not. */
function checkFamily(family: Family): void {
  for (const s of family.samples) {
    if (family.type === 'counter' && !(s.value >= 0)) throw new Error(`${family.name}: counter value ${s.value} is negative or NaN`);
    if (family.type === 'counter' || family.type === 'gauge') {
      if (s.name !== family.name) throw new Error(`${family.name}: sample ${s.name} does not belong to a ${family.type}`);
    }
  }
  if (family.type !== 'histogram') return;
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const key = seriesKey('', s.labels, 'le');
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { buckets: [] }));
    if (s.name === `${family.name}_bucket`) {
      if (s.labels.le === undefined) throw new Error(`${family.name}: bucket without le`);
      group.buckets.push([parseFloatStrict(s.labels.le, 0), s.value]);
    } else if (s.name === `${family.name}_sum`) group.sum = s.value;
    else if (s.name === `${family.name}_count`) group.count = s.value;
    else throw new Error(`${family.name}: sample ${s.name} does not belong to a histogram`);
  }
  for (const [key, group] of groups) {
    const { buckets } = group;
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i][0] > buckets[i - 1][0])) throw new Error(`${family.name}${key}: le not increasing`);
      if (buckets[i][1] < buckets[i - 1][1]) throw new Error(`${family.name}${key}: buckets not cumulative`);
    }
    const last = buckets[buckets.length - 1];
    if (!last || last[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
    if (group.count === undefined || group.sum === undefined) throw new Error(`${family.name}${key}: _sum or _count missing`);
    if (last[1] !== group.count) throw new Error(`${family.name}${key}: +Inf bucket ${last[1]} != _count ${group.count}`);
  }
}

export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a line feed');
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const typed = new Set<string>();
  let current: Family | undefined;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
      if (!m) return; // a plain comment
      const [, keyword, name, rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new ExpositionError(line, `bad metric name "${name}"`);
      let family = families.get(name);
      if (family && family !== current) throw new ExpositionError(line, `${name} appears again after other metrics`);
      if (!family) {
        family = { name, type: 'untyped', help: undefined, samples: [] };
        families.set(name, family);
        current = family;
      }
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new ExpositionError(line, `second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new ExpositionError(line, `bad escape in HELP of ${name}`);
        family.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        const type = rest.trim() as MetricType;
        if (!TYPES.has(type)) throw new ExpositionError(line, `unknown type "${rest}"`);
        if (family.samples.length) throw new ExpositionError(line, `TYPE of ${name} after its samples`);
        if (typed.has(name)) throw new ExpositionError(line, `second TYPE for ${name}`);
        typed.add(name);
        family.type = type;
      }
      return;
    }
    const nameEnd = raw.search(/[{\s]/);
    if (nameEnd <= 0) throw new ExpositionError(line, 'sample without a value');
    const name = raw.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new ExpositionError(line, `bad metric name "${name}"`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (raw[i] === '{') ({ labels, end: i } = parseLabels(raw, i, line));
    const fields = raw.slice(i).trim().split(/\s+/);
    if (raw[i] !== ' ' && raw[i] !== '\t') throw new ExpositionError(line, 'no space before the value');
    if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new ExpositionError(line, 'expected a value and an optional timestamp');
    const value = parseFloatStrict(fields[0], line);
    if (fields.length === 2 && !/^-?\d+$/.test(fields[1])) throw new ExpositionError(line, `bad timestamp "${fields[1]}"`);
    const family = familyOf(name, families);
    if (!family) throw new ExpositionError(line, `sample ${name} has no TYPE before it`);
    if (family !== current) throw new ExpositionError(line, `sample ${name} is not in its family's block`);
    const key = seriesKey(name, labels);
    if (series.has(key)) throw new ExpositionError(line, `series ${key} twice`);
    series.add(key);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) checkFamily(family);
  return families;
}

/** The value of one series; throws when absent, so a renamed metric fails the test. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels).filter((k) => s.labels[k] !== '');
      const wanted = Object.keys(labels).filter((k) => labels[k] !== '');
      if (keys.length === wanted.length && wanted.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  throw new Error(`no series ${name}${JSON.stringify(labels)}`);
}

/** Every series of a family as label sets → value. */
export function seriesOf(families: Map<string, Family>, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const family = families.get(name);
  if (!family) throw new Error(`no metric ${name}`);
  return family.samples.map((s) => ({ labels: s.labels, value: s.value }));
}
