#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode } from '@opentelemetry/core';
import { openCaptureSource } from '../capture/reader.js';
import { analyze } from '../pipeline.js';
import { CONFIG_FLAGS, flagsToLayer } from '../config/flags.js';
import { readConfigFile, resolveConfig, type ConfigLayer } from '../config/load.js';
import { OtlpJsonLinesExporter } from '../export/otlp-json-file.js';
import { formatTraces } from '../export/readable.js';
import { WiretraceError, isWiretraceError } from '../errors.js';
import { Stats } from '../model/stats.js';
import { VERSION } from '../version.js';
import { formatSummary, summaryJson } from './summary.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function runAnalyze(capturePath: string, opts: Record<string, unknown>, command: Command): Promise<void> {
  const layers: ConfigLayer[] = [];
  if (typeof opts.config === 'string') layers.push({ source: { kind: 'file', path: opts.config }, values: readConfigFile(opts.config) });
  layers.push(flagsToLayer(opts, (name) => command.getOptionValueSource(name) === 'cli'));
  const config = resolveConfig(layers);

  const output = typeof opts.output === 'string' ? opts.output : undefined;
  const exporter = output ? new OtlpJsonLinesExporter(output === '-' ? process.stdout : output) : undefined;
  const source = openCaptureSource(capturePath);
  const services = new Set<string>();
  const started = process.hrtime.bigint();
  const stats = new Stats();

  const onSpans = (spans: ReadableSpan[]): void => {
    for (const s of spans) services.add(String(s.resource.attributes['service.name']));
    if (exporter) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) stats.drops.add('export-failed', spans.length);
      });
    } else {
      process.stdout.write(formatTraces(spans) + '\n');
    }
  };

  const { capture } = await analyze(source, { config, stats, onSpans });
  await exporter?.shutdown();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const facts = { stats, capture, services: services.size, seconds };
  if (opts.summary === 'json') process.stderr.write(JSON.stringify(summaryJson(facts)) + '\n');
  else if (opts.summary !== 'none') process.stderr.write(formatSummary(facts) + '\n');
}

export function buildProgram(): Command {
  const program = new Command('wiretrace')
    .description('Distributed traces from the traffic already on the network.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const analyzeCmd = program
    .command('analyze')
    .description('turn a pcap or pcapng capture (optionally gzip-compressed; "-" for stdin) into OpenTelemetry traces')
    .argument('<capture>', 'capture file, or - for standard input')
    .option('-o, --output <file>', 'write spans as OTLP/JSON lines (one ExportTraceServiceRequest per line; "-" for stdout) instead of printing traces')
    .option('-c, --config <file>', 'configuration file (JSON or YAML)')
    .addOption(new Option('--summary <format>', 'summary on stderr at the end').choices(['text', 'json', 'none']).default('text'));
  for (const def of CONFIG_FLAGS) {
    const spec = def.placeholder ? `${def.flag} ${def.placeholder}` : def.flag;
    if (def.kind.startsWith('repeat')) analyzeCmd.option(spec, def.description, collect);
    else analyzeCmd.option(spec, def.description);
  }
  analyzeCmd.action(async (capture: string, opts: Record<string, unknown>, command: Command) => {
    await runAnalyze(capture, opts, command);
  });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return 2;
    }
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isWiretraceError(err)) {
      process.stderr.write(`wiretrace: ${err.message} [${err.code}]\n`);
      return err.exitCode;
    }
    const internal = new WiretraceError('WT_ERR_INTERNAL', err instanceof Error ? err.message : String(err));
    process.stderr.write(`wiretrace: internal error: ${internal.message} [${internal.code}]\n`);
    if (process.env.WIRETRACE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return internal.exitCode;
  }
}

const code = await main(process.argv);
process.exitCode = code;
