import { createHash } from 'node:crypto';

/** Ids for the spans of one exchange that the wire does not reveal. */
export interface DerivedIds {
  /** Trace id used when neither the exchange nor its tree carries one. */
  traceId: string;
  serverSpanId: string;
  clientSpanId: string;
}

/**
 * Derived from what identifies the exchange in the capture (connection id and
 * position on the connection), so analysing the same capture twice yields
 * the same ids. One SHA-256 gives all three.
 */
export function deriveExchangeIds(connectionId: string, sequence: number): DerivedIds {
  const hex = createHash('sha256').update(connectionId).update('\u0000').update(String(sequence)).digest('hex');
  return {
    traceId: nonZero(hex.slice(0, 32)),
    serverSpanId: nonZero(hex.slice(32, 48)),
    clientSpanId: nonZero(hex.slice(48, 64)),
  };
}

/** An all-zero id is invalid in OpenTelemetry; a 2^-64 chance is still a chance. */
function nonZero(id: string): string {
  return /^0+$/.test(id) ? `${id.slice(0, -1)}1` : id;
}
