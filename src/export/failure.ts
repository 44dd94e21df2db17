/**
 * Whether a failed export is worth trying again. Exporters report failures
 * through the OpenTelemetry `ExportResult` (code FAILED plus an `error`);
 * this module is the one place that turns such an error into "retry, maybe
 * after N ms" or "give up", so that every exporter is retried the same way.
 */

/** HTTP statuses the OTLP specification calls retryable. */
const RETRYABLE_HTTP_STATUSES = new Set([429, 502, 503, 504]);

/** Socket-level failures that say "the receiver is not there right now", not "the request is wrong". */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
]);

/**
 * gRPC status codes the OTLP specification lists as retryable: CANCELLED,
 * DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, OUT_OF_RANGE, UNAVAILABLE,
 * DATA_LOSS.
 */
const RETRYABLE_GRPC_CODES = new Set([1, 4, 8, 10, 11, 14, 15]);

const GRPC_CODE_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

export function isRetryableHttpStatus(status: number): boolean {
  return RETRYABLE_HTTP_STATUSES.has(status);
}

export function isRetryableNetworkCode(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE_NETWORK_CODES.has(code);
}

/**
 * `Retry-After` as milliseconds from now: either delay-seconds or an HTTP
 * date. Unparseable or absent gives undefined (the backoff decides).
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * The error an exporter of ours hands back in a FAILED `ExportResult`. It
 * carries its own verdict so that nothing downstream parses messages.
 */
export class ExportFailure extends Error {
  readonly retryable: boolean;
  /** What the receiver asked for (Retry-After), when it did. */
  readonly retryAfterMs: number | undefined;
  /** Short stable reason: 'http-503', 'ECONNREFUSED', 'timeout', 'grpc-UNAVAILABLE', ... */
  readonly reason: string;

  constructor(message: string, options: { retryable: boolean; reason: string; retryAfterMs?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ExportFailure';
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.reason = options.reason;
  }

  static httpStatus(status: number, retryAfter: string | string[] | undefined, detail: string): ExportFailure {
    const retryable = isRetryableHttpStatus(status);
    return new ExportFailure(`receiver answered HTTP ${status}${detail ? `: ${detail}` : ''}`, {
      retryable,
      reason: `http-${status}`,
      retryAfterMs: retryable ? parseRetryAfter(retryAfter) : undefined,
    });
  }

  static network(err: NodeJS.ErrnoException): ExportFailure {
    const code = err.code ?? 'network-error';
    return new ExportFailure(`cannot reach receiver: ${err.message}`, { retryable: isRetryableNetworkCode(err.code), reason: code, cause: err });
  }

  static timeout(ms: number): ExportFailure {
    return new ExportFailure(`export timed out after ${ms} ms`, { retryable: true, reason: 'timeout' });
  }
}

export interface FailureVerdict {
  retryable: boolean;
  retryAfterMs: number | undefined;
  reason: string;
}

/**
 * Classifies any error an exporter reported. Our own exporters throw
 * `ExportFailure`; the OpenTelemetry gRPC exporter hands back the grpc-js
 * `ServiceError` (numeric `code`); a plain socket error carries a string
 * `code`. Anything else is treated as not retryable: retrying what we do not
 * understand only multiplies the damage.
 */
export function classifyExportError(error: unknown): FailureVerdict {
  if (error instanceof ExportFailure) return { retryable: error.retryable, retryAfterMs: error.retryAfterMs, reason: error.reason };
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'number' && 'metadata' in error) {
      return { retryable: RETRYABLE_GRPC_CODES.has(code), retryAfterMs: undefined, reason: `grpc-${GRPC_CODE_NAMES[code] ?? code}` };
    }
    if (typeof code === 'string') return { retryable: isRetryableNetworkCode(code), retryAfterMs: undefined, reason: code };
  }
  return { retryable: false, retryAfterMs: undefined, reason: 'error' };
}
