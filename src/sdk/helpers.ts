import { context as contextApi, INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import { Attr, recordError, toAttributes } from './attributes.js';
import { extractFrom, injectInto, type Carrier } from './propagation.js';
import { currentInstrumentation } from './tracing.js';

/*
 * Functions run as spans. Each works for synchronous functions and for
 * ones that return a promise: the span ends when the work does, an error
 * (thrown or rejected) is recorded on it and passed on unchanged, and the
 * span is active inside the function so that its calls become children.
 * Disabled, each simply calls the function.
 */

const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function';
}

interface RunOptions {
  kind: SpanKind;
  attributes?: Readonly<Record<string, unknown>>;
  parent?: Context;
  /** Called with the span once the work succeeded, before it ends. */
  onSuccess?: (span: Span) => void;
  /** Called with the span once the work failed, after the error is recorded, before it ends. */
  onFailure?: (span: Span, error: unknown) => void;
}

function runAsSpan<T>(name: string, options: RunOptions, fn: (span: Span) => T): T {
  const inst = currentInstrumentation();
  const parent = options.parent ?? contextApi.active();
  if (!inst.enabled) return fn(trace.getSpan(parent) ?? NO_SPAN);
  const span = inst.tracer.startSpan(name, { kind: options.kind }, parent);
  if (span.isRecording() && options.attributes) span.setAttributes(toAttributes(options.attributes));
  const fail = (error: unknown): void => {
    recordError(error, undefined, span);
    options.onFailure?.(span, error);
    span.end();
  };
  const succeed = (): void => {
    options.onSuccess?.(span);
    span.end();
  };
  let result: T;
  try {
    result = contextApi.with(trace.setSpan(parent, span), fn, undefined, span);
  } catch (error) {
    fail(error);
    throw error;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => {
        succeed();
        return value;
      },
      (error: unknown) => {
        fail(error);
        throw error;
      },
    ) as T;
  }
  succeed();
  return result;
}

/** Runs fn as an INTERNAL span named `name`; errors are recorded and rethrown. */
export function instrument<T>(name: string, fn: (span: Span) => T, attributes?: Readonly<Record<string, unknown>>): T {
  return runAsSpan(name, { kind: SpanKind.INTERNAL, attributes }, fn);
}

export interface RetryOptions {
  /** Wait before attempt n+1 (ms), or a function of the attempt that failed; none by default. */
  delayMs?: number | ((attempt: number, error: unknown) => number);
  /** Whether an error is worth another attempt; every error is by default. */
  retryable?: (error: unknown) => boolean;
  attributes?: Readonly<Record<string, unknown>>;
}

/**
 * Up to `attempts` tries of fn, one child span per attempt
 * ("<name> attempt <n>", retry.attempt), under a span named `name` that
 * records the outcome: retry.attempts, retry.outcome ('success',
 * 'exhausted' or 'not-retryable'), and the last error when all failed.
 */
export async function withRetry<T>(name: string, attempts: number, fn: (attempt: number) => T | Promise<T>, options: RetryOptions = {}): Promise<T> {
  const max = Math.max(1, Math.floor(attempts));
  return runAsSpan(
    name,
    { kind: SpanKind.INTERNAL, attributes: { ...options.attributes, [Attr.RETRY_MAX_ATTEMPTS]: max } },
    async (outer) => {
      for (let attempt = 1; ; attempt++) {
        try {
          const value = await runAsSpan(`${name} attempt ${attempt}`, { kind: SpanKind.INTERNAL, attributes: { [Attr.RETRY_ATTEMPT]: attempt } }, () => fn(attempt));
          outer.setAttribute('retry.attempts', attempt);
          outer.setAttribute(Attr.RETRY_OUTCOME, 'success');
          return value;
        } catch (error) {
          const retryable = options.retryable ? options.retryable(error) : true;
          if (attempt >= max || !retryable) {
            outer.setAttribute('retry.attempts', attempt);
            outer.setAttribute(Attr.RETRY_OUTCOME, retryable ? 'exhausted' : 'not-retryable');
            throw error;
          }
          const wait = typeof options.delayMs === 'function' ? options.delayMs(attempt, error) : (options.delayMs ?? 0);
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    },
  );
}

export interface MessagingOptions {
  /** messaging.system: 'rabbitmq', 'nats', 'kafka', ... */
  system: string;
  /** messaging.operation.name; 'publish' / 'process' by default. */
  operation?: string;
  attributes?: Readonly<Record<string, unknown>>;
}

/**
 * Sending a message: a PRODUCER span "<operation> <destination>", its
 * context written into `headers` (a plain object, or NATS/fetch-style
 * headers with get/set) before fn runs, so fn publishes them.
 */
export function produce<T>(destination: string, headers: Carrier, fn: (span: Span) => T, options: MessagingOptions): T {
  const operation = options.operation ?? 'publish';
  return runAsSpan(
    `${operation} ${destination}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: { ...options.attributes, 'messaging.system': options.system, 'messaging.destination.name': destination, 'messaging.operation.type': 'send', 'messaging.operation.name': operation },
    },
    (span) => {
      const inst = currentInstrumentation();
      if (inst.enabled) injectInto(inst.propagator, headers, contextApi.active());
      return fn(span);
    },
  );
}

/** Handling a received message: a CONSUMER span "<operation> <destination>", child of the context its headers carry. */
export function consume<T>(destination: string, headers: Carrier | undefined | null, fn: (span: Span) => T, options: MessagingOptions): T {
  const inst = currentInstrumentation();
  const parent = inst.enabled ? extractFrom(inst.propagator, headers, ROOT_CONTEXT) : ROOT_CONTEXT;
  const operation = options.operation ?? 'process';
  return runAsSpan(
    `${operation} ${destination}`,
    {
      kind: SpanKind.CONSUMER,
      parent,
      attributes: { ...options.attributes, 'messaging.system': options.system, 'messaging.destination.name': destination, 'messaging.operation.type': 'process', 'messaging.operation.name': operation },
    },
    fn,
  );
}

export interface DatabaseOptions {
  /** db.system.name: 'postgresql', 'mysql', 'redis', ... */
  system: string;
  /** db.namespace (the database). */
  namespace?: string;
  /** db.collection.name (table, collection). */
  collection?: string;
  /** db.query.text; pass it parameterised, never with literal values. */
  statement?: string;
  attributes?: Readonly<Record<string, unknown>>;
}

/** A database call: a CLIENT span "<operation> <collection|namespace>". */
export function database<T>(operation: string, options: DatabaseOptions, fn: (span: Span) => T): T {
  const target = options.collection ?? options.namespace;
  return runAsSpan(
    target ? `${operation} ${target}` : operation,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        ...options.attributes,
        'db.system.name': options.system,
        'db.operation.name': operation,
        'db.namespace': options.namespace,
        'db.collection.name': options.collection,
        'db.query.text': options.statement,
      },
    },
    fn,
  );
}

export interface JobOptions {
  id?: string | number;
  attributes?: Readonly<Record<string, unknown>>;
}

/** A background job: an INTERNAL span "job <name>" with job.name, job.id and job.status ('succeeded' or 'failed'). */
export function job<T>(name: string, fn: (span: Span) => T, options: JobOptions = {}): T {
  return runAsSpan(
    `job ${name}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: { ...options.attributes, [Attr.JOB_NAME]: name, [Attr.JOB_ID]: options.id === undefined ? undefined : String(options.id) },
      onSuccess: (span) => span.setAttribute(Attr.JOB_STATUS, 'succeeded'),
      onFailure: (span) => span.setAttribute(Attr.JOB_STATUS, 'failed'),
    },
    fn,
  );
}

/** A call to an external provider (payments, mail, an LLM API): a CLIENT span "<provider> <operation>". */
export function providerCall<T>(provider: string, operation: string, fn: (span: Span) => T, attributes?: Readonly<Record<string, unknown>>): T {
  return runAsSpan(`${provider} ${operation}`, { kind: SpanKind.CLIENT, attributes: { ...attributes, [Attr.PROVIDER]: provider, [Attr.OPERATION]: operation } }, fn);
}

