import { mix32 } from '../net/tcp/hash.js';

/** Ids for the spans of one exchange that the wire does not reveal. */
export interface DerivedIds {
  /** Trace id used when neither the exchange nor its tree carries one. */
  readonly traceId: string;
  readonly serverSpanId: string;
  readonly clientSpanId: string;
}

/** Distinct odd seeds, one per 32-bit lane of the 256 bits derived. */
const SEEDS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f, 0x165667b1, 0xd3a2646c, 0xfd7046c5, 0xb55a4f09];
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(n: number): string {
  return HEX[n >>> 24] + HEX[(n >>> 16) & 255] + HEX[(n >>> 8) & 255] + HEX[n & 255];
}

/** Hex of consecutive lanes; an all-zero id is invalid in OpenTelemetry, and unlikely is not impossible. */
function idFrom(lanes: Uint32Array, first: number, count: number): string {
  let text = '';
  let any = 0;
  for (let i = first; i < first + count; i++) {
    text += hex8(lanes[i]);
    any |= lanes[i];
  }
  return any === 0 ? `${text.slice(0, -1)}1` : text;
}

/** Lanes computed once; each id formatted only when asked for (with context, only the server span id is). */
class LazyIds implements DerivedIds {
  readonly #lanes: Uint32Array;
  #traceId: string | undefined;
  #serverSpanId: string | undefined;
  #clientSpanId: string | undefined;

  constructor(lanes: Uint32Array) {
    this.#lanes = lanes;
  }

  get traceId(): string {
    return (this.#traceId ??= idFrom(this.#lanes, 0, 4));
  }

  get serverSpanId(): string {
    return (this.#serverSpanId ??= idFrom(this.#lanes, 4, 2));
  }

  get clientSpanId(): string {
    return (this.#clientSpanId ??= idFrom(this.#lanes, 6, 2));
  }
}

/**
 * Derived from what identifies the exchange in the capture (connection id and
 * position on the connection), so analysing the same capture twice yields
 * the same ids. These ids need to be unique and stable, not secret: eight
 * seeded 32-bit lanes of a multiply-rotate hash, each finalised with the murmur3 mix the TCP table uses, cost a
 * fraction of a cryptographic digest on this per-exchange path.
 */
export function deriveExchangeIds(connectionId: string, sequence: number): DerivedIds {
  const lanes = new Uint32Array(8);
  for (let lane = 0; lane < 8; lane++) {
    let h = SEEDS[lane];
    for (let i = 0; i < connectionId.length; i++) {
      h = Math.imul(h ^ connectionId.charCodeAt(i), 0x01000193);
      h = (h << 13) | (h >>> 19);
    }
    h = Math.imul(h ^ sequence, 0x9e3779b1);
    h = Math.imul(h ^ Math.floor(sequence / 0x100000000), 0x85ebca6b);
    lanes[lane] = mix32(h ^ (connectionId.length + lane));
  }
  return new LazyIds(lanes);
}
