import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { openCaptureSource } from '../../capture/reader.js';
import { addAgentOptions, loadCommandConfig, runAgent } from '../agent.js';

/** `wiretrace analyze`: a capture file in, traces out. */
export function registerAnalyze(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('turn a pcap or pcapng capture (optionally gzip-compressed; "-" for stdin) into OpenTelemetry traces')
    .argument('<capture>', 'capture file, or - for standard input');
  addAgentOptions(cmd).action(async (capturePath: string, opts: Record<string, unknown>, command: Command) => {
    const config = loadCommandConfig(opts, command);
    const source = openCaptureSource(capturePath);
    await runAgent({ source, sourceSize: capturePath === '-' ? undefined : statSync(capturePath).size, config, opts, command });
  });
}
