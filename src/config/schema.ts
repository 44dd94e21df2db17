import { z } from 'zod';
import { exportersSchema } from '../export/config.js';

/**
 * One schema for everything the agent does. Every limit lives here, so that
 * every drop at a limit can name the setting that caused it.
 */
export const serviceMappingSchema = z.strictObject({
  /** An address ("10.0.0.5", "::1"), address:port ("10.0.0.5:8080", "[::1]:80") or CIDR ("10.0.0.0/8"). */
  match: z.string().min(1),
  name: z.string().min(1),
});

export const configSchema = z
  .strictObject({
    limits: z
      .strictObject({
        /** Connections tracked at once; beyond it the least recently active is evicted (counted). */
        maxConnections: z.number().int().positive().default(100_000),
        /** Out-of-order bytes buffered per connection direction; beyond it a gap is declared (counted). */
        maxBufferedBytesPerStream: z.number().int().positive().default(1 << 20),
        /** Start line + headers of one HTTP message; beyond it the message is a parse error (counted). */
        maxHeaderBytes: z.number().int().positive().default(64 * 1024),
        /** Requests awaiting a response on one connection; beyond it the oldest becomes incomplete (counted). */
        maxPendingRequestsPerConnection: z.number().int().positive().default(1024),
        /** Completed exchanges held for linking; beyond it the oldest are emitted early (counted). */
        maxHeldExchanges: z.number().int().positive().default(200_000),
        /** Seconds of capture time after which a silent connection is forgotten. */
        connectionIdleSeconds: z.number().positive().default(300),
      })
      .prefault({}),
    spans: z
      .strictObject({
        /** Seconds (capture time) a request waits for its response before it ends as an error "timeout". */
        timeoutSeconds: z.number().positive().default(30),
        /** Emit a CLIENT span for each exchange as well as the SERVER span. */
        clientSpans: z.boolean().default(true),
        /** Drop spans of responses whose request was not captured. */
        dropOrphans: z.boolean().default(false),
        /** Seconds (capture time) a finished exchange waits for the server span that encloses it. */
        linkWindowSeconds: z.number().positive().default(30),
        /** Request and response headers (lowercase names) recorded as attributes. */
        recordRequestHeaders: z.array(z.string()).default(['user-agent', 'content-type']),
        recordResponseHeaders: z.array(z.string()).default(['content-type']),
      })
      .prefault({}),
    /** Route templates, e.g. "/api/users/:id" or "/files/*". First match wins. */
    routes: z.array(z.string().startsWith('/')).default([]),
    services: z
      .strictObject({
        mappings: z.array(serviceMappingSchema).default([]),
      })
      .prefault({}),
    filters: z
      .strictObject({
        /** Glob patterns over the URL path; matching exchanges produce no spans. */
        excludePaths: z.array(z.string()).default([]),
        /** Only connections with one of these ports at either end (empty: all). */
        includePorts: z.array(z.number().int().min(1).max(65535)).default([]),
        excludePorts: z.array(z.number().int().min(1).max(65535)).default([]),
      })
      .prefault({}),
    /** Where spans go besides --output: every span to each exporter (src/export/config.ts). */
    exporters: exportersSchema,
    /** Which traces are kept (src/process/sampling.ts). */
    sampling: z
      .strictObject({
        /** The OTEL_TRACES_SAMPLER names. */
        sampler: z
          .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
          .default('always_on'),
        /** Fraction of traces kept by the ratio samplers, as OpenTelemetry's TraceIdRatioBased decides it. */
        ratio: z.number().min(0).max(1).default(1),
        /** Keep a trace holding an error span whatever the sampler says (marked as kept by rule). */
        keepErrors: z.boolean().default(true),
        /** Keep a trace holding a span at least this slow (ms) whatever the sampler says; 0 turns the rule off. */
        keepSlowerThanMs: z.number().nonnegative().default(0),
        /** Traces whose propagated sampled flag or keep rule is remembered, so their later batches agree; the oldest are forgotten (counted). */
        maxRememberedTraces: z.number().int().positive().default(100_000),
      })
      .prefault({}),
    /** Resource attributes added to every span's resource (OTEL_RESOURCE_ATTRIBUTES adds here). */
    resource: z
      .strictObject({
        attributes: z.record(z.string(), z.string()).default({}),
        /** Add host.name of the machine wiretrace runs on (live capture). */
        hostName: z.boolean().default(true),
      })
      .prefault({}),
    /** Live capture (`wiretrace capture`). */
    capture: z
      .strictObject({
        interface: z.string().min(1).default('any'),
        /** BPF filter handed to tcpdump. */
        filter: z.string().default(''),
        snaplen: z.number().int().min(64).max(262_144).default(262_144),
        tcpdumpPath: z.string().min(1).default('tcpdump'),
        /** Name services by the local process that owns each socket (/proc). */
        processEnrichment: z.boolean().default(true),
      })
      .prefault({}),
    /** The agent watching itself: metrics, health, logs. */
    observe: z
      .strictObject({
        /** Serve Prometheus text at /metrics and /healthz on this port; 0 serves nothing. */
        metricsPort: z.number().int().min(0).max(65535).default(0),
        metricsHost: z.string().min(1).default('127.0.0.1'),
        /** /healthz answers 503 when more requests than this await a response. */
        maxAwaitingRequests: z.number().int().positive().default(10_000),
        /** /healthz answers 503 when an exporter has failed for longer than this. */
        exporterFailureSeconds: z.number().positive().default(60),
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** auto: readable on a terminal, JSON otherwise. */
        logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .prefault({}),
    /** The trace server (`wiretrace serve`, and `--serve` on analyze and capture): receivers, store, Jaeger API, web UI. */
    server: z
      .strictObject({
        /** Address every listener binds; 127.0.0.1 keeps the server on this machine. */
        host: z.string().min(1).default('127.0.0.1'),
        /** Listening ports; 0 picks a free port, -1 turns that listener off. */
        ports: z
          .strictObject({
            otlpGrpc: z.number().int().min(-1).max(65535).default(4317),
            otlpHttp: z.number().int().min(-1).max(65535).default(4318),
            zipkin: z.number().int().min(-1).max(65535).default(9411),
            jaegerThrift: z.number().int().min(-1).max(65535).default(14268),
            query: z.number().int().min(-1).max(65535).default(16686),
          })
          .prefault({}),
        /** When set, receivers and the query API require `Authorization: Bearer <token>`. */
        token: z.string().min(1).optional(),
        /** Directory of an embedded database (LMDB) that keeps traces across restarts; unset keeps them in memory only. */
        storage: z.string().min(1).optional(),
        /** Directory of the built web UI; unset serves the one shipped in dist/ui. */
        uiDir: z.string().min(1).optional(),
        limits: z
          .strictObject({
            /** Spans stored; beyond it the oldest traces are evicted (counted in drops 'server-max-spans'). */
            maxSpans: z.number().int().positive().default(1_000_000),
            /** Traces stored; beyond it the oldest are evicted (drops 'server-max-traces'). */
            maxTraces: z.number().int().positive().default(200_000),
            /** Seconds a trace is kept after its first span arrived; 0 keeps it until a count limit evicts it (drops 'server-max-age'). */
            maxAgeSeconds: z.number().nonnegative().default(0),
          })
          .prefault({}),
        /** Largest request body a receiver accepts, on the wire and decompressed; beyond it a 413. */
        maxBodyBytes: z.number().int().positive().default(16 * 1024 * 1024),
      })
      .prefault({}),
    redaction: z
      .strictObject({
        /** Query parameter names (case-insensitive substrings) whose values are replaced. */
        queryParams: z
          .array(z.string())
          .default(['token', 'password', 'passwd', 'secret', 'key', 'auth', 'signature', 'sig', 'credential', 'session', 'code']),
        /** Replacement text. */
        replacement: z.string().default('REDACTED'),
      })
      .prefault({}),
  });

export type WiretraceConfig = z.output<typeof configSchema>;
export type WiretraceConfigInput = z.input<typeof configSchema>;
export type ServiceMapping = z.output<typeof serviceMappingSchema>;

export function defaultConfig(): WiretraceConfig {
  return configSchema.parse({});
}
