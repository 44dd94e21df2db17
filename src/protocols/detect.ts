/**
 * Protocol detection: per connection, look at the first bytes of each
 * direction (buffered, bounded) and hand the connection to the parser of
 * its protocol, replaying what was buffered. When the capture began in the
 * middle of a connection, the first bytes may be the middle of a message:
 * then each direction is scanned (bounded) for a line that starts an
 * HTTP/1 message. The bytes also settle which side is the client when the
 * TCP layer could only guess.
 */
import type { WiretraceConfig } from '../config/schema.js';
import type { ExchangeSink } from '../model/exchange.js';
import type { Stats } from '../model/stats.js';
import {
  type ConnectionInfo,
  Direction,
  type EndReason,
  type GapReason,
  type StreamConsumer,
  type StreamConsumerFactory,
} from '../model/stream.js';
import { ProbeVerdict, type ProtocolDetector, defaultDetectors, tlsDetector } from './detectors.js';
import { Http1Connection, type PendingWatcher } from './http1/connection.js';
import { StartLineKind, StartLineScanner } from './http1/startline.js';

/** First bytes kept per direction while deciding. */
export const PROBE_BYTES = 512;
/** Data and gap events kept while deciding (many tiny segments force an early decision). */
const MAX_PROBE_EVENTS = 64;
/** Bytes per direction scanned for a message boundary when the capture began mid-stream. */
export const MID_STREAM_SCAN_BYTES = 256 * 1024;

const WANT_ANY_START_LINE = StartLineKind.Request | StartLineKind.Response;

interface DispatchContext {
  sink: ExchangeSink;
  stats: Stats;
  config: WiretraceConfig;
  detectors: readonly ProtocolDetector[];
  watcher: PendingWatcher;
}

export class ProtocolDispatcher implements StreamConsumerFactory {
  readonly #context: DispatchContext;
  readonly #watched = new Set<Http1Connection>();

  constructor(sink: ExchangeSink, stats: Stats, config: WiretraceConfig) {
    const watched = this.#watched;
    this.#context = {
      sink,
      stats,
      config,
      detectors: defaultDetectors,
      watcher: {
        watch: (c) => watched.add(c),
        unwatch: (c) => watched.delete(c),
      },
    };
  }

  create(conn: ConnectionInfo): StreamConsumer {
    return new DetectingConsumer(conn, this.#context);
  }

  /** Capture time advanced: time out requests on connections that have any waiting. */
  onTick(tsSec: number, tsNsec: number): void {
    for (const connection of this.#watched) connection.expire(tsSec, tsNsec);
  }

  /** Connections with requests awaiting a response (for tests and metrics). */
  get connectionsWithPendingRequests(): number {
    return this.#watched.size;
  }

  /** Requests awaiting a response on every connection; walks only connections that have some (read at metrics scrape time, not per packet). */
  get pendingRequests(): number {
    let total = 0;
    for (const connection of this.#watched) total += connection.pendingRequests;
    return total;
  }
}

interface ProbeEvent {
  dir: Direction;
  /** Data: bytes probe[start, start + length) of that direction. Gap: length missing bytes. */
  isGap: boolean;
  start: number;
  length: number;
  reason: GapReason;
  sec: number;
  nsec: number;
}

class DirectionProbe {
  bytes: Buffer | undefined;
  length = 0;
  /** Some bytes of this direction were not kept: its buffered events cannot be replayed. */
  overflowed = false;
  /** The bytes seen are known to be the first of the stream. */
  atStreamStart: boolean;
  /** Mid-stream: looks for a line that starts an HTTP/1 message. */
  scanner: StartLineScanner | undefined;
  scanExhausted = false;
  tlsChecked = false;
  seenBytes = 0;

  constructor(atStreamStart: boolean) {
    this.atStreamStart = atStreamStart;
    if (!atStreamStart) this.scanner = new StartLineScanner();
  }
}

const DETECTING = 0;
const DELEGATING = 1;
const SKIPPING = 2;

/** The consumer the TCP layer sees for a connection: decides, then delegates or skips. */
class DetectingConsumer implements StreamConsumer {
  readonly #conn: ConnectionInfo;
  readonly #ctx: DispatchContext;
  #state = DETECTING;
  #delegate: StreamConsumer | undefined;
  #probes: [DirectionProbe, DirectionProbe];
  #events: ProbeEvent[] = [];

  constructor(conn: ConnectionInfo, ctx: DispatchContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    // With the handshake seen, the TCP layer announces any missing first bytes as a gap.
    this.#probes = [new DirectionProbe(conn.rolesFromHandshake), new DirectionProbe(conn.rolesFromHandshake)];
  }

  onData(dir: Direction, data: Buffer, offset: number, length: number, tsSec: number, tsNsec: number): void {
    if (this.#state === DELEGATING) {
      (this.#delegate as StreamConsumer).onData(dir, data, offset, length, tsSec, tsNsec);
      return;
    }
    if (this.#state === SKIPPING || length <= 0) return;
    this.#detect(dir, data, offset, length, tsSec, tsNsec);
  }

  onGap(dir: Direction, length: number, reason: GapReason, tsSec: number, tsNsec: number): void {
    if (this.#state === DELEGATING) {
      (this.#delegate as StreamConsumer).onGap(dir, length, reason, tsSec, tsNsec);
      return;
    }
    if (this.#state === SKIPPING) return;
    const probe = this.#probes[dir];
    probe.atStreamStart = false;
    probe.scanner ??= new StartLineScanner();
    probe.scanner.reset();
    if (!probe.overflowed) {
      if (this.#events.length < MAX_PROBE_EVENTS) {
        this.#events.push({ dir, isGap: true, start: 0, length, reason, sec: tsSec, nsec: tsNsec });
      } else {
        probe.overflowed = true;
      }
    }
  }

  onEnd(reason: EndReason, tsSec: number, tsNsec: number): void {
    if (this.#state === DETECTING) this.#decideAtEnd();
    if (this.#state === DELEGATING) (this.#delegate as StreamConsumer).onEnd(reason, tsSec, tsNsec);
    this.#state = SKIPPING;
    this.#delegate = undefined;
    this.#releaseProbes();
  }

  #detect(dir: Direction, data: Buffer, offset: number, length: number, sec: number, nsec: number): void {
    const probe = this.#probes[dir];
    probe.seenBytes += length;
    let kept = 0;
    if (!probe.overflowed) {
      const room = PROBE_BYTES - probe.length;
      kept = length < room ? length : room;
      if (kept > 0 && this.#events.length < MAX_PROBE_EVENTS) {
        probe.bytes ??= Buffer.allocUnsafe(PROBE_BYTES);
        data.copy(probe.bytes, probe.length, offset, offset + kept);
        this.#events.push({ dir, isGap: false, start: probe.length, length: kept, reason: 'hole', sec, nsec });
        probe.length += kept;
      } else {
        kept = 0;
      }
      if (kept < length) probe.overflowed = true;
    }

    if (probe.atStreamStart) {
      const final = probe.overflowed || probe.length >= PROBE_BYTES;
      const decided = this.#probeStart(dir, final);
      // Bytes beyond the probe belong to the protocol's parser.
      if (decided && this.#state === DELEGATING && kept < length) {
        const mapped = this.#mapped(dir);
        (this.#delegate as StreamConsumer).onData(mapped, data, offset + kept, length - kept, sec, nsec);
      }
      return;
    }

    if (!probe.tlsChecked && probe.length >= 5) {
      probe.tlsChecked = true;
      const bytes = probe.bytes as Buffer;
      if (tlsDetector.probe(bytes, 0, probe.length, false, true) === ProbeVerdict.Match) {
        this.#skip(tlsDetector.name);
        return;
      }
    }
    if (probe.scanExhausted) return;
    const scanner = probe.scanner as StartLineScanner;
    // With roles fixed by the handshake, each side can only begin its own kind of message.
    const want = !this.#conn.rolesFromHandshake
      ? WANT_ANY_START_LINE
      : dir === Direction.ClientToServer
        ? StartLineKind.Request
        : StartLineKind.Response;
    const found = scanner.scan(data, offset, offset + length, want, sec, nsec);
    if (found !== -1) {
      this.#startMidStream(dir, scanner, found, data, offset, length, sec, nsec);
      return;
    }
    if (scanner.bytesScanned >= MID_STREAM_SCAN_BYTES) {
      probe.scanExhausted = true;
      const other = this.#probes[dir === Direction.ClientToServer ? Direction.ServerToClient : Direction.ClientToServer];
      if (other.scanExhausted) this.#skip('unknown');
    }
  }

  /** Runs the detectors on the first bytes of `dir`. Returns true once the connection is decided. */
  #probeStart(dir: Direction, final: boolean): boolean {
    const probe = this.#probes[dir];
    const bytes = probe.bytes;
    if (bytes === undefined) return false;
    let waiting = false;
    for (const detector of this.#ctx.detectors) {
      const verdict = detector.probe(bytes, 0, probe.length, true, final);
      if (verdict === ProbeVerdict.NeedMore) {
        waiting = true;
        continue;
      }
      if (verdict === ProbeVerdict.No) continue;
      if (detector.name !== 'http1') {
        this.#skip(detector.name);
        return true;
      }
      this.#startHttp1(dir, verdict === ProbeVerdict.MatchFromClient, undefined);
      return true;
    }
    if (waiting && !final) return false;
    this.#skip('unknown');
    return true;
  }

  /** A start line was found mid-stream in `dir` at `found` (or in carried bytes). */
  #startMidStream(
    dir: Direction,
    scanner: StartLineScanner,
    found: number,
    data: Buffer,
    offset: number,
    length: number,
    sec: number,
    nsec: number,
  ): void {
    const fromClient = scanner.foundKind === StartLineKind.Request;
    // Everything this direction sent before the start line is the tail of a message we cannot use.
    this.#events = this.#events.filter((e) => e.dir !== dir);
    const begin = found === StartLineScanner.IN_CARRY ? offset : found;
    const carried = found === StartLineScanner.IN_CARRY ? Buffer.from(scanner.carried()) : undefined;
    const carriedSec = scanner.carriedSec;
    const carriedNsec = scanner.carriedNsec;
    scanner.clearCarry();
    if (!this.#startHttp1(dir, fromClient, dir)) return;
    const delegate = this.#delegate as StreamConsumer;
    const mapped = this.#mapped(dir);
    if (carried !== undefined) delegate.onData(mapped, carried, 0, carried.length, carriedSec, carriedNsec);
    if (this.#state === DELEGATING) delegate.onData(mapped, data, begin, offset + length - begin, sec, nsec);
  }

  /**
   * HTTP/1 it is. `dir` showed a request line (fromClient) or a status
   * line; if that contradicts the TCP layer's guess of roles, swap them.
   * `alignedDir` is a direction whose next bytes begin a message even
   * though it is mid-stream. Returns false if the connection was skipped.
   */
  #startHttp1(dir: Direction, fromClient: boolean, alignedDir: Direction | undefined): boolean {
    const { stats, config, sink, watcher } = this.#ctx;
    const labelledClient = dir === Direction.ClientToServer;
    this.#swapped = false;
    if (fromClient !== labelledClient) {
      if (this.#conn.rolesFromHandshake) {
        stats.parseErrors.add('http1:roles-contradict-handshake');
        this.#skip('unknown');
        return false;
      }
      this.#conn.swapRoles();
      this.#swapped = true;
      this.#probes = [this.#probes[1], this.#probes[0]];
    }
    stats.protocols.add('http1');
    const midStream = (d: Direction): boolean => {
      if (alignedDir !== undefined && this.#mapped(alignedDir) === d) return false;
      const probe = this.#probes[d];
      return !probe.atStreamStart;
    };
    const connection = new Http1Connection(
      this.#conn,
      sink,
      stats,
      {
        maxHeaderBytes: config.limits.maxHeaderBytes,
        maxPendingRequests: config.limits.maxPendingRequestsPerConnection,
        timeoutSeconds: config.spans.timeoutSeconds,
        clientMidStream: midStream(Direction.ClientToServer),
        serverMidStream: midStream(Direction.ServerToClient),
      },
      watcher,
    );
    this.#delegate = connection;
    this.#state = DELEGATING;
    this.#replay(connection);
    return this.#state === DELEGATING;
  }

  /** True after swapRoles: directions recorded before the swap are reversed. */
  #swapped = false;

  /** A direction as recorded before the decision, in the roles after it. */
  #mapped(recorded: Direction): Direction {
    if (!this.#swapped) return recorded;
    return recorded === Direction.ClientToServer ? Direction.ServerToClient : Direction.ClientToServer;
  }

  #replay(consumer: StreamConsumer): void {
    const events = this.#events;
    this.#events = [];
    for (const e of events) {
      const dir = this.#mapped(e.dir);
      const probe = this.#probes[dir];
      if (probe.overflowed && !probe.atStreamStart) continue;
      if (e.isGap) consumer.onGap(dir, e.length, e.reason, e.sec, e.nsec);
      else consumer.onData(dir, probe.bytes as Buffer, e.start, e.length, e.sec, e.nsec);
      if (this.#state !== DELEGATING) return;
    }
  }

  #decideAtEnd(): void {
    const [a, b] = this.#probes;
    if (a.seenBytes === 0 && b.seenBytes === 0) {
      this.#skip('empty');
      return;
    }
    for (const dir of [Direction.ClientToServer, Direction.ServerToClient] as const) {
      const probe = this.#probes[dir];
      if (probe.atStreamStart && probe.length > 0 && this.#probeStart(dir, true)) return;
    }
    this.#skip('unknown');
  }

  #skip(protocol: string): void {
    this.#ctx.stats.protocols.add(protocol);
    this.#state = SKIPPING;
    this.#delegate = undefined;
    this.#releaseProbes();
  }

  #releaseProbes(): void {
    this.#events = [];
    for (const probe of this.#probes) {
      probe.bytes = undefined;
      probe.scanner = undefined;
    }
  }
}
