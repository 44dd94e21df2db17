import type { Stats } from '../model/stats.js';
import type { CaptureInfo } from '../capture/reader.js';
import type { ExportQueueCounters } from '../export/queue.js';

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function bytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 / 1024).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

function breakdown(entries: [string, number][]): string {
  return entries.length ? ` (${entries.map(([k, v]) => `${k} ${n(v)}`).join(', ')})` : '';
}

export interface SummaryFacts {
  stats: Stats;
  capture?: CaptureInfo;
  services: number;
  seconds: number;
  exporters?: ExportQueueCounters[];
}

/** The end-of-run summary on stderr: what was read, what was made, and everything lost or skipped. */
export function formatSummary({ stats, services, seconds, exporters }: SummaryFacts): string {
  const exchanges = stats.exchanges.entries().filter(([k]) => ['complete', 'timeout', 'incomplete', 'orphan'].includes(k));
  const exchangeTotal = exchanges.reduce((a, [, v]) => a + v, 0);
  const notComplete = exchanges.filter(([k]) => k !== 'complete');
  const lines = [
    `wiretrace: ${n(stats.packets)} packets (${bytes(stats.bytes)}) in ${seconds.toFixed(2)} s`,
    `  connections ${n(stats.connections)} · exchanges ${n(exchangeTotal)}${breakdown(notComplete)} · spans ${n(stats.spans.get('emitted'))} · traces ${n(stats.traces)} · services ${n(services)} · errors ${n(stats.errorSpans)}`,
    `  protocols${breakdown(stats.protocols.entries()) || ' none'} · non-TCP packets ${n(stats.nonTcpPackets)}`,
    `  parse problems ${n(stats.parseErrors.total())}${breakdown(stats.parseErrors.entries())} · truncated messages ${n(stats.truncatedMessages)} · undecodable frames ${n(stats.undecodable.total())}${breakdown(stats.undecodable.entries())}`,
    `  drops ${n(stats.drops.total())}${breakdown(stats.drops.entries())} · stream gaps ${bytes(stats.gapBytes)} · tcp${breakdown(stats.tcp.entries()) || ' clean'}`,
  ];
  const notEmitted = stats.spans.entries().filter(([k]) => k !== 'emitted');
  if (notEmitted.length) lines.push(`  spans not emitted${breakdown(notEmitted)}`);
  for (const e of exporters ?? []) {
    const dropped = Object.entries(e.dropped).filter(([, v]) => v > 0);
    lines.push(`  exporter ${e.exporter}: exported ${n(e.exported)} · failed attempts ${n(e.failedAttempts)} · dropped ${n(dropped.reduce((a, [, v]) => a + v, 0))}${breakdown(dropped)}${e.lastFailure ? ` · last failure ${e.lastFailure}` : ''}`);
  }
  const late = stats.exchanges.get('late-response');
  if (late) lines.push(`  late responses (after their request timed out) ${n(late)}`);
  return lines.join('\n');
}

export function summaryJson({ stats, capture, services, seconds, exporters }: SummaryFacts): Record<string, unknown> {
  return {
    seconds,
    capture,
    packets: stats.packets,
    bytes: stats.bytes,
    nonTcpPackets: stats.nonTcpPackets,
    undecodable: stats.undecodable.toJSON(),
    connections: stats.connections,
    protocols: stats.protocols.toJSON(),
    tcp: stats.tcp.toJSON(),
    gapBytes: stats.gapBytes,
    drops: stats.drops.toJSON(),
    parseErrors: stats.parseErrors.toJSON(),
    messages: stats.messages,
    truncatedMessages: stats.truncatedMessages,
    exchanges: stats.exchanges.toJSON(),
    spans: stats.spans.toJSON(),
    traces: stats.traces,
    services,
    errorSpans: stats.errorSpans,
    exporters,
  };
}
