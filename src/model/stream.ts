import type { Endpoint } from './endpoint.js';
import type { HrTime } from './time.js';

/** Direction of bytes within a connection, relative to its current client/server roles. */
export const Direction = {
  ClientToServer: 0,
  ServerToClient: 1,
} as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

export type GapReason =
  /** Bytes never seen: a hole in sequence space (loss, capture started late, buffer limit). */
  | 'hole'
  /** Bytes on the wire but cut by the capture's snaplen. */
  | 'truncated';

export type EndReason = 'fin' | 'rst' | 'idle' | 'evicted' | 'reused' | 'capture-end';

/** What the TCP layer knows about a connection; handed to stream consumers. */
export interface ConnectionInfo {
  /** Deterministic id: same capture, same id. Derived from endpoints and first-seen time. */
  readonly id: string;
  /** Sequence number of this connection in the capture (0-based), for ordering. */
  readonly index: number;
  client: Endpoint;
  server: Endpoint;
  /** True when a SYN (or SYN-ACK) fixed the roles; false when inferred mid-stream. */
  rolesFromHandshake: boolean;
  readonly firstSeen: HrTime;
  /**
   * Swap which side is the client. Called by protocol detection when the
   * bytes prove the provisional roles wrong (only while !rolesFromHandshake).
   */
  swapRoles(): void;
}

/**
 * Consumes the two reassembled byte streams of one connection, in order.
 * Buffers passed in are valid only during the call.
 */
export interface StreamConsumer {
  onData(dir: Direction, data: Buffer, offset: number, length: number, tsSec: number, tsNsec: number): void;
  /** `length` bytes of the stream in `dir` are missing here. */
  onGap(dir: Direction, length: number, reason: GapReason, tsSec: number, tsNsec: number): void;
  onEnd(reason: EndReason, tsSec: number, tsNsec: number): void;
}

export interface StreamConsumerFactory {
  /** Called when the TCP layer starts tracking a connection. */
  create(conn: ConnectionInfo): StreamConsumer;
  /** Capture time advanced (called at most about once per capture second); drives timeouts. */
  onTick?(tsSec: number, tsNsec: number): void;
}
