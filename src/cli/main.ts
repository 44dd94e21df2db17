#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { WiretraceError, isWiretraceError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerConfig } from './commands/config.js';
import { registerCapture } from './commands/capture.js';
import { registerServe } from './commands/serve.js';

/** Every command registers itself from its own file in ./commands. */
export function buildProgram(): Command {
  const program = new Command('wiretrace')
    .description('Distributed traces from the traffic already on the network.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerAnalyze(program);
  registerConfig(program);
  registerCapture(program);
  registerServe(program);
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
