import type { WiretraceConfig } from '../config/schema.js';
import type { ExportQueueCounters, ExportQueueDeps } from '../export/queue.js';
import type { Stats } from '../model/stats.js';
import type { LivePipeline } from '../pipeline.js';
import { createHealthCheck } from './health.js';
import type { Logger } from './logger.js';
import { createAgentMetrics } from './metrics.js';
import { startObserveServer, type ObserveServer } from './server.js';

export { createAgentMetrics, METRIC_PREFIX, type AgentMetrics, type AgentMetricsSource } from './metrics.js';
export { createHealthCheck, type HealthCheck, type HealthReport } from './health.js';
export { startObserveServer, type ObserveServer, type ObserveServerOptions } from './server.js';
export { createLogger, resolveLogFormat, type Logger, type LogFormat, type LoggerOptions } from './logger.js';

export interface AgentObservationOptions {
  observe: WiretraceConfig['observe'];
  stats: Stats;
  /** Counters of the exporter queues, read when needed (they may be created after this). */
  exporters: () => readonly ExportQueueCounters[];
  log: Logger;
}

/** What one agent run needs to be watched: the metrics and health server, when configured. */
export interface AgentObservation {
  /** Base URL of the metrics server, when one is serving. */
  readonly url: string | undefined;
  /** Give to analyze() so that the gauges read the running pipeline. */
  readonly onPipeline: (live: LivePipeline) => void;
  close(): Promise<void>;
}

/** Starts the metrics server when observe.metricsPort > 0; throws WT_ERR_CONFIG when the port cannot be bound. */
export async function observeAgent({ observe, stats, exporters, log }: AgentObservationOptions): Promise<AgentObservation> {
  let live: LivePipeline | undefined;
  let server: ObserveServer | undefined;
  if (observe.metricsPort > 0) {
    const source = { stats, live: () => live, exporters };
    server = await startObserveServer({
      host: observe.metricsHost,
      port: observe.metricsPort,
      metrics: createAgentMetrics(source),
      health: createHealthCheck(source, { maxAwaitingRequests: observe.maxAwaitingRequests, exporterFailureSeconds: observe.exporterFailureSeconds }),
      onError: (error) => log.warn({ err: error }, 'metrics server error'),
    });
    log.info({ metrics: `${server.url}/metrics`, health: `${server.url}/healthz` }, 'serving metrics');
  }
  return {
    url: server?.url,
    onPipeline: (pipeline) => {
      live = pipeline;
    },
    close: async () => {
      await server?.close();
    },
  };
}

/**
 * The onFailure hook for createExporters: one warning when an exporter
 * starts failing (a streak, as the queue marks it in failingSince) and one
 * when it gives a batch up; every other failed attempt at debug level.
 */
export function exportFailureLogger(log: Logger, exporters: () => readonly ExportQueueCounters[]): NonNullable<ExportQueueDeps['onFailure']> {
  const announcedStreaks = new Map<string, number>();
  return (exporter, verdict) => {
    const streak = exporters().find((e) => e.exporter === exporter)?.failingSince;
    const details = { exporter, reason: verdict.reason, attempt: verdict.attempt, willRetry: verdict.willRetry };
    if (streak !== undefined && announcedStreaks.get(exporter) !== streak) {
      announcedStreaks.set(exporter, streak);
      log.warn(details, `exporter ${exporter} failing: ${verdict.reason}`);
    } else {
      log.debug(details, `exporter ${exporter} attempt ${verdict.attempt} failed: ${verdict.reason}`);
    }
    if (!verdict.willRetry) log.warn(details, `exporter ${exporter} gave up on a batch (${verdict.retryable ? 'retries exhausted' : 'rejected'}): ${verdict.reason}`);
  };
}
