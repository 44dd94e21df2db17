/**
 * Per-connection state of the reassembler. Kept small: two half-streams, the
 * endpoint identity as numbers (compared without allocating), and the links
 * of the hash bucket and the activity list.
 */
import type { Endpoint } from '../../model/endpoint.js';
import type { ConnectionInfo, StreamConsumer } from '../../model/stream.js';
import type { HrTime } from '../../model/time.js';

/**
 * Bytes that arrived ahead of the delivery point, copied out of their frame.
 * `data === null` marks bytes that were on the wire but cut by the snaplen.
 */
export class PendingChunk {
  constructor(
    /** Sequence number of the chunk's first byte. */
    readonly seq: number,
    readonly len: number,
    readonly data: Buffer | null,
    readonly tsSec: number,
    readonly tsNsec: number,
    /**
     * The segment acknowledged the peer's stream up to here, beyond what was
     * delivered: these bytes go out only after those (−1: no such wait).
     */
    readonly need: number,
  ) {}
}

/** The bytes one side of a connection sends. */
export class HalfStream {
  /** The first segment seen from this side fixes where its stream starts. */
  seqKnown = false;
  /** Sequence number of the next byte to deliver. */
  nextSeq = 0;
  synSeen = false;
  /** Initial sequence number from this side's SYN (valid when synSeen). */
  isn = 0;
  finSeen = false;
  /** Sequence number the FIN occupies: everything before it is the stream. */
  finSeq = 0;
  /**
   * The peer's ACK (or this side's RST) proved bytes up to `provenSentTo`
   * left the sender; if the capture does not show them soon, they are a hole.
   */
  provenPending = false;
  provenSentTo = 0;
  /** Sorted by sequence, non-overlapping, all after nextSeq. */
  pending: PendingChunk[] = [];
  /** Captured bytes held in `pending` (the per-stream limit applies to these). */
  pendingBytes = 0;

  /** Everything up to the FIN has been delivered (or declared missing). */
  get finished(): boolean {
    return this.finSeen && ((this.nextSeq - this.finSeq) | 0) >= 0;
  }

  release(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}

export type Side = 0 | 1;

/**
 * One tracked connection. "Side 0" is the sender of the first segment seen;
 * directions handed to consumers are derived from `clientSide` at each call,
 * so swapping roles re-labels everything delivered afterwards, including
 * bytes already buffered.
 */
export class TrackedConnection implements ConnectionInfo {
  readonly id: string;
  readonly index: number;
  client: Endpoint;
  server: Endpoint;
  rolesFromHandshake: boolean;
  readonly firstSeen: HrTime;

  /** Which side (0 or 1) is currently the client. */
  clientSide: Side;
  readonly halves: readonly [HalfStream, HalfStream] = [new HalfStream(), new HalfStream()];
  consumer: StreamConsumer | null = null;
  /** Ended (FIN/RST): kept only to recognise late retransmissions. */
  closed = false;
  /** Both FINs or a RST seen: the connection ends with this reason once nothing is missing, or at the stall deadline. */
  closing: 'fin' | 'rst' | null = null;
  /** Capture second since which this connection waits on missing bytes (−1: not waiting). */
  stallSinceSec = -1;
  /** Segments of this connection seen while waiting. */
  stallSegments = 0;

  // Identity: address words (IPv4 uses word 0 only) and ports of each side.
  readonly addrLen: number;
  readonly a0: number;
  readonly a1: number;
  readonly a2: number;
  readonly a3: number;
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly b3: number;
  readonly port0: number;
  readonly port1: number;
  readonly bucketKey: number;

  /** Next connection in the same hash bucket. */
  bucketNext: TrackedConnection | null = null;
  /** Links of the activity list (least recently active first). */
  lruPrev: TrackedConnection | null = null;
  lruNext: TrackedConnection | null = null;
  /** Capture second of the last segment. */
  lastActiveSec = 0;

  constructor(init: {
    id: string;
    index: number;
    side0: Endpoint;
    side1: Endpoint;
    clientSide: Side;
    rolesFromHandshake: boolean;
    firstSeen: HrTime;
    addrLen: number;
    words: readonly number[];
    bucketKey: number;
  }) {
    this.id = init.id;
    this.index = init.index;
    this.clientSide = init.clientSide;
    this.client = init.clientSide === 0 ? init.side0 : init.side1;
    this.server = init.clientSide === 0 ? init.side1 : init.side0;
    this.rolesFromHandshake = init.rolesFromHandshake;
    this.firstSeen = init.firstSeen;
    this.addrLen = init.addrLen;
    const w = init.words;
    this.a0 = w[0];
    this.a1 = w[1];
    this.a2 = w[2];
    this.a3 = w[3];
    this.b0 = w[4];
    this.b1 = w[5];
    this.b2 = w[6];
    this.b3 = w[7];
    this.port0 = init.side0.port;
    this.port1 = init.side1.port;
    this.bucketKey = init.bucketKey;
  }

  swapRoles(): void {
    const client = this.client;
    this.client = this.server;
    this.server = client;
    this.clientSide = this.clientSide === 0 ? 1 : 0;
  }

  /** Direction number for bytes sent by `side`, under the current roles. */
  directionOf(side: Side): 0 | 1 {
    return side === this.clientSide ? 0 : 1;
  }
}

/** Doubly linked list of connections ordered by last activity; O(1) touch, no allocation. */
export class ActivityList {
  head: TrackedConnection | null = null;
  tail: TrackedConnection | null = null;
  size = 0;

  append(c: TrackedConnection): void {
    c.lruPrev = this.tail;
    c.lruNext = null;
    if (this.tail) this.tail.lruNext = c;
    else this.head = c;
    this.tail = c;
    this.size++;
  }

  remove(c: TrackedConnection): void {
    if (c.lruPrev) c.lruPrev.lruNext = c.lruNext;
    else this.head = c.lruNext;
    if (c.lruNext) c.lruNext.lruPrev = c.lruPrev;
    else this.tail = c.lruPrev;
    c.lruPrev = null;
    c.lruNext = null;
    this.size--;
  }

  touch(c: TrackedConnection): void {
    if (this.tail === c) return;
    this.remove(c);
    this.append(c);
  }
}
