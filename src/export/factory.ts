import type { Writable } from 'node:stream';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { z } from 'zod';
import type { exportersSchema, ExporterConfig } from './config.js';
import { ConsoleSpanExporter } from './console.js';
import { SpanFanout } from './fanout.js';
import type { HttpSenderOptions } from './http-sender.js';
import { JaegerThriftExporter } from './jaeger-thrift.js';
import { OtlpJsonLinesExporter } from './otlp-json-file.js';
import { createOtlpGrpcExporter } from './otlp-grpc.js';
import { OtlpHttpSpanExporter } from './otlp-http.js';
import { ExportQueue, type ExportQueueDeps } from './queue.js';
import { SplunkHecExporter } from './splunk-hec.js';
import { ZipkinHttpExporter } from './zipkin.js';

export interface ExporterDeps extends ExportQueueDeps {
  /** Where the console exporter writes; process.stdout / process.stderr by default. */
  stdout?: Writable;
  stderr?: Writable;
}

function senderOptions(config: Extract<ExporterConfig, { endpoint: string }>): HttpSenderOptions {
  return {
    url: config.endpoint,
    headers: config.headers,
    compression: config.compression,
    timeoutMs: config.queue.exportTimeoutMillis,
    tls: config.tls,
  };
}

/** The SpanExporter for one configured entry, without its queue. */
export function createSpanExporter(config: ExporterConfig, deps: ExporterDeps = {}): SpanExporter {
  switch (config.type) {
    case 'otlp-grpc':
      return createOtlpGrpcExporter({
        endpoint: config.endpoint,
        headers: config.headers,
        compression: config.compression,
        timeoutMs: config.queue.exportTimeoutMillis,
        tls: config.tls,
      });
    case 'otlp-http':
      return new OtlpHttpSpanExporter({ ...senderOptions(config), protocol: config.protocol });
    case 'jaeger':
      return new JaegerThriftExporter(senderOptions(config));
    case 'zipkin':
      return new ZipkinHttpExporter(senderOptions(config));
    case 'splunk':
      return new SplunkHecExporter({
        ...senderOptions(config),
        token: config.token,
        source: config.source,
        sourcetype: config.sourcetype,
        index: config.index,
        host: config.host,
      });
    case 'console':
      return new ConsoleSpanExporter(config.stream === 'stderr' ? (deps.stderr ?? process.stderr) : (deps.stdout ?? process.stdout));
    case 'file':
      return new OtlpJsonLinesExporter(config.path);
  }
}

/** Names for counters: the configured name, else the type, numbered from the second of a type on. */
function exporterNames(configs: readonly ExporterConfig[]): string[] {
  const seen = new Map<string, number>();
  return configs.map((config) => {
    if (config.name) return config.name;
    const n = (seen.get(config.type) ?? 0) + 1;
    seen.set(config.type, n);
    return n === 1 ? config.type : `${config.type}-${n}`;
  });
}

/**
 * Builds every configured exporter behind its own ExportQueue and one
 * fanout over them. Throws WiretraceError (WT_ERR_CONFIG, WT_ERR_OUTPUT) for
 * what cannot work at all — an unreadable CA file, an unwritable output file —
 * before any span is read.
 */
export function createExporters(config: z.output<typeof exportersSchema>, deps: ExporterDeps = {}): { fanout: SpanFanout; queues: ExportQueue[] } {
  const names = exporterNames(config);
  const queues = config.map(
    (entry, i) => new ExportQueue(names[i], createSpanExporter(entry, deps), { queue: entry.queue, retry: entry.retry }, deps),
  );
  return { fanout: new SpanFanout(queues), queues };
}
