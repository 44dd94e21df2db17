import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Stats } from '../model/stats.js';
import type { LivePipeline } from '../pipeline.js';
import { EXPORT_LATENCY_BUCKETS_MS, type ExportQueueCounters } from '../export/queue.js';
import { VERSION } from '../version.js';

/**
 * The agent's own metrics in Prometheus text. Nothing here is incremented on
 * the hot path: every metric reads the plain counters the pipeline already
 * keeps (Stats, the export queues' counters, the live gauges) when scraped.
 */

export interface AgentMetricsSource {
  stats: Stats;
  /** The running pipeline's gauges; undefined before it starts. */
  live?: () => LivePipeline | undefined;
  /** Counters of every exporter queue (empty when none is configured). */
  exporters?: () => readonly ExportQueueCounters[];
  /** Epoch ms now; tests fix it. */
  now?: () => number;
}

export interface AgentMetricsOptions {
  /** Add prom-client's process and Node.js runtime metrics (process_*, nodejs_*). Default true. */
  processMetrics?: boolean;
}

export interface AgentMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text, read from the counters now. */
  scrape(): Promise<string>;
}

export const METRIC_PREFIX = 'wiretrace_';

/** Spans that left the pipeline some other way than emitted: Stats keys mapped to an outcome and a reason. */
function spanOutcome(key: string): { outcome: string; reason: string } {
  const colon = key.indexOf(':');
  if (colon > 0) return { outcome: key.slice(0, colon), reason: key.slice(colon + 1) };
  // 'orphan-dropped' reads as: dropped, because orphan.
  if (key.endsWith('-dropped')) return { outcome: 'dropped', reason: key.slice(0, -'-dropped'.length) };
  return { outcome: key, reason: '' };
}

/** Exporter drops are counted in Stats.drops too; the exporter metrics carry them with their own labels. */
const EXPORTER_DROP_PREFIX = 'exporter:';

export function createAgentMetrics(source: AgentMetricsSource, options: AgentMetricsOptions = {}): AgentMetrics {
  const registry = new Registry();
  const { stats } = source;
  const exporters = source.exporters ?? (() => []);
  const now = source.now ?? Date.now;

  const total = (name: string, help: string, read: () => number): void => {
    new Counter({
      name: METRIC_PREFIX + name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  const labelledTotal = <L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Iterable<[Partial<Record<L, string>>, number]>): void => {
    new Counter({
      name: METRIC_PREFIX + name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Iterable<[Partial<Record<L, string>>, number]>): void => {
    new Gauge({
      name: METRIC_PREFIX + name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  };
  const perExporter = (read: (e: ExportQueueCounters) => number) =>
    function* (): Iterable<[{ exporter: string }, number]> {
      for (const e of exporters()) yield [{ exporter: e.exporter }, read(e)];
    };

  gauge('build_info', 'wiretrace version running (always 1)', ['version'], () => [[{ version: VERSION }, 1]]);

  total('packets_read_total', 'Packets read from the capture', () => stats.packets);
  total('bytes_read_total', 'Bytes of packets read from the capture', () => stats.bytes);
  total('non_tcp_packets_total', 'Packets that were not TCP (UDP, ICMP, ARP, ...)', () => stats.nonTcpPackets);
  labelledTotal('undecodable_frames_total', 'Frames the link and IP layers could not place, by reason', ['reason'], () =>
    stats.undecodable.entries().map(([reason, n]) => [{ reason }, n]),
  );
  total('connections_total', 'TCP connections seen', () => stats.connections);
  labelledTotal('connections_by_protocol_total', 'TCP connections by detected protocol', ['protocol'], () =>
    stats.protocols.entries().map(([protocol, n]) => [{ protocol }, n]),
  );
  labelledTotal('tcp_anomalies_total', 'TCP anomalies by kind (retransmission, overlap, out-of-order, gap, ...)', ['kind'], () =>
    stats.tcp.entries().map(([kind, n]) => [{ kind }, n]),
  );
  total('stream_gap_bytes_total', 'Bytes missing from reassembled streams (holes and snaplen truncation)', () => stats.gapBytes);
  labelledTotal('drops_total', 'Things dropped at a limit, by limit (exporter drops are in wiretrace_exporter_spans_dropped_total)', ['limit'], () =>
    stats.drops
      .entries()
      .filter(([limit]) => !limit.startsWith(EXPORTER_DROP_PREFIX))
      .map(([limit, n]) => [{ limit }, n]),
  );
  labelledTotal('parse_errors_total', 'Parse problems by protocol and kind', ['protocol', 'kind'], () =>
    stats.parseErrors.entries().map(([key, n]) => {
      const colon = key.indexOf(':');
      return [colon < 0 ? { protocol: key, kind: '' } : { protocol: key.slice(0, colon), kind: key.slice(colon + 1) }, n];
    }),
  );
  total('messages_total', 'Protocol messages read (requests and responses)', () => stats.messages);
  total('truncated_messages_total', 'Messages cut short by a gap or the end of the capture', () => stats.truncatedMessages);
  labelledTotal('exchanges_total', 'Request/response exchanges by outcome (complete, timeout, orphan, incomplete, late-response)', ['outcome'], () =>
    stats.exchanges.entries().map(([outcome, n]) => [{ outcome }, n]),
  );
  labelledTotal('spans_total', 'Spans by outcome (emitted, filtered, sampled-out, dropped) and, for drops, the reason', ['outcome', 'reason'], () =>
    stats.spans.entries().map(([key, n]) => [spanOutcome(key), n]),
  );
  total('traces_total', 'Traces completed', () => stats.traces);
  total('error_spans_total', 'Spans emitted with an error status', () => stats.errorSpans);

  gauge('connections_tracked', 'TCP connections tracked now', [], () => [[{}, source.live?.()?.connectionsTracked ?? 0]]);
  gauge('requests_awaiting_response', 'Requests seen whose response has not arrived yet', [], () => [[{}, source.live?.()?.requestsAwaitingResponse ?? 0]]);

  labelledTotal('exporter_spans_accepted_total', 'Spans taken into the exporter queue', ['exporter'], perExporter((e) => e.accepted));
  labelledTotal('exporter_spans_exported_total', 'Spans the receiver acknowledged', ['exporter'], perExporter((e) => e.exported));
  labelledTotal('exporter_failed_attempts_total', 'Export attempts that failed, each retry counted', ['exporter'], perExporter((e) => e.failedAttempts));
  labelledTotal('exporter_retries_total', 'Export attempts that retried a failed one', ['exporter'], perExporter((e) => e.retries));
  labelledTotal('exporter_spans_dropped_total', 'Spans an exporter gave up on, by reason', ['exporter', 'reason'], function* () {
    for (const e of exporters()) for (const [reason, n] of Object.entries(e.dropped)) yield [{ exporter: e.exporter, reason }, n];
  });
  gauge('exporter_queue_length', 'Spans waiting in the exporter queue', ['exporter'], perExporter((e) => e.queueLength));
  gauge('exporter_in_flight', 'Spans in the batch being exported or awaiting a retry', ['exporter'], perExporter((e) => e.inFlight));
  gauge('exporter_failing_seconds', 'Seconds since the exporter began failing; 0 while its exports succeed', ['exporter'], perExporter((e) => (e.failingSince === undefined ? 0 : Math.max(0, now() - e.failingSince) / 1000)));

  registry.registerMetric(new BucketHistogram(METRIC_PREFIX + 'exporter_export_latency_seconds', 'Duration of successful export attempts', exporters) as unknown as Metric);

  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  return {
    registry,
    contentType: registry.contentType,
    scrape: () => registry.metrics(),
  };
}

interface HistogramValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A histogram whose buckets are counted elsewhere (ExportQueue keeps
 * per-bucket counts, not cumulative ones). prom-client's Histogram can only
 * observe values one by one, so this object gives the registry the shape it
 * formats — cumulative `_bucket{le}` lines ending at `+Inf`, `_sum`, `_count`
 * — computed from the queue's counts at scrape time.
 */
class BucketHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #exporters: () => readonly ExportQueueCounters[];

  constructor(name: string, help: string, exporters: () => readonly ExportQueueCounters[]) {
    this.name = name;
    this.help = help;
    this.#exporters = exporters;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: HistogramValue[] } {
    const values: HistogramValue[] = [];
    for (const e of this.#exporters()) {
      const { bucketCounts, count, sumMs } = e.latency;
      let cumulative = 0;
      for (let i = 0; i < EXPORT_LATENCY_BUCKETS_MS.length; i++) {
        cumulative += bucketCounts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { exporter: e.exporter, le: EXPORT_LATENCY_BUCKETS_MS[i] / 1000 }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { exporter: e.exporter, le: '+Inf' }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels: { exporter: e.exporter }, value: sumMs / 1000 });
      values.push({ metricName: `${this.name}_count`, labels: { exporter: e.exporter }, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    // the counts belong to the export queues
  }
}
