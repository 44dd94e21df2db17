import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { toJaegerTrace } from './convert/jaeger-json.js';
import { HttpError, authorized, sendJson, sendText, UNAUTHORIZED_HEADERS } from './http.js';
import type { LiveFeed } from './live.js';
import { QueryParamError, parseGoDurationMicros, parseTraceQuery } from './query-params.js';
import { normaliseTraceId, type StoredSpan } from './span.js';
import type { MemoryStore } from './store/memory.js';

/*
 * Port 16686: Jaeger's query HTTP API under /api (the JSON shapes of
 * jaeger-query's structuredResponse), the live feed at /api/live, and
 * everything else to the web UI's static files.
 */

interface StructuredError {
  code: number;
  msg: string;
  traceID?: string;
}

function respond(res: ServerResponse, data: unknown, total: number): void {
  sendJson(res, 200, { data, total, limit: 0, offset: 0, errors: null });
}

function respondError(res: ServerResponse, status: number, msg: string, extra?: Partial<StructuredError>, headers?: Record<string, string>): void {
  sendJson(res, status, { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: status, msg, ...extra }] }, headers);
}

export interface QueryApiOptions {
  store: MemoryStore;
  token: string | undefined;
  /** Directory of the built web UI; index.html answers every path that is not a file (client-side routes). */
  uiDir: string | undefined;
  live: LiveFeed;
  nowUs?: () => number;
  /** More /api routes (the UI's service graph, ...), tried in order after authorisation; true when one answered. */
  routes?: ApiRoute[];
}

export type ApiRoute = (req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams) => boolean;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Serves files under `dir`; a path that is not a file gets index.html (the UI routes on the client). */
export function uiHandler(dir: string | undefined): (req: IncomingMessage, res: ServerResponse, pathname: string) => void {
  const root = dir ? resolve(dir) : undefined;
  return (req, res, pathname) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    if (!root) return sendText(res, 404, 'no web UI is configured on this server; the Jaeger API is under /api\n');
    let rel: string;
    try {
      rel = normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '');
    } catch {
      return sendText(res, 400, 'malformed path\n');
    }
    const candidate = join(root, rel);
    if (candidate !== root && !candidate.startsWith(root + sep)) return sendText(res, 403, 'forbidden\n');
    const file = fileAt(candidate) ?? (extname(rel) === '' ? fileAt(join(root, 'index.html')) : undefined);
    if (!file) return sendText(res, 404, 'not found\n');
    const immutable = /\.[0-9a-f]{8,}\./i.test(file.path);
    res.writeHead(200, {
      'content-type': MIME[extname(file.path).toLowerCase()] ?? 'application/octet-stream',
      'content-length': file.size,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file.path).pipe(res);
  };
}

function fileAt(path: string): { path: string; size: number } | undefined {
  try {
    const st = statSync(path);
    if (st.isFile()) return { path, size: st.size };
    if (st.isDirectory()) {
      const index = join(path, 'index.html');
      const ist = statSync(index);
      if (ist.isFile()) return { path: index, size: ist.size };
    }
  } catch {
    // not there
  }
  return undefined;
}

/** Parent → child service calls across traces with a span starting in the window, the way Jaeger's memory store counts them. */
export function dependencies(store: MemoryStore, startUs: number, endUs: number): Array<{ parent: string; child: string; callCount: number }> {
  const counts = new Map<string, { parent: string; child: string; callCount: number }>();
  for (const spans of store.tracesBetween(startUs, endUs)) {
    const byId = new Map<string, StoredSpan>();
    for (const s of spans) byId.set(s.spanId, s);
    for (const s of spans) {
      const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      if (!parent || parent.service === s.service) continue;
      const key = `${parent.service}\u0000${s.service}`;
      const dep = counts.get(key);
      if (dep) dep.callCount++;
      else counts.set(key, { parent: parent.service, child: s.service, callCount: 1 });
    }
  }
  return [...counts.values()].sort((a, b) => (a.parent === b.parent ? (a.child < b.child ? -1 : 1) : a.parent < b.parent ? -1 : 1));
}

export function queryHandler(options: QueryApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { store, token, live } = options;
  const nowUs = options.nowUs ?? (() => Date.now() * 1000);
  const ui = uiHandler(options.uiDir);
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://query');
    const path = url.pathname;
    if (path !== '/api' && !path.startsWith('/api/')) return ui(req, res, path);
    if (!authorized(req, token, url)) return respondError(res, 401, 'missing or wrong bearer token', undefined, UNAUTHORIZED_HEADERS);
    if (req.method !== 'GET' && req.method !== 'HEAD') return respondError(res, 405, `method ${req.method} not allowed`, undefined, { allow: 'GET' });
    try {
      route(path, url.searchParams, req, res);
    } catch (err) {
      if (err instanceof QueryParamError || err instanceof HttpError) respondError(res, err instanceof HttpError ? err.status : 400, err.message);
      else respondError(res, 500, (err as Error).message);
    }
  };

  function route(path: string, params: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    if (path === '/api/services') {
      const services = store.services();
      return respond(res, services, services.length);
    }
    if (path === '/api/live') return live.attach(req, res);
    const ops = /^\/api\/services\/([^/]+)\/operations$/.exec(path);
    if (ops) {
      const names = [...new Set(store.operations(decodeURIComponent(ops[1])).map((o) => o.name))];
      return respond(res, names, names.length);
    }
    if (path === '/api/operations') {
      const service = params.get('service');
      if (!service) throw new HttpError(400, "parameter 'service' is required");
      const kind = params.get('spanKind') || undefined;
      const list = store.operations(service).filter((o) => kind === undefined || o.spanKind === kind);
      return respond(res, list, list.length);
    }
    if (path === '/api/traces') {
      const ids = params.getAll('traceID');
      if (ids.length > 0) {
        const traces = ids.map((id) => store.getTrace(normaliseTraceId(id))).filter((t): t is StoredSpan[] => t !== undefined);
        return respond(res, traces.map(toJaegerTrace), traces.length);
      }
      const query = parseTraceQuery(params, nowUs());
      const traces = store.findTraces(query).map(toJaegerTrace);
      return respond(res, traces, traces.length);
    }
    const one = /^\/api\/traces\/([^/]+)$/.exec(path);
    if (one) {
      const raw = decodeURIComponent(one[1]);
      if (!/^[0-9a-fA-F]{1,32}$/.test(raw)) throw new HttpError(400, `malformed trace id "${raw}"`);
      const spans = store.getTrace(normaliseTraceId(raw));
      if (!spans) return respondError(res, 404, 'trace not found', { traceID: raw });
      return respond(res, [toJaegerTrace(spans)], 1);
    }
    if (path === '/api/dependencies') {
      const endMs = params.get('endTs') ? Number(params.get('endTs')) : nowUs() / 1000;
      if (!Number.isFinite(endMs)) throw new QueryParamError(`unable to parse param 'endTs': "${params.get('endTs')}"`);
      const lookbackRaw = params.get('lookback');
      // Jaeger takes lookback in milliseconds here; a Go duration is accepted as well.
      const lookbackMs = !lookbackRaw ? 24 * 3600 * 1000 : /^\d+$/.test(lookbackRaw) ? Number(lookbackRaw) : parseGoDurationMicros(lookbackRaw, true) / 1000;
      const deps = dependencies(store, (endMs - lookbackMs) * 1000, endMs * 1000);
      return respond(res, deps, deps.length);
    }
    if (path === '/api/summary') {
      return respond(res, { spans: store.spanCount, traces: store.traceCount, services: store.services().length }, 1);
    }
    for (const extra of options.routes ?? []) if (extra(req, res, path, params)) return;
    throw new HttpError(404, `no such API: ${path}`);
  }
}
