import { hostname } from 'node:os';
import {
  context as contextApi,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  trace,
  type Context,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createExporters } from '../export/factory.js';
import type { SpanFanout } from '../export/fanout.js';
import type { DropReason, ExportQueueCounters } from '../export/queue.js';
import { Stats } from '../model/stats.js';
import { VERSION } from '../version.js';
import { exporterEntries, parseSdkConfig, type SdkConfig, type SdkConfigInput } from './config.js';
import { sdkConfigFromEnv, type Env } from './env.js';
import { createPropagator, extractFrom, injectInto, type Carrier } from './propagation.js';

/** The scope name of the spans the SDK's own middleware and helpers make. */
export const SDK_SCOPE = 'wiretrace-sdk';

/**
 * Every ended span goes to the agent's exporters, each behind its own
 * ExportQueue (src/export/queue.ts), rather than OpenTelemetry's
 * BatchSpanProcessor: the queue counts every span it drops, by reason
 * (queue-full, retries-exhausted, rejected, shutdown-deadline), retries with
 * one budget and backoff, and keeps one slow receiver from costing the
 * others; BatchSpanProcessor drops at its limit with a debug log only.
 */
class FanoutSpanProcessor implements SpanProcessor {
  readonly #fanout: SpanFanout;
  readonly #deadlineMs: number;
  /** Reused so that ending a span allocates nothing here; offer copies the span into the queue's ring. */
  readonly #one: ReadableSpan[] = [];

  constructor(fanout: SpanFanout, deadlineMs: number) {
    this.#fanout = fanout;
    this.#deadlineMs = deadlineMs;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & 1) === 0) return;
    this.#one[0] = span;
    this.#fanout.offer(this.#one);
    this.#one.length = 0;
  }

  forceFlush(): Promise<void> {
    return this.#fanout.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#fanout.shutdown(this.#deadlineMs);
  }
}

export interface CreateTracingOptions {
  /** Environment overlay (OTEL_*, WIRETRACE_SDK_*); process.env by default, false to ignore the environment. */
  env?: Env | false;
  /** Install the tracer provider, context manager and propagator as OpenTelemetry's globals (default true). */
  registerGlobal?: boolean;
  /** Where drops are also counted, under drops 'exporter:<name>:<reason>'. */
  stats?: Stats;
  /** Told when spans are dropped, once per exporter and reason; by default a process warning. */
  onDrop?: (exporter: string, reason: DropReason, count: number) => void;
}

/** The handle `createTracing` returns. */
export interface Tracing {
  readonly config: SdkConfig;
  readonly propagator: TextMapPropagator;
  /** A tracer of this service; a no-op tracer when disabled. */
  tracer(name: string, version?: string): Tracer;
  isEnabled(): boolean;
  /** Resolves when every span ended so far has been exported or dropped (counted). */
  forceFlush(): Promise<void>;
  /** Flushes within exportTimeoutMillis and stops; spans ended afterwards are counted 'after-shutdown'. */
  shutdown(): Promise<void>;
  /** Per exporter: spans accepted, exported, dropped by reason, failures. */
  exportCounters(): ExportQueueCounters[];
  /** Writes the active (or given) context into headers: Node header objects, fetch Headers, message header maps. */
  inject(carrier: Carrier, ctx?: Context): void;
  /** The context headers carry, on top of `base` (the root context by default). */
  extract(carrier: Carrier | undefined | null, base?: Context): Context;
}

/** What middleware and helpers use, read once per call from the current handle. */
export interface Instrumentation {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
}

const noopProvider = new ProxyTracerProvider();
const noopPropagator = createPropagator([]);
const DISABLED: Instrumentation = { enabled: false, tracer: noopProvider.getTracer(SDK_SCOPE), propagator: noopPropagator };

let current: Instrumentation = DISABLED;

/** The instrumentation of the last handle created (and not shut down); disabled before any. */
export function currentInstrumentation(): Instrumentation {
  return current;
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function overlay(base: Plain, top: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(top)) out[key] = isPlain(out[key]) && isPlain(value) ? overlay(out[key] as Plain, value) : value;
  return out;
}

/** Settings in force: the given config, then the environment over it (as the agent's env overrides its config file). */
export function resolveSdkConfig(input: SdkConfigInput = {}, env: Env | false = process.env): SdkConfig {
  if (env === false) return parseSdkConfig(input);
  const layer = sdkConfigFromEnv(env);
  return parseSdkConfig(overlay(input as Plain, layer.values), layer.origins);
}

function samplerFor(rate: number): Sampler {
  const root = rate >= 1 ? new AlwaysOnSampler() : rate <= 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(rate);
  return new ParentBasedSampler({ root });
}

let contextManagerInstalled = false;

function installContextManager(): void {
  if (contextManagerInstalled) return;
  // false when another context manager is already global (an app that set up OpenTelemetry itself): that one serves.
  contextApi.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextManagerInstalled = true;
}

class DisabledTracing implements Tracing {
  readonly config: SdkConfig;
  readonly propagator = noopPropagator;
  constructor(config: SdkConfig) {
    this.config = config;
  }
  tracer(name: string, version?: string): Tracer {
    return noopProvider.getTracer(name, version);
  }
  isEnabled(): boolean {
    return false;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
  exportCounters(): ExportQueueCounters[] {
    return [];
  }
  inject(): void {}
  extract(_carrier: Carrier | undefined | null, base: Context = ROOT_CONTEXT): Context {
    return base;
  }
}

class EnabledTracing implements Tracing {
  readonly config: SdkConfig;
  readonly propagator: TextMapPropagator;
  readonly instrumentation: Instrumentation;
  readonly #provider: BasicTracerProvider;
  readonly #fanout: SpanFanout;
  readonly #stats: Stats;
  readonly #onDrop: (exporter: string, reason: DropReason, count: number) => void;
  #shutdown: Promise<void> | undefined;

  constructor(config: SdkConfig, options: CreateTracingOptions) {
    this.config = config;
    this.#stats = options.stats ?? new Stats();
    this.#onDrop =
      options.onDrop ??
      ((exporter, reason, count) => process.emitWarning(`wiretrace sdk: exporter ${exporter} dropped ${count} span(s): ${reason}`, { code: 'WIRETRACE_SPANS_DROPPED' }));
    const { fanout } = createExporters(exporterEntries(config), { stats: this.#stats });
    this.#fanout = fanout;
    this.propagator = createPropagator(config.propagators);
    const resource = resourceFromAttributes({
      'host.name': hostname(),
      'process.pid': process.pid,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.distro.name': 'wiretrace',
      'telemetry.distro.version': VERSION,
      ...config.resourceAttributes,
      'service.name': config.serviceName ?? 'unknown_service:node',
      'service.version': config.serviceVersion,
      'deployment.environment.name': config.environment,
    });
    this.#provider = new BasicTracerProvider({
      resource,
      sampler: samplerFor(config.samplingRate),
      spanProcessors: [new FanoutSpanProcessor(fanout, config.exportTimeoutMillis)],
    });
    this.instrumentation = { enabled: true, tracer: this.#provider.getTracer(SDK_SCOPE, VERSION), propagator: this.propagator };
  }

  tracer(name: string, version?: string): Tracer {
    return this.#provider.getTracer(name, version);
  }

  isEnabled(): boolean {
    return this.#shutdown === undefined;
  }

  registerGlobal(): void {
    installContextManager();
    trace.setGlobalTracerProvider(this.#provider);
    propagation.setGlobalPropagator(this.propagator);
  }

  forceFlush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      if (current === this.instrumentation) current = DISABLED;
      await this.#provider.shutdown();
      for (const counters of this.#fanout.counters()) {
        for (const [reason, count] of Object.entries(counters.dropped)) if (count > 0) this.#onDrop(counters.exporter, reason as DropReason, count);
      }
    })();
    return this.#shutdown;
  }

  exportCounters(): ExportQueueCounters[] {
    return this.#fanout.counters();
  }

  inject(carrier: Carrier, ctx?: Context): void {
    injectInto(this.propagator, carrier, ctx);
  }

  extract(carrier: Carrier | undefined | null, base: Context = ROOT_CONTEXT): Context {
    return extractFrom(this.propagator, carrier, base);
  }
}

/**
 * One call: settings (given config, environment over it) validated, the
 * agent's exporters behind their queues, a parent-based sampler, the
 * propagators, and the OpenTelemetry globals installed. Throws a
 * WiretraceError (WT_ERR_CONFIG) naming every bad setting. Disabled, it
 * returns a handle whose tracers are no-ops and installs nothing.
 */
export function createTracing(config: SdkConfigInput = {}, options: CreateTracingOptions = {}): Tracing {
  const resolved = resolveSdkConfig(config, options.env ?? process.env);
  if (!resolved.enabled) {
    current = DISABLED;
    return new DisabledTracing(resolved);
  }
  const tracing = new EnabledTracing(resolved, options);
  if (options.registerGlobal !== false) tracing.registerGlobal();
  else installContextManager();
  current = tracing.instrumentation;
  return tracing;
}
