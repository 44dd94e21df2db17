import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { WiretraceError } from '../errors.js';
import type { ExportTlsConfig } from './config.js';

type GrpcExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

export interface OtlpGrpcExporterOptions {
  endpoint: string;
  headers: Record<string, string>;
  compression: 'none' | 'gzip';
  timeoutMs: number;
  tls: ExportTlsConfig;
}

function pem(path: string | undefined, what: string): Buffer | null {
  if (path === undefined) return null;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new WiretraceError('WT_ERR_CONFIG', `cannot read the exporter's TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

function channelCredentials(endpoint: string, tls: ExportTlsConfig): ChannelCredentials {
  if (tls.insecure || endpoint.startsWith('http://')) return credentials.createInsecure();
  return credentials.createSsl(pem(tls.caFile, 'CA file'), pem(tls.keyFile, 'key'), pem(tls.certFile, 'certificate'));
}

/**
 * OTLP over gRPC: the OpenTelemetry exporter itself. It does not retry on
 * its own (its delegate has no retrying transport), and fails with the
 * grpc-js ServiceError, which failure.ts classifies by status code — so the
 * ExportQueue in front of it is the one retry layer.
 */
export function createOtlpGrpcExporter(options: OtlpGrpcExporterOptions): OTLPTraceExporter {
  const metadata = new Metadata();
  for (const [name, value] of Object.entries(options.headers)) metadata.set(name, value);
  const config: GrpcExporterConfig = {
    url: options.endpoint,
    credentials: channelCredentials(options.endpoint, options.tls),
    metadata,
    compression: options.compression as GrpcExporterConfig['compression'],
    timeoutMillis: options.timeoutMs,
  };
  return new OTLPTraceExporter(config);
}
