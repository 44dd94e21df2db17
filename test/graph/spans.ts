// Real OpenTelemetry spans for the graph and view tests: made by the SDK's
// BasicTracerProvider and collected by its InMemorySpanExporter, with ids
// and times fixed so every run builds the same spans.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export const BASE_SECONDS = 1_700_000_000;

export interface SpanSpec {
  service: string;
  /** The owner is known only by its address (the wire's unnamed callers). */
  external?: boolean;
  kind: SpanKind;
  name: string;
  parent?: SpanContext;
  /** Milliseconds after BASE_SECONDS. */
  startMs: number;
  durationMs: number;
  attributes?: Attributes;
  error?: string;
}

export interface CallSpec {
  from: string;
  fromExternal?: boolean;
  to: string;
  /** The caller's span this call is made under (its SERVER span), if any. */
  parent?: SpanContext;
  startMs: number;
  durationMs: number;
  method?: string;
  route?: string;
  status?: number;
  requestBytes?: number;
  responseBytes?: number;
  /** Emit the CLIENT span (the wire's spans.clientSpans). Default true. */
  clientSpan?: boolean;
  serverPort?: number;
}

function hrTime(ms: number): [number, number] {
  const whole = Math.floor(ms / 1000);
  return [BASE_SECONDS + whole, Math.round((ms - whole * 1000) * 1e6)];
}

export class SpanFactory {
  readonly #exporter = new InMemorySpanExporter();
  readonly #providers = new Map<string, BasicTracerProvider>();
  #nextTraceId = 1;
  #nextSpanId = 1;

  #tracer(service: string, external: boolean) {
    const key = `${external ? 'x' : 's'}:${service}`;
    let provider = this.#providers.get(key);
    if (!provider) {
      provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, ...(external ? { 'wiretrace.service.kind': 'external' } : {}) }),
        spanProcessors: [new SimpleSpanProcessor(this.#exporter)],
        idGenerator: {
          generateTraceId: () => `a${(this.#nextTraceId++).toString(16).padStart(31, '0')}`,
          generateSpanId: () => `b${(this.#nextSpanId++).toString(16).padStart(15, '0')}`,
        },
      });
      this.#providers.set(key, provider);
    }
    return provider.getTracer('wiretrace-test');
  }

  span(spec: SpanSpec): SpanContext {
    const ctx = spec.parent ? trace.setSpanContext(ROOT_CONTEXT, spec.parent) : ROOT_CONTEXT;
    const span = this.#tracer(spec.service, spec.external ?? false).startSpan(
      spec.name,
      { kind: spec.kind, startTime: hrTime(spec.startMs), attributes: spec.attributes },
      ctx,
    );
    if (spec.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: spec.error });
    span.end(hrTime(spec.startMs + spec.durationMs));
    return span.spanContext();
  }

  /** One HTTP exchange as the wire reports it: a CLIENT span of the caller and the SERVER span of the callee under it. */
  call(spec: CallSpec): SpanContext {
    const method = spec.method ?? 'GET';
    const route = spec.route ?? '/';
    const status = spec.status ?? 200;
    const common: Attributes = {
      'http.request.method': method,
      'http.response.status_code': status,
      'server.address': spec.to,
      'server.port': spec.serverPort ?? 8080,
      'http.request.body.size': spec.requestBytes ?? 0,
      'http.response.body.size': spec.responseBytes ?? 0,
      'wiretrace.outcome': 'complete',
      ...(status >= 400 ? { 'error.type': String(status) } : {}),
    };
    let parent = spec.parent;
    if (spec.clientSpan ?? true) {
      parent = this.span({
        service: spec.from,
        external: spec.fromExternal,
        kind: SpanKind.CLIENT,
        name: method,
        parent: spec.parent,
        startMs: spec.startMs,
        durationMs: spec.durationMs,
        attributes: common,
        error: status >= 400 ? String(status) : undefined,
      });
    }
    return this.span({
      service: spec.to,
      kind: SpanKind.SERVER,
      name: `${method} ${route}`,
      parent,
      startMs: spec.startMs + Math.min(0.1, spec.durationMs / 4),
      durationMs: spec.durationMs - Math.min(0.2, spec.durationMs / 2),
      attributes: { ...common, 'http.route': route, ...(spec.fromExternal ? { 'client.address': spec.from } : {}) },
      error: status >= 500 ? String(status) : undefined,
    });
  }

  /** Spans finished since the last take, in the order they ended. */
  take(): ReadableSpan[] {
    const spans = this.#exporter.getFinishedSpans().slice();
    this.#exporter.reset();
    return spans;
  }
}

/** A parent context no span in the set has (the caller's own span, never captured). */
export function absentParent(traceNumber: number, spanNumber: number): SpanContext {
  return { traceId: `c${traceNumber.toString(16).padStart(31, '0')}`, spanId: `d${spanNumber.toString(16).padStart(15, '0')}`, traceFlags: 1, isRemote: true };
}
