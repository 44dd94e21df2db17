import { SpanStatusCode, TraceFlags, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { WiretraceConfig } from '../config/schema.js';
import type { Stats } from '../model/stats.js';
import { ATTR_WIRETRACE_CONTEXT_SOURCE } from './attributes.js';

/**
 * Which traces leave wiretrace. Decisions are per trace id and the same for
 * every batch of a trace:
 *
 * - `traceidratio` computes exactly what OpenTelemetry's
 *   TraceIdRatioBasedSampler computes from the trace id, so agents on many
 *   nodes and instrumented services keep or drop the same whole traces.
 * - `parentbased_*` follow the sampled flag a caller propagated (traceparent
 *   flags, B3 sampled, Jaeger flags; the wire pipeline puts it in each span's
 *   traceFlags). A trace whose spans carry no propagated context is a root:
 *   the root sampler decides. The first propagated flag seen for a trace is
 *   remembered, so a later batch of the same trace that holds only spans
 *   without context gets the same answer.
 * - Keep rules (an error span, a span at least `keepSlowerThanMs` long) keep
 *   a trace the sampler dropped, and mark its spans `wiretrace.sampling.rule`.
 *   They see the spans of the batch at hand: once a trace is kept by a rule,
 *   its later batches are kept (and marked) too, but batches already dropped
 *   before the error or slow span arrived stay dropped.
 *
 * What is remembered per trace is bounded (`sampling.maxRememberedTraces`);
 * the oldest memories are forgotten first, counted in
 * `stats.drops['sampling-memory']`.
 */

export const ATTR_WIRETRACE_SAMPLING_RULE = 'wiretrace.sampling.rule';

export type SamplingConfig = WiretraceConfig['sampling'];
export type KeepRule = 'error' | 'slow';

const TRACE_ID = /^[0-9a-f]{32}$/i;
const ZERO_TRACE_ID = '00000000000000000000000000000000';

/** OpenTelemetry's threshold for a ratio: trace ids whose accumulated value is below it are sampled. */
export function traceIdRatioUpperBound(ratio: number): number {
  const r = typeof ratio !== 'number' || Number.isNaN(ratio) ? 0 : ratio >= 1 ? 1 : ratio <= 0 ? 0 : ratio;
  return r === 1 ? 0x100000000 : Math.floor(r * 0xffffffff);
}

/** The four 32-bit words of the trace id XORed together, as OpenTelemetry JS computes it. */
export function traceIdAccumulate(traceId: string): number {
  let accumulation = 0;
  for (let i = 0; i < 32; i += 8) {
    let part = 0;
    for (let j = 0; j < 8; j++) {
      const c = traceId.charCodeAt(i + j);
      const v = c < 58 ? c - 48 : c < 71 ? c - 55 : c - 87;
      part = (part << 4) | v;
    }
    accumulation = (accumulation ^ part) >>> 0;
  }
  return accumulation;
}

/** The TraceIdRatioBasedSampler decision for one trace id. */
export function traceIdRatioSampled(traceId: string, upperBound: number): boolean {
  return TRACE_ID.test(traceId) && traceId !== ZERO_TRACE_ID && traceIdAccumulate(traceId) < upperBound;
}

interface TraceMemory {
  /** The sampled flag the trace's caller propagated. */
  parentSampled?: boolean;
  rule?: KeepRule;
}

export interface TraceSamplerOptions {
  /** Traces whose propagated flag or keep rule is remembered; default `sampling.maxRememberedTraces`. */
  maxRememberedTraces?: number;
}

export class TraceSampler {
  readonly #root: 'on' | 'off' | 'ratio';
  readonly #parentBased: boolean;
  readonly #upperBound: number;
  readonly #keepErrors: boolean;
  readonly #keepSlowerThanNs: number;
  readonly #stats: Stats;
  readonly #memory = new Map<string, TraceMemory>();
  readonly #maxRemembered: number;

  constructor(config: SamplingConfig, stats: Stats, options: TraceSamplerOptions = {}) {
    const sampler = config.sampler;
    this.#parentBased = sampler.startsWith('parentbased_');
    const root = this.#parentBased ? sampler.slice('parentbased_'.length) : sampler;
    this.#root = root === 'always_on' ? 'on' : root === 'always_off' ? 'off' : 'ratio';
    this.#upperBound = traceIdRatioUpperBound(config.ratio);
    this.#keepErrors = config.keepErrors;
    this.#keepSlowerThanNs = config.keepSlowerThanMs > 0 ? config.keepSlowerThanMs * 1e6 : Infinity;
    this.#stats = stats;
    this.#maxRemembered = Math.max(1, options.maxRememberedTraces ?? config.maxRememberedTraces ?? 100_000);
  }

  /** Whether this configuration can drop anything at all (if not, `filter` is the identity). */
  get dropsNothing(): boolean {
    return this.#root === 'on' && !this.#parentBased;
  }

  /** The spans of the batch that are kept; spans kept by a rule are marked. Counts the rest as 'sampled-out'. */
  filter(spans: ReadableSpan[]): ReadableSpan[] {
    if (this.dropsNothing || spans.length === 0) return spans;
    const byTrace = new Map<string, ReadableSpan[]>();
    for (const span of spans) {
      const traceId = span.spanContext().traceId;
      const group = byTrace.get(traceId);
      if (group) group.push(span);
      else byTrace.set(traceId, [span]);
    }
    const dropped = new Set<string>();
    for (const [traceId, group] of byTrace) {
      if (this.#decide(traceId, group)) continue;
      const rule = this.#rule(traceId, group);
      if (rule === undefined) {
        dropped.add(traceId);
        continue;
      }
      for (const span of group) (span.attributes as Attributes)[ATTR_WIRETRACE_SAMPLING_RULE] = rule;
    }
    if (dropped.size === 0) return spans;
    const kept = spans.filter((s) => !dropped.has(s.spanContext().traceId));
    this.#stats.spans.add('sampled-out', spans.length - kept.length);
    return kept;
  }

  #decide(traceId: string, group: ReadableSpan[]): boolean {
    if (this.#parentBased) {
      const parent = this.#parentSampled(traceId, group);
      if (parent !== undefined) return parent;
    }
    return this.#root === 'on' ? true : this.#root === 'off' ? false : traceIdRatioSampled(traceId, this.#upperBound);
  }

  /** The propagated flag: of the earliest span that carried context in, else what an earlier batch saw. */
  #parentSampled(traceId: string, group: ReadableSpan[]): boolean | undefined {
    let entry: ReadableSpan | undefined;
    for (const span of group) {
      if (span.attributes[ATTR_WIRETRACE_CONTEXT_SOURCE] === undefined) continue;
      if (entry === undefined || earlier(span, entry)) entry = span;
    }
    const memory = this.#memory.get(traceId);
    if (memory?.parentSampled !== undefined) return memory.parentSampled;
    if (entry === undefined) return undefined;
    const sampled = (entry.spanContext().traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
    this.#remember(traceId).parentSampled = sampled;
    return sampled;
  }

  #rule(traceId: string, group: ReadableSpan[]): KeepRule | undefined {
    let rule: KeepRule | undefined;
    for (const span of group) {
      if (this.#keepErrors && span.status.code === SpanStatusCode.ERROR) {
        rule = 'error';
        break;
      }
      if (rule === undefined && span.duration[0] * 1e9 + span.duration[1] >= this.#keepSlowerThanNs) rule = 'slow';
    }
    const memory = this.#memory.get(traceId);
    if (rule === undefined) return memory?.rule;
    if (memory?.rule === undefined) this.#remember(traceId).rule = rule;
    return memory?.rule ?? rule;
  }

  #remember(traceId: string): TraceMemory {
    let memory = this.#memory.get(traceId);
    if (memory) return memory;
    if (this.#memory.size >= this.#maxRemembered) {
      const oldest = this.#memory.keys().next().value as string;
      this.#memory.delete(oldest);
      this.#stats.drops.add('sampling-memory');
    }
    memory = {};
    this.#memory.set(traceId, memory);
    return memory;
  }
}

function earlier(a: ReadableSpan, b: ReadableSpan): boolean {
  return a.startTime[0] < b.startTime[0] || (a.startTime[0] === b.startTime[0] && a.startTime[1] < b.startTime[1]);
}
