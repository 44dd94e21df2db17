import { createReadStream } from 'node:fs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { analyze } from '../../src/pipeline.js';
import { configSchema, type WiretraceConfig, type WiretraceConfigInput } from '../../src/config/schema.js';
import { Stats } from '../../src/model/stats.js';

export interface Analysis {
  spans: ReadableSpan[];
  stats: Stats;
  config: WiretraceConfig;
}

/** Runs the whole wire pipeline over a capture file in-process and keeps every span. */
export async function analyzeFile(path: string, config: WiretraceConfigInput = {}): Promise<Analysis> {
  const resolved = configSchema.parse(config);
  const spans: ReadableSpan[] = [];
  const stats = new Stats();
  await analyze(createReadStream(path), { config: resolved, stats, onSpans: (batch) => spans.push(...batch) });
  return { spans, stats, config: resolved };
}

export const SERVER = 1;
export const CLIENT = 2;

export function serviceOf(span: ReadableSpan): string {
  return String(span.resource.attributes['service.name']);
}
