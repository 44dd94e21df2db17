import type { Command } from 'commander';
import { WiretraceError } from '../../errors.js';
import type { WiretraceConfig } from '../../config/schema.js';
import { registerConfigFlags } from '../../config/flags.js';
import { describeListeners, startTraceServer, untilSignal } from '../../server/from-config.js';
import { loadCommandConfig } from '../agent.js';

/** `wiretrace serve`: the trace server on its own, until Ctrl-C. */
export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run the trace server: OTLP (gRPC 4317, HTTP 4318), Zipkin (9411) and Jaeger Thrift (14268) in; Jaeger API and web UI on 16686 (Ctrl-C stops)')
    .option('-c, --config <file>', 'configuration file (JSON or YAML); its server section applies')
    .option('--host <address>', 'address every listener binds (default 127.0.0.1: this machine only)')
    .option('--storage <dir>', 'keep traces in an embedded database (LMDB) in this directory, found again after a restart (default: memory only)')
    .option('--token <token>', 'require "Authorization: Bearer <token>" on receivers and the API (also WIRETRACE_SERVER_TOKEN)')
    .option('--ui-dir <dir>', 'serve the web UI from this directory (default: the one shipped in dist/ui)');
  registerConfigFlags(cmd).action(async (opts: Record<string, unknown>, command: Command) => {
    const config = withServeFlags(loadCommandConfig(opts, command), opts);
    const server = await startTraceServer(config.server);
    const restored = server.store.traceCount;
    process.stderr.write(
      `wiretrace: trace server listening${config.server.token ? ' (bearer token required)' : ''}:\n${describeListeners(server)}\n` +
        `  storage: ${config.server.storage ? `${config.server.storage} (${restored} traces, ${server.store.spanCount} spans restored)` : 'in memory'}; Ctrl-C stops\n`,
    );
    const signal = await untilSignal();
    process.stderr.write(`wiretrace: ${signal}: stopping the trace server\n`);
    await server.close();
  });
}

function withServeFlags(config: WiretraceConfig, opts: Record<string, unknown>): WiretraceConfig {
  const nonEmpty = (name: string): string | undefined => {
    const v = opts[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') throw new WiretraceError('WT_ERR_USAGE', `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs a value`);
    return v;
  };
  const server = { ...config.server };
  server.host = nonEmpty('host') ?? server.host;
  server.storage = nonEmpty('storage') ?? server.storage;
  server.token = nonEmpty('token') ?? server.token;
  server.uiDir = nonEmpty('uiDir') ?? server.uiDir;
  return { ...config, server };
}
