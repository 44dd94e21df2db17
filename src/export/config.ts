import { z } from 'zod';

/**
 * Where spans go: a list of exporters, every span to each of them. Each
 * entry has its own bounded queue, batcher and retry budget, so that one
 * slow receiver costs only its own spans.
 */

export const exportQueueSchema = z
  .strictObject({
    /** Spans per export request. */
    maxExportBatchSize: z.number().int().positive().default(512),
    /** How long a partial batch waits for more spans before it is sent anyway. */
    scheduledDelayMillis: z.number().int().nonnegative().default(5000),
    /** Spans waiting to be sent; beyond it new spans are dropped (counted 'queue-full'). */
    maxQueueSize: z.number().int().positive().default(2048),
    /** One export attempt; past it the attempt counts as failed and retryable. */
    exportTimeoutMillis: z.number().int().positive().default(30_000),
  })
  .prefault({})
  .refine((q) => q.maxExportBatchSize <= q.maxQueueSize, { message: 'maxExportBatchSize must not exceed maxQueueSize' });

export const exportRetrySchema = z
  .strictObject({
    /** Cap of the first backoff; each retry doubles the cap, the wait is drawn uniformly below it (full jitter). */
    initialBackoffMs: z.number().int().nonnegative().default(1000),
    maxBackoffMs: z.number().int().nonnegative().default(30_000),
    /** Attempts per batch, the first one included (1 turns retrying off). */
    maxAttempts: z.number().int().positive().default(5),
    /** Time from a batch's first attempt after which it is not tried again (counted 'retries-exhausted'). */
    maxElapsedMs: z.number().int().positive().default(120_000),
  })
  .prefault({})
  .refine((r) => r.initialBackoffMs <= r.maxBackoffMs, { message: 'initialBackoffMs must not exceed maxBackoffMs' });

export const exportTlsSchema = z
  .strictObject({
    /** gRPC only: plaintext even for an https endpoint (HTTP exporters follow the endpoint's scheme). */
    insecure: z.boolean().default(false),
    /** PEM file of the CA(s) that sign the receiver's certificate. */
    caFile: z.string().min(1).optional(),
    /** PEM client certificate and key, for receivers that ask for mutual TLS. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Set to false to accept any server certificate. An explicit opt-out, for test receivers only. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .prefault({})
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'certFile and keyFile go together' });

const common = {
  /** Names the exporter in counters and messages; defaults to its type (numbered when repeated). */
  name: z.string().min(1).optional(),
  queue: exportQueueSchema,
  retry: exportRetrySchema,
};

const network = {
  ...common,
  headers: z.record(z.string(), z.string()).default({}),
  compression: z.enum(['none', 'gzip']).default('none'),
  tls: exportTlsSchema,
};

export const otlpGrpcExporterSchema = z
  .strictObject({
    type: z.literal('otlp-grpc'),
    /** http:// is plaintext, https:// is TLS. */
    endpoint: z.url().default('http://localhost:4317'),
    ...network,
  })
  .refine((e) => e.tls.rejectUnauthorized, {
    message: 'otlp-grpc cannot skip certificate verification (grpc-js has no such switch); give tls.caFile instead',
    path: ['tls', 'rejectUnauthorized'],
  });

export const otlpHttpExporterSchema = z.strictObject({
  type: z.literal('otlp-http'),
  /** The full URL spans are POSTed to, path included. */
  endpoint: z.url().default('http://localhost:4318/v1/traces'),
  protocol: z.enum(['protobuf', 'json']).default('protobuf'),
  ...network,
});

export const jaegerExporterSchema = z.strictObject({
  type: z.literal('jaeger'),
  /** The collector's Thrift-over-HTTP endpoint. */
  endpoint: z.url().default('http://localhost:14268/api/traces'),
  ...network,
});

export const zipkinExporterSchema = z.strictObject({
  type: z.literal('zipkin'),
  endpoint: z.url().default('http://localhost:9411/api/v2/spans'),
  ...network,
});

export const splunkExporterSchema = z.strictObject({
  type: z.literal('splunk'),
  endpoint: z.url().default('https://localhost:8088/services/collector'),
  /** HEC token, sent as `Authorization: Splunk <token>`. */
  token: z.string().min(1),
  index: z.string().min(1).optional(),
  source: z.string().min(1).default('wiretrace'),
  sourcetype: z.string().min(1).default('otel:span'),
  /** Event host; omitted when unset (HEC then uses the sender's address). */
  host: z.string().min(1).optional(),
  ...network,
});

export const consoleExporterSchema = z.strictObject({
  type: z.literal('console'),
  stream: z.enum(['stdout', 'stderr']).default('stdout'),
  ...common,
});

export const fileExporterSchema = z.strictObject({
  type: z.literal('file'),
  /** OTLP/JSON lines, one ExportTraceServiceRequest per line. */
  path: z.string().min(1),
  ...common,
});

export const exporterSchema = z.discriminatedUnion('type', [
  otlpGrpcExporterSchema,
  otlpHttpExporterSchema,
  jaegerExporterSchema,
  zipkinExporterSchema,
  splunkExporterSchema,
  consoleExporterSchema,
  fileExporterSchema,
]);

export const exportersSchema = z.array(exporterSchema).default([]);

export type ExporterConfig = z.output<typeof exporterSchema>;
export type ExporterConfigInput = z.input<typeof exporterSchema>;
export type ExportQueueConfig = z.output<typeof exportQueueSchema>;
export type ExportRetryConfig = z.output<typeof exportRetrySchema>;
export type ExportTlsConfig = z.output<typeof exportTlsSchema>;
