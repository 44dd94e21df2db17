import type { IncomingMessage, ServerResponse } from 'node:http';
import { context as contextApi, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type SpanOptions } from '@opentelemetry/api';
import { recordError } from './attributes.js';
import { nodeHeadersGetter } from './propagation.js';
import { currentInstrumentation, type Instrumentation } from './tracing.js';

/*
 * Server spans for node:http, Express, Fastify and Koa, on one lean path:
 * the parent is extracted from the already-parsed header object, the span
 * is started with no attributes so that sampling is decided first, and
 * only a recording span gets attributes and a 'close' listener. A
 * non-recording span costs its context and nothing more.
 */

const STATE = Symbol('wiretrace.serverSpan');
const SERVER: SpanOptions = { kind: SpanKind.SERVER };

class ServerSpanState {
  readonly span: Span;
  readonly ctx: Context;
  route: string | undefined = undefined;
  /** An error was recorded (with its own error.type); the status code does not replace it. */
  failed = false;
  routeOf: ((req: IncomingMessage) => string | undefined) | undefined = undefined;
  constructor(span: Span, ctx: Context) {
    this.span = span;
    this.ctx = ctx;
  }
}

type WithState = IncomingMessage & { [STATE]?: ServerSpanState };

function contentLength(value: number | string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(Array.isArray(value) ? value[0] : value);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

function onClose(this: ServerResponse): void {
  const req = this.req as WithState;
  const state = req[STATE];
  if (state === undefined) return;
  const span = state.span;
  const status = this.statusCode;
  span.setAttribute('http.response.status_code', status);
  const route = state.route ?? state.routeOf?.(req);
  if (route) {
    span.setAttribute('http.route', route);
    span.updateName(`${req.method} ${route}`);
  }
  const requestSize = contentLength(req.headers['content-length']);
  if (requestSize !== undefined) span.setAttribute('http.request.body.size', requestSize);
  const responseSize = contentLength(this.getHeader('content-length'));
  if (responseSize !== undefined) span.setAttribute('http.response.body.size', responseSize);
  if (!this.writableFinished) {
    span.setAttribute('error.type', 'aborted');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the response was complete' });
  } else if (status >= 500 && !state.failed) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** Starts the SERVER span of a request and returns the context to run its handler in. */
function startServerSpan(inst: Instrumentation, req: IncomingMessage, res: ServerResponse): ServerSpanState {
  const parent = inst.propagator.extract(ROOT_CONTEXT, req.headers, nodeHeadersGetter);
  const method = req.method ?? 'GET';
  const span = inst.tracer.startSpan(method, SERVER, parent);
  const state = new ServerSpanState(span, trace.setSpan(parent, span));
  (req as WithState)[STATE] = state;
  if (span.isRecording()) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    // One literal of fixed shape: the span skips the undefined ones, and the for-in over it stays on V8's fast path.
    span.setAttributes({
      'http.request.method': method,
      'url.path': q === -1 ? url : url.slice(0, q),
      'url.scheme': (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      'network.peer.address': req.socket.remoteAddress,
      'user_agent.original': req.headers['user-agent'],
    });
    res.on('close', onClose);
  }
  return state;
}

function stateOf(req: IncomingMessage): ServerSpanState | undefined {
  return (req as WithState)[STATE];
}

/** The route template of a request, for servers without a router (plain node:http): names the span "GET /users/:id". */
export function setRoute(req: IncomingMessage, route: string): void {
  const state = stateOf(req);
  if (state) state.route = route;
}

/** The SERVER span of a request the middleware traces. */
export function serverSpanOf(req: IncomingMessage): Span | undefined {
  return stateOf(req)?.span;
}

function recordOnState(state: ServerSpanState, error: unknown): void {
  state.failed = true;
  recordError(error, undefined, state.span);
}

function recordOnRequest(req: IncomingMessage, error: unknown): void {
  const state = stateOf(req);
  if (state) recordOnState(state, error);
}

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

function callListener(listener: Listener, req: IncomingMessage, res: ServerResponse): unknown {
  try {
    const result = listener(req, res);
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      // Rethrown, so an unhandled rejection stays unhandled exactly as it was without tracing.
      return (result as Promise<unknown>).then(undefined, (error: unknown) => {
        recordOnRequest(req, error);
        throw error;
      });
    }
    return result;
  } catch (error) {
    recordOnRequest(req, error);
    throw error;
  }
}

/** Wraps a node:http request listener: `http.createServer(traceHttp((req, res) => ...))`. */
export function traceHttp<L extends Listener>(listener: L): L {
  const traced = (req: IncomingMessage, res: ServerResponse): unknown => {
    const inst = currentInstrumentation();
    if (!inst.enabled) return listener(req, res);
    const state = startServerSpan(inst, req, res);
    return contextApi.with(state.ctx, callListener, undefined, listener, req, res);
  };
  return traced as L;
}

// Express ---------------------------------------------------------------

interface ExpressRequest extends IncomingMessage {
  baseUrl?: string;
  route?: { path?: unknown };
}

function expressRoute(req: IncomingMessage): string | undefined {
  const r = req as ExpressRequest;
  const path = r.route?.path;
  if (path === undefined) return undefined;
  return `${r.baseUrl ?? ''}${String(path)}`;
}

/** Express middleware; mount it first: `app.use(expressMiddleware())`. */
export function expressMiddleware(): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return function wiretraceExpress(req, res, next) {
    const inst = currentInstrumentation();
    if (!inst.enabled) {
      next();
      return;
    }
    const state = startServerSpan(inst, req, res);
    state.routeOf = expressRoute;
    contextApi.with(state.ctx, next);
  };
}

/** Express error middleware; mount it after the routes to record the error a handler threw on its SERVER span. */
export function expressErrorHandler(): (err: unknown, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return function wiretraceExpressErrors(err, req, _res, next) {
    recordOnRequest(req, err);
    next(err);
  };
}

// Fastify ---------------------------------------------------------------

/** The parts of Fastify the plugin touches, typed here so that Fastify stays optional. */
interface FastifyRequestLike {
  raw: IncomingMessage;
  routeOptions?: { url?: string };
}
interface FastifyReplyLike {
  raw: ServerResponse;
}
type HookDone = (err?: Error) => void;
interface FastifyLike {
  addHook(name: 'onRequest' | 'preHandler', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone) => void): unknown;
  addHook(name: 'onError', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, error: Error, done: () => void) => void): unknown;
}
export type FastifyPluginLike = ((instance: FastifyLike, options: unknown, done: (err?: Error) => void) => void) & Record<symbol, unknown>;

/**
 * Fastify plugin: `app.register(fastifyPlugin())`. Hooks apply to every
 * route (the plugin skips encapsulation, as fastify-plugin would mark it).
 * The span is made active again in preHandler, because a request body is
 * read in callbacks that do not carry the context onRequest ran in.
 */
export function fastifyPlugin(): FastifyPluginLike {
  const plugin = ((instance: FastifyLike, _options: unknown, done: (err?: Error) => void) => {
    instance.addHook('onRequest', (request, reply, hookDone) => {
      const inst = currentInstrumentation();
      if (!inst.enabled) {
        hookDone();
        return;
      }
      const state = startServerSpan(inst, request.raw, reply.raw);
      state.route = request.routeOptions?.url;
      contextApi.with(state.ctx, hookDone);
    });
    instance.addHook('preHandler', (request, _reply, hookDone) => {
      const state = stateOf(request.raw);
      if (state === undefined) hookDone();
      else contextApi.with(state.ctx, hookDone);
    });
    instance.addHook('onError', (request, _reply, error, hookDone) => {
      recordOnRequest(request.raw, error);
      hookDone();
    });
    done();
  }) as FastifyPluginLike;
  plugin[Symbol.for('skip-override')] = true;
  plugin[Symbol.for('fastify.display-name')] = 'wiretrace';
  return plugin;
}

// Koa -------------------------------------------------------------------

interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  _matchedRoute?: unknown;
}

/** Koa middleware; mount it first: `app.use(koaMiddleware())`. The route is @koa/router's matched template. */
export function koaMiddleware(): (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown> {
  return async function wiretraceKoa(ctx, next) {
    const inst = currentInstrumentation();
    if (!inst.enabled) return next();
    const state = startServerSpan(inst, ctx.req, ctx.res);
    try {
      return await contextApi.with(state.ctx, next);
    } catch (error) {
      recordOnState(state, error);
      throw error;
    } finally {
      if (typeof ctx._matchedRoute === 'string') state.route = ctx._matchedRoute;
    }
  };
}
