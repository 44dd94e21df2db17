/**
 * TCP reassembly: turns segments into two ordered byte streams per
 * connection, announcing every missing byte as a gap.
 *
 * Per packet the work is a hash of the address words and ports, a walk of a
 * (nearly always one-entry) bucket comparing numbers, an O(1) move in the
 * activity list and a few sequence comparisons. In-order payload goes to the
 * consumer as a view of the captured frame; only bytes that arrive ahead of
 * a hole are copied.
 *
 * Roles. A SYN without ACK makes its sender the client, a SYN-ACK its
 * receiver. A connection first seen mid-stream gets provisional roles: the
 * side with the lower port is the server (well-known ports sit below the
 * registered ones, which sit below every OS's ephemeral range), and on equal
 * ports the destination of the first segment seen. Protocol detection may
 * correct that with `swapRoles()`; directions are derived from the current
 * roles at each callback, so bytes already buffered follow the swap.
 *
 * Holes. Missing bytes become `onGap(..., 'hole')` once they are proven
 * sent and still not captured, or when something forces it. Proof is the
 * peer's ACK past them, a RST's sequence number, or both FINs. Captures can
 * show an ACK before the data it acknowledges (merged interfaces, mirror
 * ports), so proof starts a short wait: the hole is declared when the
 * connection has seen STALL_SEGMENTS more segments or a full capture second
 * has passed, whichever is first. Forcing is immediate: the out-of-order
 * buffer limit, capture end, idle expiry, eviction, reuse of the tuple.
 * A connection that closes (both FINs, or a RST) ends as soon as nothing
 * is missing, or at the end of that wait.
 *
 * Order across directions. A segment's ACK says which of the peer's bytes
 * its sender had received before sending it. Bytes whose ACK runs ahead of
 * the peer's delivered stream are held until those peer bytes are delivered
 * (or declared missing), so a response captured before its request still
 * reaches the consumer after it. A connection that reuses a tuple
 * without a SYN the reassembler saw is not recognised: its segments fall
 * outside the sequence window and are counted as 'out-of-window' until the
 * old connection idles out.
 */
import type { Endpoint } from '../../model/endpoint.js';
import { TcpFlag, type SegmentSink, type TcpSegment } from '../../model/packet.js';
import type { Stats } from '../../model/stats.js';
import type { EndReason, GapReason, StreamConsumerFactory } from '../../model/stream.js';
import { formatIPv4, formatIPv6 } from '../decode.js';
import { ActivityList, PendingChunk, TrackedConnection, type HalfStream, type Side } from './connection.js';
import { connectionId, endpointHash, pairKey } from './hash.js';
import { SEQ_WINDOW, seqAdd, seqDiff } from './seq.js';

export interface TcpReassemblerLimits {
  /** Connections tracked at once; beyond it the least recently active is evicted. */
  maxConnections: number;
  /** Out-of-order bytes held per direction; beyond it the hole before them becomes a gap. */
  maxBufferedBytesPerStream: number;
  /** Capture seconds of silence after which a connection is ended as 'idle'. */
  connectionIdleSeconds: number;
}

/**
 * Out-of-order pieces held per direction, whatever their size: a flood of
 * one-byte segments must not turn each insertion into a long array shift.
 */
export const MAX_PENDING_CHUNKS_PER_STREAM = 4096;

/** Larger than any IP payload a capture can describe (IPv6 jumbograms aside); beyond it a segment is garbage. */
const MAX_SEGMENT_LENGTH = 1 << 24;

/** Segments of a connection after proof of a hole before it is declared (see the file comment). */
export const STALL_SEGMENTS = 32;

const { FIN, SYN, RST, ACK } = TcpFlag;

/** A held chunk that waits for nothing from the peer. */
const NO_NEED = -1;

const SIDES_0_FIRST = [0, 1] as const;
const SIDES_1_FIRST = [1, 0] as const;

const SYN_OPENS_HANDSHAKE = 0;
const SYN_RETRANSMITTED = 1;
const SYN_STARTS_NEW_CONNECTION = 2;

export class TcpReassembler implements SegmentSink {
  readonly #factory: StreamConsumerFactory;
  readonly #stats: Stats;
  readonly #maxConnections: number;
  readonly #maxPendingBytes: number;
  readonly #idleSeconds: number;

  /** Hash of both endpoints (direction-independent) → chain of connections. */
  readonly #buckets = new Map<number, TrackedConnection>();
  /** Connections still delivering, least recently active first. */
  readonly #live = new ActivityList();
  /** Ended by FIN/RST, remembered so late retransmissions do not open a new connection. */
  readonly #closed = new ActivityList();
  /** Connections waiting on bytes proven sent but not captured (bounded by the table). */
  readonly #stalled = new Set<TrackedConnection>();
  #created = 0;

  /** Latest capture time seen; seconds drive ticks and idle expiry. */
  #clockSec = -Infinity;
  #clockNsec = 0;

  // Address words of the segment being handled (IPv4 fills word 0 only).
  #addrLen = 0;
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;
  #d0 = 0;
  #d1 = 0;
  #d2 = 0;
  #d3 = 0;

  constructor(factory: StreamConsumerFactory, stats: Stats, limits: TcpReassemblerLimits) {
    this.#factory = factory;
    this.#stats = stats;
    this.#maxConnections = Math.max(1, limits.maxConnections);
    this.#maxPendingBytes = Math.max(1, limits.maxBufferedBytesPerStream);
    this.#idleSeconds = limits.connectionIdleSeconds;
  }

  /** Connections currently tracked and not yet ended. */
  get activeConnections(): number {
    return this.#live.size;
  }

  onSegment(seg: TcpSegment): void {
    if (!wellFormed(seg)) {
      this.#stats.tcp.add('malformed');
      return;
    }
    const sec = seg.tsSec;
    if (sec > this.#clockSec) this.#advanceClock(sec, seg.tsNsec);
    else if (sec === this.#clockSec && seg.tsNsec > this.#clockNsec) this.#clockNsec = seg.tsNsec;

    const key = this.#loadEndpoints(seg);
    let conn = this.#buckets.get(key) ?? null;
    let side = -1;
    while (conn !== null) {
      side = this.#sideOf(conn, seg);
      if (side >= 0) break;
      conn = conn.bucketNext;
    }

    const flags = seg.flags;
    if (conn === null) {
      // A RST for a connection never seen carries nothing to deliver.
      if (flags & RST) {
        this.#stats.tcp.add('rst-untracked');
        return;
      }
      conn = this.#open(seg, key);
      side = 0;
    } else if (conn.closed) {
      if ((flags & SYN) === 0) {
        this.#touch(conn);
        // The last ACK of a close is how every connection ends; only a segment
        // that still carries something is worth counting.
        if (seg.payloadOrigLen > 0 || flags & (FIN | RST)) this.#stats.tcp.add('after-close');
        return;
      }
      this.#forgetClosed(conn);
      this.#stats.tcp.add('reused-tuple');
      conn = this.#open(seg, key);
      side = 0;
    } else if (flags & SYN) {
      const verdict = synVerdict(conn, side as Side, seg);
      if (verdict === SYN_RETRANSMITTED) {
        this.#touch(conn);
        this.#stats.tcp.add('retransmission');
        return;
      }
      if (verdict === SYN_STARTS_NEW_CONNECTION) {
        this.#stats.tcp.add('reused-tuple');
        this.#end(conn, 'reused', sec, seg.tsNsec);
        conn = this.#open(seg, key);
        side = 0;
      }
    }
    this.#touch(conn);
    this.#process(conn, side as Side, seg);
  }

  /** Capture end: deliver what is buffered (holes as gaps) and end every connection, oldest first. */
  finish(): void {
    const remaining: TrackedConnection[] = [];
    for (let c = this.#live.head; c !== null; c = c.lruNext) remaining.push(c);
    remaining.sort((a, b) => a.index - b.index);
    const sec = Number.isFinite(this.#clockSec) ? this.#clockSec : 0;
    for (const c of remaining) {
      // A connection that was closing ends as it closed; only the wait for stragglers is cut short.
      if (c.closing !== null) this.#settle(c, true, sec, this.#clockNsec);
      else this.#end(c, 'capture-end', sec, this.#clockNsec);
    }
    while (this.#closed.head !== null) this.#forgetClosed(this.#closed.head);
  }

  #process(conn: TrackedConnection, side: Side, seg: TcpSegment): void {
    const me = conn.halves[side];
    const peerSide: Side = side === 0 ? 1 : 0;
    const peer = conn.halves[peerSide];
    const flags = seg.flags;
    const sec = seg.tsSec;
    const nsec = seg.tsNsec;

    let dataSeq = seg.seq >>> 0;
    if (flags & SYN) {
      if (!me.seqKnown) {
        me.seqKnown = true;
        me.synSeen = true;
        me.isn = dataSeq;
        me.nextSeq = seqAdd(dataSeq, 1);
      }
      dataSeq = seqAdd(dataSeq, 1);
      if (!conn.rolesFromHandshake && (conn.clientSide === side) === ((flags & ACK) === 0)) conn.rolesFromHandshake = true;
    } else if (!me.seqKnown) {
      me.seqKnown = true;
      me.nextSeq = dataSeq;
    }

    // The ACK speaks for the peer's stream, whose bytes precede this segment's own:
    // until they are delivered (or declared missing), this segment's bytes wait.
    let need = NO_NEED;
    if (flags & ACK && peer.seqKnown) {
      const ahead = seqDiff(seg.ack, peer.nextSeq);
      if (ahead > 0 && ahead <= SEQ_WINDOW && !peer.finished) {
        this.#provenSent(conn, peer, seg.ack >>> 0);
        if (peer.provenPending) need = seg.ack >>> 0;
      }
    }

    const seqLen = seg.payloadOrigLen > seg.payloadLen ? seg.payloadOrigLen : seg.payloadLen;
    if (seqLen > 0) {
      this.#place(conn, side, dataSeq, seg, seqLen, need);
      if (conn.closed) return;
    }
    if (flags & FIN) this.#finSeen(me, seqAdd(dataSeq, seqLen));

    if (flags & RST) {
      // Stacks ignore a RST outside the window; so do we, or stray garbage could end a live connection.
      const rstSeq = seqAdd(dataSeq, seqLen);
      const offset = seqDiff(rstSeq, me.nextSeq);
      if (offset > SEQ_WINDOW || offset < -SEQ_WINDOW) this.#stats.tcp.add('out-of-window');
      else {
        conn.closing = 'rst';
        // A RST carries the sender's next sequence number: everything before it was sent.
        if (offset > 0) this.#provenSent(conn, me, rstSeq);
        else this.#stall(conn);
      }
    } else if (me.finSeen && peer.finSeen && conn.closing === null) {
      conn.closing = 'fin';
      this.#stall(conn);
    }
    if (conn.stallSinceSec >= 0) this.#settle(conn, ++conn.stallSegments > STALL_SEGMENTS, sec, nsec);
  }

  /** Bytes of `h` up to `seq` were sent (the ACK or RST says so); wait a little for the capture to show them. */
  #provenSent(conn: TrackedConnection, h: HalfStream, seq: number): void {
    let target = seq;
    // The FIN occupies one sequence number that is not a byte of the stream.
    if (h.finSeen && seqDiff(target, h.finSeq) > 0) target = h.finSeq;
    if (seqDiff(target, h.nextSeq) <= 0) return;
    if (!h.provenPending || seqDiff(target, h.provenSentTo) > 0) h.provenSentTo = target;
    h.provenPending = true;
    this.#stall(conn);
  }

  #stall(conn: TrackedConnection): void {
    if (conn.stallSinceSec >= 0) return;
    conn.stallSinceSec = this.#clockSec;
    conn.stallSegments = 0;
    this.#stalled.add(conn);
  }

  #unstall(conn: TrackedConnection): void {
    conn.stallSinceSec = -1;
    this.#stalled.delete(conn);
  }

  /**
   * Re-check a waiting connection: drop proofs the capture has caught up
   * with, end a closing connection that lacks nothing. With `force`, what is
   * proven sent and still missing becomes holes, and a closing connection ends.
   */
  #settle(conn: TrackedConnection, force: boolean, sec: number, nsec: number): void {
    if (force) this.#declareProvenHoles(conn, sec, nsec);
    let waiting = false;
    for (const h of conn.halves) {
      if (!h.provenPending) continue;
      if (seqDiff(h.provenSentTo, h.nextSeq) <= 0) h.provenPending = false;
      else waiting = true;
    }
    if (conn.closing !== null) {
      const [a, b] = conn.halves;
      const complete = !waiting && a.pending.length === 0 && b.pending.length === 0 && (conn.closing === 'rst' || (a.finished && b.finished));
      if (complete || force) {
        this.#end(conn, conn.closing, sec, nsec);
        return;
      }
      waiting = true;
    }
    if (!waiting) this.#unstall(conn);
    else if (force) conn.stallSegments = 0;
  }

  /**
   * Bytes proven sent that the capture never showed become holes, one at a
   * time, delivering in causal order between them what they were holding up.
   */
  #declareProvenHoles(conn: TrackedConnection, sec: number, nsec: number): void {
    const order = conn.clientSide === 0 ? SIDES_0_FIRST : SIDES_1_FIRST;
    for (;;) {
      this.#drainAll(conn);
      let progress = false;
      for (const side of order) {
        const h = conn.halves[side];
        if (!h.provenPending) continue;
        const remaining = seqDiff(h.provenSentTo, h.nextSeq);
        if (remaining <= 0) continue;
        const ahead = h.pending.length > 0 ? seqDiff(h.pending[0].seq, h.nextSeq) : remaining;
        if (ahead > 0) {
          this.#gap(conn, side, ahead < remaining ? ahead : remaining, 'hole', sec, nsec);
          progress = true;
        }
      }
      if (progress) continue;
      // Only ACKs no traffic could produce hold anything up now: deliver in sequence order regardless.
      for (const side of order) {
        const h = conn.halves[side];
        if (h.provenPending && seqDiff(h.provenSentTo, h.nextSeq) > 0 && this.#drain(conn, side, true)) progress = true;
      }
      if (!progress) return;
    }
  }

  /** Payload of `seqLen` sequence bytes starting at `seq`; the first `seg.payloadLen` were captured. */
  #place(conn: TrackedConnection, side: Side, seq: number, seg: TcpSegment, seqLen: number, need: number): void {
    const h = conn.halves[side];
    const stats = this.#stats;
    let capLen = seg.payloadLen;
    const rel = seqDiff(seq, h.nextSeq);
    if (rel + seqLen <= 0) {
      stats.tcp.add('retransmission');
      return;
    }
    if (rel > SEQ_WINDOW) {
      stats.tcp.add('out-of-window');
      return;
    }
    if (h.finSeen) {
      const room = seqDiff(h.finSeq, seq);
      if (room < seqLen) {
        stats.tcp.add('beyond-fin');
        if (room <= 0 || rel + room <= 0) return;
        seqLen = room;
        if (capLen > room) capLen = room;
      }
    }
    if (rel > 0) {
      this.#hold(conn, side, seq, seg.data, seg.payloadOffset, capLen, seqLen, seg.tsSec, seg.tsNsec, need);
      return;
    }
    let skip = 0;
    if (rel < 0) {
      stats.tcp.add('overlap');
      skip = -rel;
    }
    if (need !== NO_NEED || (h.pending.length > 0 && h.pending[0].seq === h.nextSeq)) {
      // In order, but behind peer bytes it acknowledges, or behind held bytes that wait for the peer.
      const captured = skip < capLen ? capLen - skip : 0;
      this.#hold(conn, side, h.nextSeq, seg.data, seg.payloadOffset + skip, captured, seqLen - skip, seg.tsSec, seg.tsNsec, need);
      return;
    }
    if (skip < capLen) this.#data(conn, side, seg.data, seg.payloadOffset + skip, capLen - skip, seg.tsSec, seg.tsNsec);
    const cutFrom = skip > capLen ? skip : capLen;
    if (seqLen > cutFrom) this.#gap(conn, side, seqLen - cutFrom, 'truncated', seg.tsSec, seg.tsNsec);
    if (h.pending.length > 0 || conn.halves[side === 0 ? 1 : 0].pending.length > 0) this.#drainAll(conn);
  }

  /**
   * Bytes that cannot be delivered yet (ahead of a hole, or waiting for the
   * peer): copy what is new, then keep the buffer within its limit.
   */
  #hold(conn: TrackedConnection, side: Side, seq: number, buf: Buffer, off: number, capLen: number, seqLen: number, sec: number, nsec: number, need: number): void {
    const h = conn.halves[side];
    const ahead = seqDiff(seq, h.nextSeq) > 0;
    let added = insertPending(h, seq, capLen, buf, off, sec, nsec, need);
    if (seqLen > capLen) added += insertPending(h, seqAdd(seq, capLen), seqLen - capLen, null, 0, sec, nsec, need);
    if (added === 0) {
      this.#stats.tcp.add('retransmission');
      return;
    }
    if (ahead) this.#stats.tcp.add('out-of-order');
    if (added < seqLen) this.#stats.tcp.add('overlap');
    if (!ahead) this.#drainAll(conn);

    while (h.pendingBytes > this.#maxPendingBytes || h.pending.length > MAX_PENDING_CHUNKS_PER_STREAM) {
      this.#stats.drops.add(h.pendingBytes > this.#maxPendingBytes ? 'max-buffered-bytes' : 'max-buffered-segments');
      const gap = seqDiff(h.pending[0].seq, h.nextSeq);
      if (gap > 0) {
        this.#gap(conn, side, gap, 'hole', sec, nsec);
      } else {
        // What holds this buffer is a wait for the peer's bytes: end the wait.
        this.#settle(conn, true, sec, nsec);
        if (conn.closed) return;
        this.#drain(conn, side, true);
      }
      this.#drainAll(conn);
    }
  }

  #finSeen(h: HalfStream, finSeq: number): void {
    if (h.finSeen) return;
    h.finSeen = true;
    h.finSeq = seqDiff(finSeq, h.nextSeq) < 0 ? h.nextSeq : finSeq;
    // Held bytes past the FIN cannot belong to this stream.
    const pending = h.pending;
    while (pending.length > 0 && seqDiff(pending[pending.length - 1].seq, h.finSeq) >= 0) {
      const dropped = pending.pop() as PendingChunk;
      if (dropped.data !== null) h.pendingBytes -= dropped.len;
      this.#stats.tcp.add('beyond-fin');
    }
  }

  /** Deliver through `target` in sequence order, declaring every uncaptured range on the way a hole. */
  #advanceTo(conn: TrackedConnection, side: Side, target: number, sec: number, nsec: number): void {
    const h = conn.halves[side];
    for (;;) {
      const remaining = seqDiff(target, h.nextSeq);
      if (remaining <= 0) break;
      const first = h.pending.length > 0 ? h.pending[0] : undefined;
      if (first === undefined) {
        this.#gap(conn, side, remaining, 'hole', sec, nsec);
        break;
      }
      const ahead = seqDiff(first.seq, h.nextSeq);
      if (ahead <= 0) this.#drain(conn, side, true);
      else this.#gap(conn, side, ahead < remaining ? ahead : remaining, 'hole', sec, nsec);
    }
    if (h.pending.length > 0) this.#drain(conn, side, true);
  }

  /** Deliver, on both sides, held chunks that continue their stream and whose peer bytes have been delivered. */
  #drainAll(conn: TrackedConnection): void {
    const first = conn.clientSide;
    const second = first === 0 ? 1 : 0;
    let progress = true;
    while (progress) {
      progress = this.#drain(conn, first, false);
      if (this.#drain(conn, second, false)) progress = true;
    }
  }

  /** Deliver held chunks that now continue the stream of `side` (with `ignoreNeeds`, whatever the peer owes). Returns whether any were. */
  #drain(conn: TrackedConnection, side: Side, ignoreNeeds: boolean): boolean {
    const h = conn.halves[side];
    const peer = conn.halves[side === 0 ? 1 : 0];
    const pending = h.pending;
    let used = 0;
    while (used < pending.length) {
      const c = pending[used];
      const rel = seqDiff(c.seq, h.nextSeq);
      if (rel > 0) break;
      if (!ignoreNeeds && c.need !== NO_NEED && !peerDelivered(peer, c.need)) break;
      used++;
      if (c.data !== null) h.pendingBytes -= c.len;
      const fresh = c.len + rel;
      if (fresh <= 0) continue;
      if (c.data !== null) this.#data(conn, side, c.data, -rel, fresh, c.tsSec, c.tsNsec);
      else this.#gap(conn, side, fresh, 'truncated', c.tsSec, c.tsNsec);
    }
    if (used === 0) return false;
    if (used === pending.length) pending.length = 0;
    else pending.splice(0, used);
    return true;
  }

  /** Everything held, and everything before a seen FIN or proven sent, is delivered; the rest are holes. */
  #flush(conn: TrackedConnection, side: Side, sec: number, nsec: number): void {
    const h = conn.halves[side];
    if (!h.seqKnown) return;
    let target = h.nextSeq;
    const last = h.pending.length > 0 ? h.pending[h.pending.length - 1] : undefined;
    if (last !== undefined) target = seqAdd(last.seq, last.len);
    if (h.finSeen && seqDiff(h.finSeq, target) > 0) target = h.finSeq;
    if (h.provenPending && seqDiff(h.provenSentTo, target) > 0) target = h.provenSentTo;
    if (seqDiff(target, h.nextSeq) > 0) this.#advanceTo(conn, side, target, sec, nsec);
  }

  #data(conn: TrackedConnection, side: Side, buf: Buffer, off: number, len: number, sec: number, nsec: number): void {
    const h = conn.halves[side];
    h.nextSeq = seqAdd(h.nextSeq, len);
    conn.consumer?.onData(conn.directionOf(side), buf, off, len, sec, nsec);
  }

  #gap(conn: TrackedConnection, side: Side, len: number, reason: GapReason, sec: number, nsec: number): void {
    const h = conn.halves[side];
    h.nextSeq = seqAdd(h.nextSeq, len);
    this.#stats.gapBytes += len;
    this.#stats.tcp.add(reason === 'hole' ? 'gap' : 'truncated');
    conn.consumer?.onGap(conn.directionOf(side), len, reason, sec, nsec);
  }

  /** Flush both directions (client's first), then tell the consumer the connection is over. */
  #end(conn: TrackedConnection, reason: EndReason, sec: number, nsec: number): void {
    if (conn.closed) return;
    this.#declareProvenHoles(conn, sec, nsec);
    const first = conn.clientSide;
    this.#flush(conn, first, sec, nsec);
    this.#flush(conn, first === 0 ? 1 : 0, sec, nsec);
    const consumer = conn.consumer;
    conn.consumer = null;
    conn.closed = true;
    if (conn.stallSinceSec >= 0) this.#unstall(conn);
    conn.halves[0].release();
    conn.halves[1].release();
    this.#live.remove(conn);
    if (reason === 'fin' || reason === 'rst') this.#closed.append(conn);
    else this.#unbucket(conn);
    consumer?.onEnd(reason, sec, nsec);
  }

  #forgetClosed(conn: TrackedConnection): void {
    this.#closed.remove(conn);
    this.#unbucket(conn);
  }

  #unbucket(conn: TrackedConnection): void {
    const key = conn.bucketKey;
    const head = this.#buckets.get(key);
    if (head === conn) {
      if (conn.bucketNext === null) this.#buckets.delete(key);
      else this.#buckets.set(key, conn.bucketNext);
    } else {
      for (let c = head ?? null; c !== null; c = c.bucketNext) {
        if (c.bucketNext === conn) {
          c.bucketNext = conn.bucketNext;
          break;
        }
      }
    }
    conn.bucketNext = null;
  }

  #touch(conn: TrackedConnection): void {
    conn.lastActiveSec = this.#clockSec;
    if (conn.closed) this.#closed.touch(conn);
    else this.#live.touch(conn);
  }

  /** A new capture second: expire what has been silent too long, then let later stages run their timers. */
  #advanceClock(sec: number, nsec: number): void {
    this.#clockSec = sec;
    this.#clockNsec = nsec;
    const horizon = sec - this.#idleSeconds;
    for (let c = this.#live.head; c !== null && c.lastActiveSec < horizon; c = this.#live.head) this.#end(c, 'idle', sec, nsec);
    for (let c = this.#closed.head; c !== null && c.lastActiveSec < horizon; c = this.#closed.head) this.#forgetClosed(c);
    // Waited at least one whole capture second for proven bytes: declare them missing.
    if (this.#stalled.size > 0) for (const c of this.#stalled) if (c.stallSinceSec < sec - 1) this.#settle(c, true, sec, nsec);
    this.#factory.onTick?.(sec, nsec);
  }

  #open(seg: TcpSegment, key: number): TrackedConnection {
    if (this.#live.size + this.#closed.size >= this.#maxConnections) this.#makeRoom(seg.tsSec, seg.tsNsec);
    const flags = seg.flags;
    let clientSide: Side;
    if (flags & SYN) clientSide = flags & ACK ? 1 : 0;
    else clientSide = seg.srcPort < seg.dstPort ? 1 : 0;
    const format = seg.addrLen === 16 ? formatIPv6 : formatIPv4;
    const side0: Endpoint = { address: format(seg.data, seg.srcAddrOffset), port: seg.srcPort };
    const side1: Endpoint = { address: format(seg.data, seg.dstAddrOffset), port: seg.dstPort };
    const client = clientSide === 0 ? side0 : side1;
    const server = clientSide === 0 ? side1 : side0;
    const conn = new TrackedConnection({
      id: connectionId(client, server, seg.tsSec, seg.tsNsec),
      index: this.#created++,
      side0,
      side1,
      clientSide,
      rolesFromHandshake: (flags & SYN) !== 0,
      firstSeen: [seg.tsSec, seg.tsNsec],
      addrLen: seg.addrLen,
      words: [this.#s0, this.#s1, this.#s2, this.#s3, this.#d0, this.#d1, this.#d2, this.#d3],
      bucketKey: key,
    });
    conn.bucketNext = this.#buckets.get(key) ?? null;
    this.#buckets.set(key, conn);
    conn.lastActiveSec = this.#clockSec;
    this.#live.append(conn);
    this.#stats.connections++;
    conn.consumer = this.#factory.create(conn);
    return conn;
  }

  /** At the connection limit: forget the oldest closed connection, else evict the least recently active one. */
  #makeRoom(sec: number, nsec: number): void {
    const closed = this.#closed.head;
    if (closed !== null) {
      this.#forgetClosed(closed);
      return;
    }
    const victim = this.#live.head;
    if (victim === null) return;
    this.#stats.drops.add('max-connections');
    this.#end(victim, 'evicted', sec, nsec);
  }

  /** Reads the address words into scratch fields; returns the direction-independent bucket key. */
  #loadEndpoints(seg: TcpSegment): number {
    const d = seg.data;
    const s = seg.srcAddrOffset;
    const t = seg.dstAddrOffset;
    this.#addrLen = seg.addrLen;
    this.#s0 = d.readUInt32BE(s);
    this.#d0 = d.readUInt32BE(t);
    if (seg.addrLen === 16) {
      this.#s1 = d.readUInt32BE(s + 4);
      this.#s2 = d.readUInt32BE(s + 8);
      this.#s3 = d.readUInt32BE(s + 12);
      this.#d1 = d.readUInt32BE(t + 4);
      this.#d2 = d.readUInt32BE(t + 8);
      this.#d3 = d.readUInt32BE(t + 12);
    } else {
      this.#s1 = this.#s2 = this.#s3 = 0;
      this.#d1 = this.#d2 = this.#d3 = 0;
    }
    const hs = endpointHash(this.#s0, this.#s1, this.#s2, this.#s3, seg.srcPort);
    const hd = endpointHash(this.#d0, this.#d1, this.#d2, this.#d3, seg.dstPort);
    return pairKey(hs, hd, this.#addrLen);
  }

  /** 0 when the segment's source is the connection's side 0, 1 when it is side 1, −1 when another connection. */
  #sideOf(c: TrackedConnection, seg: TcpSegment): number {
    if (c.addrLen !== this.#addrLen) return -1;
    if (
      c.port0 === seg.srcPort &&
      c.port1 === seg.dstPort &&
      c.a0 === this.#s0 &&
      c.b0 === this.#d0 &&
      c.a1 === this.#s1 &&
      c.a2 === this.#s2 &&
      c.a3 === this.#s3 &&
      c.b1 === this.#d1 &&
      c.b2 === this.#d2 &&
      c.b3 === this.#d3
    )
      return 0;
    if (
      c.port0 === seg.dstPort &&
      c.port1 === seg.srcPort &&
      c.a0 === this.#d0 &&
      c.b0 === this.#s0 &&
      c.a1 === this.#d1 &&
      c.a2 === this.#d2 &&
      c.a3 === this.#d3 &&
      c.b1 === this.#s1 &&
      c.b2 === this.#s2 &&
      c.b3 === this.#s3
    )
      return 1;
    return -1;
  }
}

/** Offsets and lengths a decoder bug or a hostile caller could get wrong, checked before any read. */
function wellFormed(seg: TcpSegment): boolean {
  const size = seg.data.length;
  const addrLen = seg.addrLen;
  return (
    (addrLen === 4 || addrLen === 16) &&
    seg.srcAddrOffset >= 0 &&
    seg.srcAddrOffset + addrLen <= size &&
    seg.dstAddrOffset >= 0 &&
    seg.dstAddrOffset + addrLen <= size &&
    seg.payloadLen >= 0 &&
    seg.payloadOffset >= 0 &&
    seg.payloadOffset + seg.payloadLen <= size &&
    seg.payloadOrigLen <= MAX_SEGMENT_LENGTH
  );
}

/** The peer's stream has been delivered up to `ack` (a FIN's sequence number is not a byte). */
function peerDelivered(peer: HalfStream, ack: number): boolean {
  const target = peer.finSeen && seqDiff(ack, peer.finSeq) > 0 ? peer.finSeq : ack;
  return seqDiff(peer.nextSeq, target) >= 0;
}

/** What a SYN on a live connection means. */
function synVerdict(conn: TrackedConnection, side: Side, seg: TcpSegment): number {
  const me = conn.halves[side];
  const seq = seg.seq >>> 0;
  if (me.synSeen) return me.isn === seq ? SYN_RETRANSMITTED : SYN_STARTS_NEW_CONNECTION;
  // This side already sent without a SYN: a SYN now opens a new connection.
  if (me.seqKnown) return SYN_STARTS_NEW_CONNECTION;
  // The SYN-ACK answering the SYN that opened this connection.
  if (seg.flags & ACK) return SYN_OPENS_HANDSHAKE;
  // A bare SYN answers nothing: part of this handshake only if the peer has sent nothing but its own SYN.
  const peer = conn.halves[side === 0 ? 1 : 0];
  const peerOnlySynced = peer.synSeen && peer.nextSeq === seqAdd(peer.isn, 1) && peer.pending.length === 0;
  return peerOnlySynced ? SYN_OPENS_HANDSHAKE : SYN_STARTS_NEW_CONNECTION;
}

/**
 * Add [seq, seq + len) to the sorted, non-overlapping held chunks, copying
 * only bytes no chunk holds yet (`src === null`: snaplen-cut bytes). Returns
 * the number of sequence bytes added.
 */
function insertPending(h: HalfStream, seq: number, len: number, src: Buffer | null, srcOff: number, sec: number, nsec: number, need: number): number {
  if (len <= 0) return 0;
  const pending = h.pending;
  const base = h.nextSeq;
  const start = seqDiff(seq, base);
  const end = start + len;
  // Out-of-order segments usually land after everything held: search from the back.
  let i = pending.length;
  while (i > 0) {
    const c = pending[i - 1];
    if (seqDiff(c.seq, base) + c.len > start) i--;
    else break;
  }
  let pos = start;
  let added = 0;
  while (pos < end) {
    const c = i < pending.length ? pending[i] : undefined;
    const cStart = c === undefined ? end : seqDiff(c.seq, base);
    if (c !== undefined && cStart <= pos) {
      const cEnd = cStart + c.len;
      pos = cEnd < end ? cEnd : end;
      i++;
      continue;
    }
    const pieceEnd = cStart < end ? cStart : end;
    const pieceLen = pieceEnd - pos;
    let copy: Buffer | null = null;
    if (src !== null) {
      copy = Buffer.allocUnsafe(pieceLen);
      const from = srcOff + (pos - start);
      src.copy(copy, 0, from, from + pieceLen);
      h.pendingBytes += pieceLen;
    }
    pending.splice(i, 0, new PendingChunk(seqAdd(base, pos), pieceLen, copy, sec, nsec, need));
    i++;
    added += pieceLen;
    pos = pieceEnd;
  }
  return added;
}
