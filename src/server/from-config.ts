import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WiretraceConfig } from '../config/schema.js';
import type { Stats } from '../model/stats.js';
import { graphHandler } from './graph-endpoint.js';
import { TraceServer } from './server.js';

/** The web UI the package ships: dist/ui beside the compiled code (the same path from src/ under tsx). */
export function defaultUiDir(): string | undefined {
  const dir = fileURLToPath(new URL('../../dist/ui/', import.meta.url));
  return existsSync(dir) ? dir : undefined;
}

/** Starts the trace server as the `server` section of the configuration describes it. */
export function startTraceServer(server: WiretraceConfig['server'], stats?: Stats): Promise<TraceServer> {
  return TraceServer.start({
    host: server.host,
    ports: server.ports,
    token: server.token,
    storagePath: server.storage,
    limits: server.limits,
    maxBodyBytes: server.maxBodyBytes,
    uiDir: server.uiDir ?? defaultUiDir(),
    // The web UI's service map: /api/graph and /api/graph/traces (src/server/graph-endpoint.ts).
    apiRoutes: (store) => [graphHandler({ store })],
    stats,
  });
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** What the server listens on, one line per listener, for people. */
export function describeListeners(server: TraceServer): string {
  const p = server.ports();
  const h = hostForUrl(server.host);
  const lines: string[] = [];
  if (p.query !== undefined) lines.push(`  web UI and Jaeger API   http://${h}:${p.query}/`);
  if (p.otlpGrpc !== undefined) lines.push(`  OTLP gRPC               ${h}:${p.otlpGrpc}`);
  if (p.otlpHttp !== undefined) lines.push(`  OTLP HTTP               http://${h}:${p.otlpHttp}/v1/traces`);
  if (p.zipkin !== undefined) lines.push(`  Zipkin v2               http://${h}:${p.zipkin}/api/v2/spans`);
  if (p.jaegerThrift !== undefined) lines.push(`  Jaeger Thrift (HTTP)    http://${h}:${p.jaegerThrift}/api/traces`);
  return lines.join('\n');
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
