/** Ids for the spans of one exchange that the wire does not reveal. */
export interface DerivedIds {
  /** Trace id used when neither the exchange nor its tree carries one. */
  traceId: string;
  serverSpanId: string;
  clientSpanId: string;
}

/** Distinct odd seeds, one per 32-bit lane of the 256 bits derived. */
const SEEDS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f, 0x165667b1, 0xd3a2646c, 0xfd7046c5, 0xb55a4f09];
const lanes = new Uint32Array(8);

/** The murmur3 finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * Derived from what identifies the exchange in the capture (connection id and
 * position on the connection), so analysing the same capture twice yields
 * the same ids. These ids need to be unique and stable, not secret: eight
 * seeded 32-bit lanes of a multiply-rotate hash, each finalised, cost a
 * fraction of a cryptographic digest on this per-exchange path.
 */
export function deriveExchangeIds(connectionId: string, sequence: number): DerivedIds {
  for (let lane = 0; lane < 8; lane++) {
    let h = SEEDS[lane];
    for (let i = 0; i < connectionId.length; i++) {
      h = Math.imul(h ^ connectionId.charCodeAt(i), 0x01000193);
      h = (h << 13) | (h >>> 19);
    }
    h = Math.imul(h ^ sequence, 0x9e3779b1);
    h = Math.imul(h ^ Math.floor(sequence / 0x100000000), 0x85ebca6b);
    lanes[lane] = fmix32(h ^ (connectionId.length + lane));
  }
  return {
    traceId: nonZero(hex8(lanes[0]) + hex8(lanes[1]) + hex8(lanes[2]) + hex8(lanes[3])),
    serverSpanId: nonZero(hex8(lanes[4]) + hex8(lanes[5])),
    clientSpanId: nonZero(hex8(lanes[6]) + hex8(lanes[7])),
  };
}

/** An all-zero id is invalid in OpenTelemetry; unlikely is not impossible. */
function nonZero(id: string): string {
  return /^0+$/.test(id) ? `${id.slice(0, -1)}1` : id;
}
