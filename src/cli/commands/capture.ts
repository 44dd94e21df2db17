import type { Command } from 'commander';
import { LiveCapture, wallClock, type TcpdumpStatistics } from '../../capture/live.js';
import { WiretraceError } from '../../errors.js';
import { Stats } from '../../model/stats.js';
import { ProcfsProcessResolver } from '../../process/owners.js';
import type { WiretraceConfig } from '../../config/schema.js';
import { addAgentOptions, loadCommandConfig, runAgent } from '../agent.js';

/** Exit statuses after a second signal: the conventional 128 + signal number. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** `wiretrace capture`: traffic on an interface in, spans out while it flows. */
export function registerCapture(program: Command): void {
  const cmd = program
    .command('capture')
    .description('capture live traffic with tcpdump and turn it into OpenTelemetry traces as it flows (Ctrl-C stops)')
    .option('-i, --interface <name>', 'interface to capture on, as tcpdump names it ("any" for all; default: capture.interface, any)')
    .option('--filter <bpf>', 'BPF filter expression handed to tcpdump, e.g. "tcp port 80 or tcp port 8080"')
    .option('--snaplen <bytes>', 'bytes captured of each packet (64–262144; default 262144)')
    .option('--tcpdump <path>', 'the tcpdump to run (default: capture.tcpdumpPath, tcpdump on the PATH)')
    .option('--no-process-enrichment', 'do not name services by the local process that owns each socket');
  addAgentOptions(cmd).action(async (opts: Record<string, unknown>, command: Command) => {
    const config = withCaptureFlags(loadCommandConfig(opts, command), opts, command);
    const stats = new Stats();
    const live = await LiveCapture.start(config.capture);
    const processes = config.capture.processEnrichment
      ? new ProcfsProcessResolver({ stats, redaction: config.redaction, hostName: config.resource.hostName })
      : undefined;
    const textSummary = opts.summary !== 'json' && opts.summary !== 'none';
    process.stderr.write(`wiretrace: capturing on ${config.capture.interface}${config.capture.filter ? ` (filter: ${config.capture.filter})` : ''}; Ctrl-C stops\n`);

    // First signal: tcpdump stops, the stream ends, and the normal end flushes
    // every sink. A second one: leave at once.
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        live.kill();
        process.exit(SIGNAL_EXIT[signal] ?? 1);
      }
      signalled = true;
      live.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const source = (async function* () {
      yield* live.source;
      live.recordDrops(stats);
      if (textSummary) {
        process.stderr.write(`${formatTcpdumpStatistics(live.statistics())}\n`);
        if (processes) {
          const c = processes.counters();
          process.stderr.write(`wiretrace: process owners: ${c.found} socket ends found, ${c.notFound} not found (gone or unreadable), ${c.fullScans} scans of /proc\n`);
        }
      }
    })();
    try {
      await runAgent({ source, config, opts, command, stats, pipeline: { processes, clock: wallClock() }, stopsOnSignals: true });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      live.stop();
    }
    const code = await live.exited();
    if (!live.stopped && code !== 0) {
      const said = live.messages().join(' ').replace(/^tcpdump:\s*/, '');
      throw new WiretraceError('WT_ERR_CAPTURE_UNAVAILABLE', `tcpdump stopped on its own (status ${code ?? 'unknown'}): ${said || 'no message'}`);
    }
  });
}

export function formatTcpdumpStatistics(s: TcpdumpStatistics): string {
  const parts: string[] = [];
  if (s.captured !== undefined) parts.push(`${s.captured} packets captured`);
  if (s.receivedByFilter !== undefined) parts.push(`${s.receivedByFilter} received by filter`);
  if (s.droppedByKernel !== undefined) parts.push(`${s.droppedByKernel} dropped by kernel`);
  if (s.droppedByInterface !== undefined) parts.push(`${s.droppedByInterface} dropped by interface`);
  return `wiretrace: tcpdump: ${parts.length > 0 ? parts.join(', ') : 'no statistics reported'}`;
}

/** The capture flags, over the configuration from files, environment and the shared flags. */
function withCaptureFlags(config: WiretraceConfig, opts: Record<string, unknown>, command: Command): WiretraceConfig {
  const fromCli = (name: string): boolean => command.getOptionValueSource(name) === 'cli';
  const capture = { ...config.capture };
  if (fromCli('interface')) capture.interface = String(opts.interface);
  if (fromCli('filter')) capture.filter = String(opts.filter);
  if (fromCli('tcpdump')) capture.tcpdumpPath = String(opts.tcpdump);
  if (fromCli('processEnrichment')) capture.processEnrichment = Boolean(opts.processEnrichment);
  if (fromCli('snaplen')) {
    const raw = String(opts.snaplen);
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < 64 || n > 262_144) throw new WiretraceError('WT_ERR_USAGE', `flag --snaplen: "${raw}" is not a whole number of bytes from 64 to 262144`);
    capture.snaplen = n;
  }
  if (capture.interface.trim().length === 0) throw new WiretraceError('WT_ERR_USAGE', 'flag --interface: an interface name is needed');
  return { ...config, capture };
}
