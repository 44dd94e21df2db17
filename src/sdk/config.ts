import { z } from 'zod';
import { WiretraceError } from '../errors.js';
import { exportQueueSchema, exporterSchema, type ExporterConfig, type ExporterConfigInput } from '../export/config.js';

/**
 * The SDK's settings. Exporters are the agent's (src/export/config.ts): an
 * entry is either a bare name, expanded here with the SDK's endpoints and
 * queue settings, or a full agent exporter entry. Endpoint and queue
 * defaults are read from the agent's schema, not repeated.
 */

export const SDK_EXPORTER_NAMES = ['otlp-grpc', 'otlp-http', 'jaeger', 'zipkin', 'splunk', 'console', 'none'] as const;
export type SdkExporterName = (typeof SDK_EXPORTER_NAMES)[number];

/** OTEL_PROPAGATORS names, plus 'splunk' for X-Request-ID / X-Span-ID. */
export const PROPAGATOR_NAMES = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'splunk', 'none'] as const;
export type PropagatorName = (typeof PROPAGATOR_NAMES)[number];

const QUEUE_DEFAULTS = exportQueueSchema.parse(undefined);

const resourceValue = z.union([z.string(), z.number(), z.boolean()]);

export const sdkConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** service.name; required when enabled. */
    serviceName: z.string().min(1).optional(),
    serviceVersion: z.string().min(1).default('1.0.0'),
    /** deployment.environment.name */
    environment: z.string().min(1).default('development'),
    exporters: z
      .preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.union([z.enum(SDK_EXPORTER_NAMES), exporterSchema])))
      .default(['console']),
    /** Endpoints of the exporters given by name; unset ones take the agent's defaults (OTLP gRPC http://localhost:4317, Jaeger http://localhost:14268/api/traces, ...). */
    endpoints: z
      .strictObject({
        otlpGrpc: z.url().optional(),
        otlpHttp: z.url().optional(),
        jaeger: z.url().optional(),
        zipkin: z.url().optional(),
        splunk: z.url().optional(),
      })
      .prefault({}),
    /** Body encoding of otlp-http given by name. */
    otlpHttpProtocol: z.enum(['protobuf', 'json']).default('protobuf'),
    /** Extra request headers of the network exporters given by name (OTEL_EXPORTER_OTLP_HEADERS). */
    headers: z.record(z.string(), z.string()).default({}),
    /** HEC token of the splunk exporter given by name. */
    splunkToken: z.string().min(1).optional(),
    /** Fraction of new traces sampled; a parent's decision is always followed. */
    samplingRate: z.number().min(0).max(1).default(1),
    maxExportBatchSize: z.number().int().positive().default(QUEUE_DEFAULTS.maxExportBatchSize),
    maxQueueSize: z.number().int().positive().default(QUEUE_DEFAULTS.maxQueueSize),
    exportTimeoutMillis: z.number().int().positive().default(QUEUE_DEFAULTS.exportTimeoutMillis),
    scheduledDelayMillis: z.number().int().nonnegative().default(QUEUE_DEFAULTS.scheduledDelayMillis),
    /** Added to every span's resource. */
    resourceAttributes: z.record(z.string(), resourceValue).default({}),
    propagators: z
      .preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.enum(PROPAGATOR_NAMES)))
      .default(['tracecontext', 'baggage']),
  })
  .superRefine((c, ctx) => {
    for (const problem of crossFieldProblems(c)) ctx.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
  });

interface Problem {
  path: string;
  message: string;
}

/**
 * Checks across fields. Also run on the raw input when other fields fail,
 * since the schema skips refinements then and the message is to hold every
 * problem at once.
 */
function crossFieldProblems(c: Record<string, unknown>): Problem[] {
  const out: Problem[] = [];
  if (c.enabled === true && c.serviceName === undefined) out.push({ path: 'serviceName', message: 'is required when tracing is enabled' });
  const batch = typeof c.maxExportBatchSize === 'number' ? c.maxExportBatchSize : QUEUE_DEFAULTS.maxExportBatchSize;
  const queue = typeof c.maxQueueSize === 'number' ? c.maxQueueSize : QUEUE_DEFAULTS.maxQueueSize;
  if (batch > queue) out.push({ path: 'maxExportBatchSize', message: `must not exceed maxQueueSize (${queue})` });
  const exporters = Array.isArray(c.exporters) ? c.exporters : typeof c.exporters === 'string' ? [c.exporters] : [];
  if (exporters.includes('splunk') && c.splunkToken === undefined) out.push({ path: 'splunkToken', message: 'is required by the splunk exporter' });
  return out;
}

export type SdkConfig = z.output<typeof sdkConfigSchema>;
export type SdkConfigInput = z.input<typeof sdkConfigSchema>;

/** The defaults, with the service named: `createTracing({ ...defaultConfig('checkout'), enabled: true })`. */
export function defaultConfig(serviceName: string): SdkConfig {
  return sdkConfigSchema.parse({ serviceName });
}

/**
 * Validates settings; every problem in one WT_ERR_CONFIG message, each line
 * naming the setting (or the environment variable it came from).
 */
export function parseSdkConfig(input: unknown, origins?: ReadonlyMap<string, string>): SdkConfig {
  const result = sdkConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const issues: Array<{ path: PropertyKey[]; message: string }> = [...result.error.issues];
  if (typeof input === 'object' && input !== null) {
    for (const p of crossFieldProblems(input as Record<string, unknown>)) {
      if (!issues.some((i) => i.path[0] === p.path)) issues.push({ path: [p.path], message: p.message });
    }
  }
  const lines = issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const top = path.split('.')[0];
    const origin = origins?.get(path) ?? origins?.get(top);
    const where = origin ? `${path} (from ${origin})` : path || 'configuration';
    return `  ${where}: ${issue.message}`;
  });
  throw new WiretraceError('WT_ERR_CONFIG', `wiretrace sdk: invalid configuration:\n${lines.join('\n')}`);
}

/** The agent exporter entries this config stands for (bare names expanded; 'none' is no exporter). */
export function exporterEntries(config: SdkConfig): ExporterConfig[] {
  const queue = {
    maxExportBatchSize: config.maxExportBatchSize,
    maxQueueSize: config.maxQueueSize,
    exportTimeoutMillis: config.exportTimeoutMillis,
    scheduledDelayMillis: config.scheduledDelayMillis,
  };
  const out: ExporterConfig[] = [];
  for (const entry of config.exporters) {
    if (typeof entry !== 'string') {
      out.push(entry);
      continue;
    }
    let input: ExporterConfigInput;
    switch (entry) {
      case 'none':
        continue;
      case 'console':
        input = { type: 'console', queue };
        break;
      case 'otlp-grpc':
        input = { type: 'otlp-grpc', endpoint: config.endpoints.otlpGrpc, headers: config.headers, queue };
        break;
      case 'otlp-http':
        input = { type: 'otlp-http', endpoint: config.endpoints.otlpHttp, protocol: config.otlpHttpProtocol, headers: config.headers, queue };
        break;
      case 'jaeger':
        input = { type: 'jaeger', endpoint: config.endpoints.jaeger, headers: config.headers, queue };
        break;
      case 'zipkin':
        input = { type: 'zipkin', endpoint: config.endpoints.zipkin, headers: config.headers, queue };
        break;
      case 'splunk':
        input = { type: 'splunk', endpoint: config.endpoints.splunk, token: config.splunkToken ?? '', headers: config.headers, queue };
        break;
    }
    out.push(exporterSchema.parse(input));
  }
  return out;
}
