/** Fetches from the query API, unwrapping Jaeger's { data, total, limit, offset, errors } envelope. */

export type { TagValue, KeyValue, Reference, Log, Span, Process, Trace, Dependency, LiveSummary, Latency, GraphNode, GraphEdge, ServiceGraph } from './jaeger.js';

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
