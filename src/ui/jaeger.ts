/** The Jaeger query API's JSON model as the server answers it, and wiretrace's graph and live-feed shapes. Types only (no DOM): the Node tests read them too. */

export type TagValue = string | number | boolean;

export interface KeyValue {
  key: string;
  type: string;
  value: TagValue;
}

export interface Reference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface Log {
  timestamp: number;
  fields: KeyValue[];
}

export interface Span {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Reference[];
  /** Epoch microseconds. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags: KeyValue[];
  logs: Log[];
  processID: string;
  warnings: string[] | null;
  flags?: number;
}

export interface Process {
  serviceName: string;
  tags: KeyValue[];
}

export interface Trace {
  traceID: string;
  spans: Span[];
  processes: Record<string, Process>;
  warnings: string[] | null;
}

export interface Dependency {
  parent: string;
  child: string;
  callCount: number;
}

/** The live feed's per-trace summary (server TraceSummary). */
export interface LiveSummary {
  traceId: string;
  rootService: string;
  rootName: string;
  spanCount: number;
  errorCount: number;
  services: string[];
  startUs: number;
  durationUs: number;
}

// The service graph is the one src/graph builds and /api/graph serves as is:
// its types are imported (erased when bundled), so the two cannot drift.
export type { LatencySummary as Latency, GraphNode, GraphEdge, ServiceGraph } from '../graph/types.js';
