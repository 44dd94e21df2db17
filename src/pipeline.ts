import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { readCapture, type CaptureInfo } from './capture/reader.js';
import { PacketDecoder } from './net/decode.js';
import { TcpReassembler } from './net/tcp/reassembler.js';
import { ProtocolDispatcher } from './protocols/detect.js';
import { TraceAssembler } from './correlate/assembler.js';
import type { WiretraceConfig } from './config/schema.js';
import type { ConnectionInfo, StreamConsumerFactory } from './model/stream.js';
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
  const assembler = new TraceAssembler({ config, stats, onSpans: options.onSpans, scopeVersion: VERSION });
  const dispatcher = new ProtocolDispatcher(assembler, stats, config);
  // Capture time drives timeouts in both stages; the parser's first, so that
  // requests timing out this tick reach the assembler before it moves on.
  const factory: StreamConsumerFactory = {
    create: (conn: ConnectionInfo) => dispatcher.create(conn),
    onTick(sec: number, nsec: number) {
      dispatcher.onTick(sec, nsec);
      assembler.onTick(sec, nsec);
    },
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
  const capture = await readCapture(source, decoder, stats, { onProgress: options.onProgress });
  tcp.finish();
  assembler.finish();
  return { capture, stats };
}
