/**
 * Reads a pcap or pcapng capture from a stream, gzip-compressed or not,
 * without ever holding the whole capture: memory stays flat as files grow.
 */
import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { WiretraceError, isWiretraceError } from '../errors.js';
import type { PacketSink } from '../model/packet.js';
import type { Stats } from '../model/stats.js';
import { CaptureParser, type CaptureInfo } from './parser.js';

export type { CaptureFormat, CaptureInfo } from './parser.js';
export { CaptureParser } from './parser.js';

export interface ReadCaptureOptions {
  /** Called after each chunk read from the source with the total bytes read so far (compressed bytes for gzip). */
  onProgress?(bytesRead: number): void;
}

/** Large reads: per-chunk overhead disappears and most records lie inside one chunk. */
export const CAPTURE_READ_CHUNK = 1 << 20;

/**
 * Stream `source` through the capture parser, handing every packet to
 * `sink` (one reused RawPacket). Resolves with what the capture held; bad
 * input rejects with a WiretraceError only.
 */
export async function readCapture(
  source: AsyncIterable<Buffer | string> | NodeJS.ReadableStream,
  sink: PacketSink,
  stats: Stats,
  options: ReadCaptureOptions = {},
): Promise<CaptureInfo> {
  const parser = new CaptureParser(sink, stats);
  const chunks = (source as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let bytesRead = 0;
  const nextChunk = async (): Promise<Buffer | undefined> => {
    const r = await chunks.next();
    if (r.done) return undefined;
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value;
    bytesRead += chunk.length;
    options.onProgress?.(bytesRead);
    return chunk;
  };

  try {
    // Two bytes tell gzip apart from a capture; sources may hand out single bytes.
    let head: Buffer = Buffer.alloc(0);
    while (head.length < 2) {
      const chunk = await nextChunk();
      if (chunk === undefined) break;
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    }
    const gzipped = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    if (!gzipped) {
      parser.push(head);
      for (let chunk = await nextChunk(); chunk !== undefined; chunk = await nextChunk()) parser.push(chunk);
      return parser.finish(false);
    }
    await readGzip(head, nextChunk, parser);
    return parser.finish(true);
  } catch (e) {
    throw asWiretraceError(e);
  } finally {
    // Stop a file stream we did not finish (the parser gave up early).
    void chunks.return?.();
  }
}

async function readGzip(head: Buffer, nextChunk: () => Promise<Buffer | undefined>, parser: CaptureParser): Promise<void> {
  const compressed = Readable.from(
    (async function* () {
      yield head;
      for (let chunk = await nextChunk(); chunk !== undefined; chunk = await nextChunk()) yield chunk;
    })(),
    { objectMode: false },
  );
  // A cut-off gzip file yields what it holds instead of failing, like a cut-off capture.
  const gunzip = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH, chunkSize: 256 * 1024 });
  let pipeError: unknown;
  pipeline(compressed, gunzip, (err) => {
    if (err) pipeError = err;
  });
  try {
    for await (const chunk of gunzip) parser.push(chunk as Buffer);
  } catch (e) {
    throw isWiretraceError(e) ? e : gzipError(e);
  } finally {
    compressed.destroy();
  }
  if (pipeError !== undefined && !isPrematureClose(pipeError)) throw gzipError(pipeError);
}

function isPrematureClose(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function gzipError(e: unknown): WiretraceError {
  const err = e as NodeJS.ErrnoException;
  if (isWiretraceError(e)) return e;
  if (typeof err?.code === 'string' && err.code.startsWith('Z_')) {
    return new WiretraceError('WT_ERR_CAPTURE_CORRUPT', `gzip-compressed input is corrupt: ${err.message}`, { cause: e });
  }
  return asWiretraceError(e);
}

function asWiretraceError(e: unknown): WiretraceError {
  if (isWiretraceError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return new WiretraceError('WT_ERR_FILE_NOT_FOUND', err.message, { cause: e });
  return new WiretraceError('WT_ERR_FILE_UNREADABLE', `reading the capture failed: ${err?.message ?? String(e)}`, {
    cause: e,
  });
}

/**
 * Open a capture file for streaming; `-` is standard input. Fails early and
 * clearly for a missing file, a directory or a file without read permission.
 */
export function openCaptureSource(path: string): NodeJS.ReadableStream {
  if (path === '-') return process.stdin;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new WiretraceError('WT_ERR_FILE_NOT_FOUND', `capture file not found: ${path}`, { cause: e });
    }
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    throw new WiretraceError('WT_ERR_FILE_UNREADABLE', `cannot read capture file ${path}: ${why}`, { cause: e });
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new WiretraceError('WT_ERR_FILE_UNREADABLE', `${path} is a directory, not a capture file`);
  }
  return createReadStream('', { fd, highWaterMark: CAPTURE_READ_CHUNK });
}
