import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { readCapture, type CaptureInfo } from './capture/reader.js';
import { PacketDecoder } from './net/decode.js';
import { TcpReassembler } from './net/tcp/reassembler.js';
import { ProtocolDispatcher } from './protocols/detect.js';
import { TraceAssembler } from './correlate/assembler.js';
import type { WiretraceConfig } from './config/schema.js';
import type { ConnectionInfo, StreamConsumerFactory } from './model/stream.js';
import type { LocalProcessResolver } from './process/owners.js';
import { OwnerLookupGate } from './process/owner-gate.js';
import { Stats } from './model/stats.js';
import { VERSION } from './version.js';

export interface AnalyzeOptions {
  config: WiretraceConfig;
  /** Receives spans as each trace is complete. */
  onSpans(spans: ReadableSpan[]): void;
  stats?: Stats;
  onProgress?(bytesRead: number): void;
  /** Told once, before the first packet, how to read the pipeline's live gauges (for the metrics endpoint). */
  onPipeline?(live: LivePipeline): void;
  /** Owners of local sockets (live capture): services named by their process, resources enriched. */
  processes?: LocalProcessResolver;
  /** A clock besides packet timestamps (live capture: wall time, so that a quiet link still releases spans). */
  clock?: PipelineClock;
}

/** Drives the pipeline's timers; time only moves forward, whichever of the clock and the packets is ahead. */
export interface PipelineClock {
  /** Starts calling `tick` with the present time; returns the function that stops it. */
  start(tick: (sec: number, nsec: number) => void): () => void;
}

/** The present state of a running pipeline, read on demand; cheap enough for every metrics scrape. */
export interface LivePipeline {
  /** TCP connections tracked and not yet ended. */
  readonly connectionsTracked: number;
  /** Requests seen whose response has not arrived (nor timed out). */
  readonly requestsAwaitingResponse: number;
}

export interface AnalyzeResult {
  capture: CaptureInfo;
  stats: Stats;
}

/**
 * The whole wire pipeline over one capture stream:
 * capture → link/IP → TCP → protocol parsers and pairing → trace assembly → spans.
 */
export async function analyze(source: AsyncIterable<Buffer> | NodeJS.ReadableStream, options: AnalyzeOptions): Promise<AnalyzeResult> {
  const { config } = options;
  const stats = options.stats ?? new Stats();
  const processes = options.processes;
  const assembler = new TraceAssembler({ config, stats, onSpans: options.onSpans, scopeVersion: VERSION, processes });
  // With owners looked up in the background, exchanges wait for them (in order) so spans are named by their processes.
  const gate = processes ? new OwnerLookupGate(assembler, processes, { stats }) : undefined;
  const spansFrom = gate ?? assembler;
  const dispatcher = new ProtocolDispatcher(spansFrom, stats, config);
  // Capture time drives timeouts in both stages; the parser's first, so that
  // requests timing out this tick reach the assembler before it moves on.
  let lastTick = -Infinity;
  const tick = (sec: number, nsec: number): void => {
    const t = sec + nsec / 1e9;
    if (t <= lastTick) return;
    lastTick = t;
    dispatcher.onTick(sec, nsec);
    spansFrom.onTick(sec, nsec);
  };
  const factory: StreamConsumerFactory = {
    create(conn: ConnectionInfo) {
      // While the sockets still exist: a short connection is gone a moment later.
      processes?.observe(conn);
      return dispatcher.create(conn);
    },
    onTick: tick,
  };
  const tcp = new TcpReassembler(factory, stats, config.limits);
  const decoder = new PacketDecoder(tcp, stats);
  options.onPipeline?.({
    get connectionsTracked() {
      return tcp.activeConnections;
    },
    get requestsAwaitingResponse() {
      return dispatcher.pendingRequests;
    },
  });
  const stopClock = options.clock?.start(tick);
  let capture: CaptureInfo;
  try {
    capture = await readCapture(source, decoder, stats, { onProgress: options.onProgress });
  } finally {
    stopClock?.();
  }
  // Owners still being looked up name the last spans too, if they come quickly.
  await processes?.settle(2000);
  gate?.release();
  tcp.finish();
  gate?.release();
  assembler.finish();
  return { capture, stats };
}
