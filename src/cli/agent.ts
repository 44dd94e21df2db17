import { Option, type Command } from 'commander';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode } from '@opentelemetry/core';
import { analyze, type AnalyzeOptions } from '../pipeline.js';
import { flagsToLayer, registerConfigFlags } from '../config/flags.js';
import { envToLayer } from '../config/env.js';
import { readConfigFile, resolveConfigWithOrigins, type ConfigLayer, type ResolvedConfig } from '../config/load.js';
import type { WiretraceConfig } from '../config/schema.js';
import { OtlpJsonLinesExporter } from '../export/otlp-json-file.js';
import { createExporters } from '../export/factory.js';
import { flushOnSignals } from '../export/fanout.js';
import type { ExportQueueCounters } from '../export/queue.js';
import { formatTraces } from '../export/readable.js';
import { graphFormatFromPath, writeGraph } from '../graph/index.js';
import { TerminalReport, createProgress } from '../views/index.js';
import { Stats } from '../model/stats.js';
import { createLogger, exportFailureLogger, observeAgent } from '../observe/index.js';
import { TraceSampler } from '../process/sampling.js';
import { formatSummary, summaryJson } from './summary.js';
import { describeListeners, startTraceServer, untilSignal } from '../server/from-config.js';

/**
 * What `analyze` and `capture` share: the options that choose where spans
 * and views go, configuration loading, and one run of the pipeline from a
 * capture stream to every sink.
 */

/** How long queued spans may take to leave at the end or on SIGINT/SIGTERM. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

/** Registers the output, view and configuration options on a command. */
export function addAgentOptions(cmd: Command): Command {
  cmd
    .option('-o, --output <file>', 'write spans as OTLP/JSON lines (one ExportTraceServiceRequest per line; "-" for stdout) instead of printing traces')
    .option('-c, --config <file>', 'configuration file (JSON or YAML)')
    .addOption(
      new Option('--format <format>', 'what stdout shows: text (service table, slowest and failing traces), json (the same for machines), traces (every trace as a tree)')
        .choices(['text', 'json', 'traces'])
        .default('text'),
    )
    .option('--top <n>', 'how many slowest and failing traces the text and json views show', '5')
    .option('--graph <file>', 'write the service graph; the extension names the format: .dot .gv .mmd .json .svg')
    .addOption(new Option('--summary <format>', 'summary on stderr at the end').choices(['text', 'json', 'none']).default('text'))
    .option('--serve', 'also run the trace server (configuration section server) in this process and store every span in it; it keeps serving after the capture ends, until Ctrl-C');
  return registerConfigFlags(cmd);
}

/** The merged configuration of a command: defaults, then the --config file, then the environment, then flags. */
export function loadCommandConfig(opts: Record<string, unknown>, command: Command): WiretraceConfig {
  return loadCommandConfigWithOrigins(opts, command).config;
}

/** The same, with where every value came from (`wiretrace config`). */
export function loadCommandConfigWithOrigins(opts: Record<string, unknown>, command: Command, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const layers: ConfigLayer[] = [];
  if (typeof opts.config === 'string') layers.push({ source: { kind: 'file', path: opts.config }, values: readConfigFile(opts.config) });
  layers.push(envToLayer(env, layers));
  layers.push(flagsToLayer(opts, (name) => command.getOptionValueSource(name) === 'cli'));
  return resolveConfigWithOrigins(layers);
}

export interface AgentRun {
  source: AsyncIterable<Buffer> | NodeJS.ReadableStream;
  /** Bytes in the source when known (a file), for the progress bar. */
  sourceSize?: number;
  config: WiretraceConfig;
  opts: Record<string, unknown>;
  command: Command;
  /** The run's counters, when the source adds its own (live capture: tcpdump's drops). */
  stats?: Stats;
  /** Live capture: owners of local sockets, and wall time as a clock. */
  pipeline?: Pick<AnalyzeOptions, 'processes' | 'clock'>;
  /** The source ends itself on SIGINT/SIGTERM (live capture), and the normal end flushes: no flush-and-exit handler. */
  stopsOnSignals?: boolean;
}

/** Runs the pipeline over one capture stream and delivers spans, views, graph and summary. */
export async function runAgent({ source, sourceSize, config, opts, command, pipeline, stopsOnSignals, ...run }: AgentRun): Promise<void> {
  const output = typeof opts.output === 'string' ? opts.output : undefined;
  const graphPath = typeof opts.graph === 'string' ? opts.graph : undefined;
  if (graphPath) graphFormatFromPath(graphPath); // an unknown extension fails before any work
  // With spans going to a file, stdout stays quiet unless a view is asked for;
  // with spans going to stdout, nothing else may be written there.
  const explicitFormat = command.getOptionValueSource('format') === 'cli';
  const format = output === '-' ? 'none' : output && !explicitFormat ? 'none' : String(opts.format);
  const exporter = output ? new OtlpJsonLinesExporter(output === '-' ? process.stdout : output) : undefined;
  const report = format === 'text' || format === 'json' || graphPath ? new TerminalReport({ slowest: Number(opts.top), failing: Number(opts.top) }) : undefined;
  const stats = run.stats ?? new Stats();
  const log = createLogger({ level: config.observe.logLevel, format: config.observe.logFormat });
  const exporterCounters = (): ExportQueueCounters[] => exporters?.fanout.counters() ?? [];
  // Configured exporters each get their own queue; a slow one never holds up the capture.
  const exporters = config.exporters.length ? createExporters(config.exporters, { stats, onFailure: exportFailureLogger(log, exporterCounters) }) : undefined;
  // Before the first packet, so that a port already taken fails the run before any work.
  const observation = await observeAgent({ observe: config.observe, stats, exporters: exporterCounters, log });
  const removeSignalHandlers =
    exporters && !stopsOnSignals
      ? flushOnSignals(exporters.fanout, { deadlineMs: SHUTDOWN_DEADLINE_MS, onSignal: (signal) => log.info({ signal }, 'stopping: flushing exporters') })
      : undefined;
  // Started before the first packet too: a port already taken fails the run before any work.
  const traceServer = opts.serve
    ? await startTraceServer(config.server).catch(async (err: unknown) => {
        await observation.close();
        throw err;
      })
    : undefined;
  const progress = createProgress(process.stderr, { total: sourceSize });
  const services = new Set<string>();
  const started = process.hrtime.bigint();

  const sampler = new TraceSampler(config.sampling, stats);
  const onSpans = (batch: ReadableSpan[]): void => {
    // Sampled-out traces reach no sink and no view (counted in stats.spans 'sampled-out').
    const spans = sampler.filter(batch);
    if (spans.length === 0) return;
    for (const s of spans) services.add(String(s.resource.attributes['service.name']));
    exporter?.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) stats.drops.add('export-failed', spans.length);
    });
    exporters?.fanout.offer(spans);
    traceServer?.addReadableSpans(spans);
    report?.add(spans);
    if (format === 'traces') process.stdout.write(formatTraces(spans) + '\n');
  };

  let capture;
  // A live capture runs for hours: its start and end belong in the log. A
  // file's analysis ends with the summary, which says all of it already.
  const lifecycle = stopsOnSignals ? log.info.bind(log) : log.debug.bind(log);
  lifecycle({ exporters: exporterCounters().map((e) => e.exporter) }, 'capture started');
  try {
    ({ capture } = await analyze(source, { ...pipeline, config, stats, onSpans, onProgress: (bytes) => progress.update(bytes), onPipeline: observation.onPipeline }));
  } catch (error) {
    await observation.close();
    await traceServer?.close();
    throw error;
  } finally {
    progress.finish();
  }
  lifecycle({ packets: stats.packets, bytes: stats.bytes, spans: stats.spans.get('emitted') }, 'capture ended');
  await exporter?.shutdown();
  if (exporters) {
    await exporters.fanout.shutdown(SHUTDOWN_DEADLINE_MS);
    removeSignalHandlers?.();
  }
  // Scrapes keep working while the exporters flush; the summary is the last word.
  await observation.close();
  if (report && format === 'text') {
    const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
    process.stdout.write(report.render({ color, width: process.stdout.columns ?? 100 }) + '\n');
  } else if (report && format === 'json') {
    process.stdout.write(JSON.stringify(report.toJSON(), null, 2) + '\n');
  }
  if (graphPath && report) await writeGraph(report.graph(), graphPath);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const facts = { stats, capture, services: services.size, seconds, exporters: exporters ? exporterCounters() : undefined };
  if (opts.summary === 'json') process.stderr.write(JSON.stringify(summaryJson(facts)) + '\n');
  else if (opts.summary !== 'none') process.stderr.write(formatSummary(facts) + '\n');
  if (traceServer) {
    process.stderr.write(`wiretrace: serving ${traceServer.store.traceCount} traces (Ctrl-C stops):\n${describeListeners(traceServer)}\n`);
    await untilSignal();
    await traceServer.close();
  }
}
