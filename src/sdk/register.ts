/**
 * `node --import wiretrace/register app.js`: traces an unmodified app.
 * Settings come from the environment only (OTEL_*, WIRETRACE_SDK_*);
 * tracing is on unless WIRETRACE_SDK_ENABLED=false or OTEL_SDK_DISABLED=true.
 * OpenTelemetry's auto-instrumentations (http, fetch/undici, express,
 * fastify, koa, pg, mysql2, ioredis/redis, amqplib, ...) are loaded as
 * OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS
 * select, and ESM imports are hooked as well as require.
 */
import { readFileSync } from 'node:fs';
import { createRequire, register as registerModuleHooks } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diag, DiagConsoleLogger, DiagLogLevel, trace } from '@opentelemetry/api';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { isWiretraceError } from '../errors.js';
import { createTracing, type Tracing } from './tracing.js';

const LOG_LEVELS: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/** The app's package name from the working directory, as a service name better than none. */
function packageName(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { name?: unknown };
    return typeof pkg.name === 'string' && pkg.name.length > 0 ? pkg.name : undefined;
  } catch {
    return undefined;
  }
}

function start(): Tracing | undefined {
  const level = process.env.OTEL_LOG_LEVEL?.trim().toLowerCase();
  if (level !== undefined && LOG_LEVELS[level] !== undefined) diag.setLogger(new DiagConsoleLogger(), LOG_LEVELS[level]);

  let tracing: Tracing;
  try {
    tracing = createTracing({ enabled: true, serviceName: packageName() ?? 'unknown_service:node' });
  } catch (error) {
    // Fail fast and clearly: a misconfigured tracer must not start an app that looks traced but is not.
    process.stderr.write(`${isWiretraceError(error) ? error.message : String(error)}\n`);
    process.exit(isWiretraceError(error) ? error.exitCode : 1);
  }
  if (!tracing.isEnabled()) return undefined;

  // ESM imports are instrumented through import-in-the-middle's loader hooks, registered before the app's first import.
  const require = createRequire(import.meta.url);
  const fromAuto = createRequire(require.resolve('@opentelemetry/auto-instrumentations-node'));
  registerModuleHooks(pathToFileURL(fromAuto.resolve('@opentelemetry/instrumentation/hook.mjs')));

  const provider = trace.getTracerProvider();
  for (const instrumentation of getNodeAutoInstrumentations()) instrumentation.setTracerProvider(provider);
  return tracing;
}

const tracing = start();

if (tracing) {
  const flush = (): Promise<void> => tracing.shutdown().catch(() => undefined);
  process.once('beforeExit', () => void flush());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      // With no handler of the app's own, the signal would have ended the process: it still does, after the flush.
      const appHandles = process.listenerCount(signal) > 0;
      void flush().then(() => {
        if (!appHandles) process.exit(signal === 'SIGINT' ? 130 : 143);
      });
    });
  }
}

export { tracing };
