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
