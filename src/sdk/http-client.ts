import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { context as contextApi, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { recordError } from './attributes.js';
import { headersLikeSetter, nodeHeadersSetter } from './propagation.js';
import { currentInstrumentation } from './tracing.js';

/*
 * CLIENT spans for outgoing HTTP: a traced fetch and a wrapper of
 * http.request / https.request. Each injects the context of its own span,
 * so the server's span becomes its child. A CLIENT span is an error for
 * 4xx and 5xx, and for a request that fails before any response.
 */

function endWithStatus(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 400) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

function failed(span: Span, error: unknown): void {
  recordError(error, undefined, span);
  span.end();
}

/** url.full without credentials (a query string is kept: it is the request's identity, and redaction is the agent's). */
function fullUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

function urlAttributes(span: Span, method: string, url: URL): void {
  span.setAttribute('http.request.method', method);
  span.setAttribute('url.full', fullUrl(url));
  span.setAttribute('server.address', url.hostname);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  span.setAttribute('server.port', port);
}

/** fetch with a CLIENT span and the trace context in its headers. Same signature and result as the global fetch. */
export async function tracedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const inst = currentInstrumentation();
  if (!inst.enabled) return fetch(input, init);
  const request = input instanceof Request ? input : undefined;
  const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
  const parent = contextApi.active();
  const span = inst.tracer.startSpan(method, { kind: SpanKind.CLIENT }, parent);
  const headers = new Headers(init?.headers ?? request?.headers);
  inst.propagator.inject(trace.setSpan(parent, span), headers, headersLikeSetter);
  if (span.isRecording()) {
    try {
      urlAttributes(span, method, new URL(request ? request.url : String(input)));
    } catch {
      // fetch itself will reject the URL; the span records that.
    }
  }
  let response: Response;
  try {
    response = await fetch(input, { ...init, headers });
  } catch (error) {
    failed(span, error);
    throw error;
  }
  endWithStatus(span, response.status);
  return response;
}

type ResponseCallback = (res: IncomingMessage) => void;

function toOptions(url: string | URL | RequestOptions, options?: RequestOptions | ResponseCallback): RequestOptions {
  const base: RequestOptions = typeof url === 'string' || url instanceof URL ? (urlToHttpOptions(new URL(url)) as RequestOptions) : { ...url };
  return typeof options === 'object' ? { ...base, ...options } : base;
}

function urlOf(options: RequestOptions): URL {
  const protocol = options.protocol ?? 'http:';
  const host = options.hostname ?? options.host ?? 'localhost';
  const port = options.port !== undefined && options.port !== null ? `:${options.port}` : '';
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new URL(`${protocol}//${hostPart}${port}${options.path ?? '/'}`);
}

/**
 * http.request / https.request (chosen by the protocol) with a CLIENT span.
 * The span ends when the response has been read (or the request failed),
 * so read or resume the response as usual.
 */
export function tracedRequest(url: string | URL | RequestOptions, options?: RequestOptions | ResponseCallback, callback?: ResponseCallback): ClientRequest {
  const cb = typeof options === 'function' ? options : callback;
  const opts = toOptions(url, options);
  const transport = opts.protocol === 'https:' ? https : http;
  const inst = currentInstrumentation();
  if (!inst.enabled) return cb ? transport.request(opts, cb) : transport.request(opts);
  const method = (opts.method ?? 'GET').toUpperCase();
  const parent = contextApi.active();
  const span = inst.tracer.startSpan(method, { kind: SpanKind.CLIENT }, parent);
  const headers: Record<string, unknown> = { ...(opts.headers as Record<string, unknown> | undefined) };
  inst.propagator.inject(trace.setSpan(parent, span), headers, nodeHeadersSetter);
  opts.headers = headers as RequestOptions['headers'];
  if (span.isRecording()) urlAttributes(span, method, urlOf(opts));
  const req = transport.request(opts);
  let ended = false;
  req.once('response', (res: IncomingMessage) => {
    res.once('close', () => {
      if (ended) return;
      ended = true;
      endWithStatus(span, res.statusCode ?? 0);
    });
  });
  req.once('error', (error) => {
    if (ended) return;
    ended = true;
    failed(span, error);
  });
  if (cb) req.once('response', contextApi.bind(parent, cb));
  return req;
}
