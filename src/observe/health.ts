import type { ExportQueueCounters } from '../export/queue.js';
import type { LivePipeline } from '../pipeline.js';

/**
 * Whether the agent is doing its job, for a liveness/readiness probe: too
 * many requests waiting for a response means the pipeline is falling behind
 * or being flooded (memory grows with them); an exporter failing for longer
 * than allowed means spans are being lost.
 */

export interface HealthReport {
  healthy: boolean;
  /** One line per failing check; empty when healthy. */
  problems: string[];
}

export interface HealthSource {
  live?: () => LivePipeline | undefined;
  exporters?: () => readonly ExportQueueCounters[];
  /** Epoch ms now; tests fix it. */
  now?: () => number;
}

export interface HealthLimits {
  /** Unhealthy when more requests than this await a response. */
  maxAwaitingRequests: number;
  /** Unhealthy when an exporter has been failing for longer than this. */
  exporterFailureSeconds: number;
}

export type HealthCheck = () => HealthReport;

export function createHealthCheck(source: HealthSource, limits: HealthLimits): HealthCheck {
  const now = source.now ?? Date.now;
  return () => {
    const problems: string[] = [];
    const awaiting = source.live?.()?.requestsAwaitingResponse ?? 0;
    if (awaiting > limits.maxAwaitingRequests) {
      problems.push(`requests awaiting a response: ${awaiting} > limit ${limits.maxAwaitingRequests}`);
    }
    const at = now();
    for (const e of source.exporters?.() ?? []) {
      if (e.failingSince === undefined) continue;
      const seconds = (at - e.failingSince) / 1000;
      if (seconds > limits.exporterFailureSeconds) {
        problems.push(`exporter ${e.exporter} failing for ${seconds.toFixed(1)} s > limit ${limits.exporterFailureSeconds} s (last failure ${e.lastFailure ?? 'unknown'})`);
      }
    }
    return { healthy: problems.length === 0, problems };
  };
}
