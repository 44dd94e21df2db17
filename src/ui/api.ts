/** The Jaeger query API's JSON model, as the server answers it, and a fetch that unwraps its envelope. */

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

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
}

export interface GraphNode {
  id: string;
  name: string;
  kind: 'service' | 'database' | 'external';
  requests: number;
  errors: number;
  latency: Latency;
}

export interface GraphEdge {
  from: string;
  to: string;
  requests: number;
  errors: number;
  ratePerSecond: number;
  latency: Latency;
  bytesSent: number;
  bytesReceived: number;
}

export interface ServiceGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  window: { start: number; end: number };
  unknownCallers: number;
}

interface Envelope<T> {
  data: T;
  total: number;
  errors: Array<{ code: number; msg: string }> | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'wiretrace.token';

export function token(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(value: string): void {
  try {
    sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    // storage refused (private mode): the token lasts until reload
  }
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let res: Response;
  try {
    res = await fetch(path, { headers, signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, `the server cannot be reached (${(err as Error).message})`);
  }
  let body: Envelope<T> | undefined;
  try {
    body = (await res.json()) as Envelope<T>;
  } catch {
    body = undefined;
  }
  if (!res.ok || !body) {
    const msg = body?.errors?.[0]?.msg ?? `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg);
  }
  return body.data;
}

/** The live feed's URL: EventSource cannot send headers, so a token travels as access_token (RFC 6750). */
export function liveUrl(): string {
  const bearer = token();
  return bearer ? `/api/live?access_token=${encodeURIComponent(bearer)}` : '/api/live';
}
