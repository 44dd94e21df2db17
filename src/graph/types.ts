/** The service graph as every renderer and view reads it: plain data, JSON as is. */

export type NodeKind = 'service' | 'database' | 'external';

export interface LatencySummary {
  /** Milliseconds, from a log-bucketed histogram (within 1% of the exact nearest-rank value). */
  p50: number;
  p90: number;
  p99: number;
}

export interface GraphNode {
  /** Unique within the graph; equal to the name. */
  id: string;
  name: string;
  kind: NodeKind;
  /** Requests this node served: its SERVER spans, or, for a peer seen only from its callers, the calls made to it. */
  requests: number;
  errors: number;
  /** Latency of the requests it served (server side when known). */
  latency: LatencySummary;
}

export interface GraphEdge {
  /** Node id of the caller. */
  from: string;
  /** Node id of the callee. */
  to: string;
  requests: number;
  errors: number;
  /** requests / the graph window's length in seconds (0 for an empty window). */
  ratePerSecond: number;
  /** As the caller saw it (its CLIENT span) when known, else the callee's SERVER span. */
  latency: LatencySummary;
  /** Request body bytes, caller → callee. */
  bytesSent: number;
  /** Response body bytes, callee → caller. */
  bytesReceived: number;
}

export interface GraphDrops {
  /** Spans, and requests to or from them, not counted because a new node would have passed maxNodes. */
  nodeLimit: number;
  /** Requests not counted because a new edge would have passed maxEdges. */
  edgeLimit: number;
  /** Spans forced out of the pending window by its size limit before their partner arrived. */
  pendingLimit: number;
}

export interface ServiceGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Observed time: earliest span start and latest span end, epoch milliseconds (0 and 0 when empty). */
  window: { start: number; end: number };
  /** SERVER spans whose caller is unknown (a root span, or a parent never seen): served, but no edge. */
  unknownCallers: number;
  dropped: GraphDrops;
}
