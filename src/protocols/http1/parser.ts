/**
 * Incremental HTTP/1.0 and HTTP/1.1 parser for one direction of one
 * connection (RFC 9112). It works on byte offsets in the Buffers the TCP
 * layer hands over: bodies are counted, never copied; only a header block
 * that straddles chunks is accumulated, in one bounded buffer per
 * direction. Strings are decoded (latin1) once a head is complete.
 *
 * Response framing depends on the request it answers (HEAD, CONNECT), so
 * the parser asks its host — the pairing of exchanges — for that method.
 */
import type { Stats } from '../../model/stats.js';
import type { GapReason } from '../../model/stream.js';
import type { HeaderField, HttpRequest, HttpResponse } from '../../model/http.js';
import type { HrTime } from '../../model/time.js';
import { H_CONTENT_LENGTH, H_TRANSFER_ENCODING, headerName, isChunkedLast, parseContentLength } from './headers.js';
import {
  CR,
  HTAB,
  LF,
  SP,
  StartLineKind,
  StartLineParts,
  StartLineScanner,
  indexOfLf,
  isTokenByte,
  scanStartLine,
  latin1,
} from './startline.js';

/** What a direction parser needs from the rest of the connection. */
export interface Http1ParserHost {
  /** A request head was read; its body, if any, follows. */
  onRequestHead(request: HttpRequest): void;
  /** The request ended (possibly truncated). */
  onRequestEnd(request: HttpRequest): void;
  /**
   * A response head is about to be framed: returns the method of the
   * request it answers, if that request was seen. Called once per response.
   */
  beginResponse(startSec: number, startNsec: number): string | undefined;
  /** The response ended (possibly truncated). */
  onResponseEnd(response: HttpResponse): void;
  /** 101 Switching Protocols or a 2xx answer to CONNECT: the bytes that follow are not HTTP/1. */
  onProtocolSwitch(): void;
}

export const MessageRole = { Request: 0, Response: 1 } as const;
export type MessageRole = (typeof MessageRole)[keyof typeof MessageRole];

const S_HEAD: number = 0;
const S_BODY_LENGTH: number = 1;
const S_CHUNK_SIZE: number = 2;
const S_CHUNK_DATA: number = 3;
const S_CHUNK_CRLF: number = 4;
const S_TRAILERS: number = 5;
const S_BODY_UNTIL_CLOSE: number = 6;
const S_RESYNC: number = 7;
/** After a CONNECT request: the client's bytes are tunnel bytes unless the server refuses. */
const S_AWAIT_TUNNEL: number = 8;
const S_STOPPED: number = 9;

const BLOCK_INCOMPLETE = -1;
const BLOCK_TOO_LARGE = -2;

/** A chunk-size line with extensions longer than this is treated as garbage. */
const MAX_CHUNK_LINE = 4096;
/** Largest chunk size accepted (hex digits beyond this are garbage, not a body). */
const MAX_CHUNK_HEX_DIGITS = 13;
/** Above this many bytes past `end`, line searches run on a bounded view of the Buffer. */
const UNBOUNDED_TAIL = 2048;

const NO_LENGTH = -1;
const BAD_LENGTH = -2;

const VERSION_1_1 = 'HTTP/1.1';
const VERSION_1_0 = 'HTTP/1.0';

// One scratch object: parsing is synchronous and never re-entrant across parsers.
const parts = new StartLineParts();

export class Http1DirectionParser {
  readonly #role: MessageRole;
  readonly #wantKind: number;
  readonly #host: Http1ParserHost;
  readonly #stats: Stats;
  readonly #maxHeaderBytes: number;

  #state: number;
  readonly #scanner = new StartLineScanner();

  /** Bytes of a header block (or chunk-size line, or trailers) that straddles chunks. */
  #acc: Buffer | undefined;
  #accLen = 0;
  /** Blank-line search across chunks: bytes of the current line so far, and whether that is a lone CR. */
  #lineLen = 0;
  #lineIsCR = false;

  #headStarted = false;
  #startSec = 0;
  #startNsec = 0;
  #lastSec = 0;
  #lastNsec = 0;

  #message: HttpRequest | HttpResponse | undefined;
  #remaining = 0;
  #crSeen = false;
  #switchAfter = false;
  #bytesIgnoredWhileAwaitingTunnel = 0;

  // Framing read from the current header block.
  #contentLength = NO_LENGTH;
  #transferEncoding: string | undefined;

  constructor(role: MessageRole, host: Http1ParserHost, stats: Stats, maxHeaderBytes: number, startMidStream: boolean) {
    this.#role = role;
    this.#wantKind = role === MessageRole.Request ? StartLineKind.Request : StartLineKind.Response;
    this.#host = host;
    this.#stats = stats;
    this.#maxHeaderBytes = maxHeaderBytes;
    this.#state = startMidStream ? S_RESYNC : S_HEAD;
  }

  get stopped(): boolean {
    return this.#state === S_STOPPED;
  }

  onData(buf: Buffer, offset: number, length: number, sec: number, nsec: number): void {
    let pos = offset;
    const end = offset + length;
    this.#lastSec = sec;
    this.#lastNsec = nsec;
    let bounded = buf.length - end <= UNBOUNDED_TAIL;
    while (pos < end) {
      const state = this.#state;
      if (!bounded && state !== S_BODY_LENGTH && state !== S_CHUNK_DATA && state !== S_BODY_UNTIL_CLOSE) {
        buf = buf.subarray(0, end);
        bounded = true;
      }
      switch (state) {
        case S_HEAD:
          pos = this.#readHead(buf, pos, end, sec, nsec);
          break;
        case S_BODY_LENGTH:
          pos += this.#takeBody(end - pos);
          if (this.#remaining === 0) this.#finish(sec, nsec);
          break;
        case S_CHUNK_SIZE:
          pos = this.#readChunkSize(buf, pos, end, sec, nsec);
          break;
        case S_CHUNK_DATA:
          pos += this.#takeBody(end - pos);
          if (this.#remaining === 0) {
            this.#state = S_CHUNK_CRLF;
            this.#crSeen = false;
          }
          break;
        case S_CHUNK_CRLF:
          pos = this.#readChunkDataEnd(buf, pos, sec, nsec);
          break;
        case S_TRAILERS:
          pos = this.#readTrailers(buf, pos, end, sec, nsec);
          break;
        case S_BODY_UNTIL_CLOSE:
          (this.#message as HttpRequest | HttpResponse).bodySize += end - pos;
          pos = end;
          break;
        case S_RESYNC:
          pos = this.#resync(buf, pos, end, sec, nsec);
          break;
        case S_AWAIT_TUNNEL:
          this.#bytesIgnoredWhileAwaitingTunnel += end - pos;
          pos = end;
          break;
        default:
          pos = end;
      }
    }
  }

  onGap(length: number, _reason: GapReason, sec: number, nsec: number): void {
    const message = this.#message;
    switch (this.#state) {
      case S_HEAD:
        if (this.#headStarted) this.#emitPartialHead(sec, nsec);
        this.#enterResync(true);
        return;
      case S_BODY_LENGTH:
      case S_CHUNK_DATA: {
        const m = message as HttpRequest | HttpResponse;
        m.truncated = true;
        if (length < this.#remaining) {
          m.bodySize += length;
          this.#remaining -= length;
          return;
        }
        m.bodySize += this.#remaining;
        const rest = length - this.#remaining;
        this.#remaining = 0;
        if (this.#state === S_CHUNK_DATA) {
          if (rest === 0) {
            this.#state = S_CHUNK_CRLF;
            this.#crSeen = false;
            return;
          }
          this.#finish(sec, nsec);
        } else {
          this.#finish(sec, nsec);
          if (rest === 0) return;
        }
        if (this.#state === S_HEAD) this.#enterResync(true);
        return;
      }
      case S_BODY_UNTIL_CLOSE: {
        const m = message as HttpRequest | HttpResponse;
        m.truncated = true;
        m.bodySize += length;
        return;
      }
      case S_CHUNK_SIZE:
      case S_CHUNK_CRLF:
      case S_TRAILERS:
        (message as HttpRequest | HttpResponse).truncated = true;
        this.#finish(sec, nsec);
        if (this.#state === S_HEAD) this.#enterResync(true);
        return;
      case S_RESYNC:
        this.#scanner.reset();
        return;
      case S_AWAIT_TUNNEL:
        this.#bytesIgnoredWhileAwaitingTunnel += length;
        return;
      default:
        return;
    }
  }

  /** The connection ended; `closedOnTheWire` is true for FIN/RST (a body read until close is then complete). */
  onEnd(closedOnTheWire: boolean): void {
    const sec = this.#lastSec;
    const nsec = this.#lastNsec;
    const message = this.#message;
    switch (this.#state) {
      case S_HEAD:
        if (this.#headStarted) this.#emitPartialHead(sec, nsec);
        break;
      case S_BODY_UNTIL_CLOSE:
        if (!closedOnTheWire) (message as HttpResponse).incomplete = true;
        this.#finish(sec, nsec);
        break;
      case S_BODY_LENGTH:
      case S_CHUNK_SIZE:
      case S_CHUNK_DATA:
      case S_CHUNK_CRLF:
      case S_TRAILERS:
        (message as HttpRequest | HttpResponse).truncated = true;
        this.#finish(sec, nsec);
        break;
      default:
        break;
    }
    this.stop();
  }

  stop(): void {
    this.#state = S_STOPPED;
    this.#message = undefined;
    this.#accLen = 0;
    this.#acc = undefined;
  }

  /** The server did not open the tunnel a CONNECT asked for: the client's bytes are HTTP again. */
  resumeAfterRefusedTunnel(): void {
    if (this.#state !== S_AWAIT_TUNNEL) return;
    if (this.#bytesIgnoredWhileAwaitingTunnel > 0) this.#enterResync(false);
    else this.#state = S_HEAD;
    this.#bytesIgnoredWhileAwaitingTunnel = 0;
  }

  // ---- header blocks ----------------------------------------------------

  /** Counts up to `avail` bytes of the current body (sized, never copied); returns how many it took. */
  #takeBody(avail: number): number {
    const n = avail < this.#remaining ? avail : this.#remaining;
    (this.#message as HttpRequest | HttpResponse).bodySize += n;
    this.#remaining -= n;
    return n;
  }

  #readHead(buf: Buffer, pos: number, end: number, sec: number, nsec: number): number {
    if (!this.#headStarted) {
      // RFC 9112 2.2: empty lines before a start line are ignored.
      while (pos < end && (buf[pos] === CR || buf[pos] === LF)) pos++;
      if (pos === end) return pos;
      this.#beginHead(sec, nsec);
    }
    const blockEnd = this.#collectBlock(buf, pos, end, this.#maxHeaderBytes);
    if (blockEnd === BLOCK_INCOMPLETE) return end;
    if (blockEnd === BLOCK_TOO_LARGE) {
      this.#stats.parseErrors.add('http1:header-too-large');
      if (this.#accLen > 0) this.#emitPartialHead(sec, nsec);
      else this.#emitPartialHeadFrom(buf, pos, end, sec, nsec);
      this.#enterResync(false);
      return end;
    }
    if (this.#accLen > 0) {
      const acc = this.#acc as Buffer;
      const len = this.#accLen;
      this.#accLen = 0;
      this.#onHead(acc, 0, len, sec, nsec);
    } else {
      this.#onHead(buf, pos, blockEnd, sec, nsec);
    }
    return blockEnd;
  }

  #beginHead(sec: number, nsec: number): void {
    this.#headStarted = true;
    this.#startSec = sec;
    this.#startNsec = nsec;
    this.#lineLen = 0;
    this.#lineIsCR = false;
    this.#accLen = 0;
  }

  /**
   * Gathers a block of lines ending with an empty line. Returns the offset
   * just past the empty line when the block is complete (if earlier bytes
   * were accumulated, the whole block is then in the accumulator), or
   * BLOCK_INCOMPLETE / BLOCK_TOO_LARGE.
   */
  #collectBlock(buf: Buffer, pos: number, end: number, limit: number): number {
    const blockEnd = this.#findBlankLine(buf, pos, end);
    const stop = blockEnd < 0 ? end : blockEnd;
    if (this.#accLen + (stop - pos) > limit) return BLOCK_TOO_LARGE;
    if (blockEnd < 0) {
      this.#append(buf, pos, end);
      return BLOCK_INCOMPLETE;
    }
    if (this.#accLen > 0) this.#append(buf, pos, blockEnd);
    return blockEnd;
  }

  #findBlankLine(buf: Buffer, pos: number, end: number): number {
    let p = pos;
    while (true) {
      const lf = indexOfLf(buf, p, end);
      if (lf < 0) {
        const n = end - p;
        if (n > 0) {
          this.#lineIsCR = this.#lineLen === 0 && n === 1 && buf[p] === CR;
          this.#lineLen += n;
        }
        return -1;
      }
      const n = lf - p;
      const total = this.#lineLen + n;
      const blank = total === 0 || (total === 1 && (n === 1 ? buf[p] === CR : this.#lineIsCR));
      this.#lineLen = 0;
      this.#lineIsCR = false;
      if (blank) return lf + 1;
      p = lf + 1;
    }
  }

  #append(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    const need = this.#accLen + n;
    let acc = this.#acc;
    if (acc === undefined || acc.length < need) {
      let size = acc === undefined ? 1024 : acc.length * 2;
      while (size < need) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      if (acc !== undefined && this.#accLen > 0) acc.copy(grown, 0, 0, this.#accLen);
      acc = grown;
      this.#acc = acc;
    }
    src.copy(acc, this.#accLen, start, end);
    this.#accLen = need;
  }

  /** Drops a large accumulator once it is no longer needed, so idle connections stay small. */
  #releaseAccumulator(): void {
    this.#accLen = 0;
    if (this.#acc !== undefined && this.#acc.length > 16 * 1024) this.#acc = undefined;
  }

  /** A complete header block is b[s, e) (ending with the empty line). */
  #onHead(b: Buffer, s: number, e: number, sec: number, nsec: number): void {
    let kind = scanStartLine(b, s, e, parts);
    if (kind !== this.#wantKind) {
      this.#stats.parseErrors.add('http1:bad-start-line');
      // The block may still hold a real start line after some garbage lines.
      let p = s;
      kind = StartLineKind.None;
      while (true) {
        const lf = indexOfLf(b, p, e);
        if (lf < 0 || lf + 1 >= e) break;
        p = lf + 1;
        if (scanStartLine(b, p, e, parts) === this.#wantKind) {
          kind = this.#wantKind;
          s = p;
          break;
        }
      }
      if (kind !== this.#wantKind) {
        this.#headStarted = false;
        this.#releaseAccumulator();
        this.#enterResync(true);
        return;
      }
    }
    const message = this.#buildMessage(b, s, e, true);
    this.#releaseAccumulator();
    if (message.type === 'request') this.#frameRequest(message, sec, nsec);
    else this.#frameResponse(message, sec, nsec);
  }

  /**
   * Builds the message object from a block whose start line `parts`
   * describes. `complete` is false for a head cut short (gap, limit, end):
   * then only whole header lines are read.
   */
  #buildMessage(b: Buffer, s: number, e: number, complete: boolean): HttpRequest | HttpResponse {
    const lineEnd = parts.lineEnd;
    const version = b[parts.versionStart + 7] === 0x31 ? VERSION_1_1 : b[parts.versionStart + 7] === 0x30 ? VERSION_1_0 : latin1(b, parts.versionStart, parts.versionStart + 8);
    const startTime: HrTime = [this.#startSec, this.#startNsec];
    const headers: HeaderField[] = [];
    let message: HttpRequest | HttpResponse;
    if (this.#role === MessageRole.Request) {
      message = {
        type: 'request',
        method: methodString(b, s, parts.methodEnd),
        target: latin1(b, parts.targetStart, parts.targetEnd),
        version,
        headers,
        bodySize: 0,
        headerSize: e - s,
        startTime,
        endTime: startTime,
        truncated: !complete,
      };
    } else {
      const st = parts.statusStart;
      const status = (b[st] - 0x30) * 100 + (b[st + 1] - 0x30) * 10 + (b[st + 2] - 0x30);
      message = {
        type: 'response',
        status,
        reason: latin1(b, parts.reasonStart, parts.reasonEnd),
        interim: status >= 100 && status < 200 && status !== 101,
        version,
        headers,
        bodySize: 0,
        headerSize: e - s,
        startTime,
        endTime: startTime,
        truncated: !complete,
      };
    }
    this.#contentLength = NO_LENGTH;
    this.#transferEncoding = undefined;
    this.#readFields(b, lineEnd + 1, e, headers, true);
    return message;
  }

  /**
   * Reads header (or trailer) lines from b[p, e) into `into`, stopping at
   * the empty line. With `framing`, notes Content-Length and
   * Transfer-Encoding for the current message.
   */
  #readFields(b: Buffer, p: number, e: number, into: HeaderField[], framing: boolean): void {
    while (p < e) {
      const nl = indexOfLf(b, p, e);
      if (nl < 0) return;
      let le = nl;
      if (le > p && b[le - 1] === CR) le--;
      if (le === p) return;
      const first = b[p];
      if (first === SP || first === HTAB) {
        // obs-fold: the line continues the previous field value.
        const last = into.length > 0 ? into[into.length - 1] : undefined;
        if (last === undefined) {
          this.#stats.parseErrors.add('http1:bad-header');
        } else {
          let vs = p;
          while (vs < le && (b[vs] === SP || b[vs] === HTAB)) vs++;
          let ve = le;
          while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
          if (ve > vs) last.value = last.value.length > 0 ? `${last.value} ${latin1(b, vs, ve)}` : latin1(b, vs, ve);
          if (framing) this.#noteFraming(last);
        }
        p = nl + 1;
        continue;
      }
      let colon = p;
      while (colon < le && isTokenByte(b[colon])) colon++;
      if (colon === p || colon === le || b[colon] !== 0x3a) {
        this.#stats.parseErrors.add('http1:bad-header');
        p = nl + 1;
        continue;
      }
      const name = headerName(b, p, colon);
      let vs = colon + 1;
      while (vs < le && (b[vs] === SP || b[vs] === HTAB)) vs++;
      let ve = le;
      while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
      const field: HeaderField = { name, value: vs === ve ? '' : latin1(b, vs, ve) };
      into.push(field);
      if (framing) this.#noteFraming(field);
      p = nl + 1;
    }
  }

  #noteFraming(field: HeaderField): void {
    const name = field.name;
    if (name === H_CONTENT_LENGTH) {
      const n = parseContentLength(field.value);
      if (n < 0 || (this.#contentLength >= 0 && this.#contentLength !== n)) this.#contentLength = BAD_LENGTH;
      else if (this.#contentLength !== BAD_LENGTH) this.#contentLength = n;
    } else if (name === H_TRANSFER_ENCODING) {
      this.#transferEncoding = this.#transferEncoding === undefined ? field.value : `${this.#transferEncoding}, ${field.value}`;
    }
  }

  // ---- framing (RFC 9112 6.3) ---------------------------------------------

  #frameRequest(request: HttpRequest, sec: number, nsec: number): void {
    this.#message = request;
    this.#host.onRequestHead(request);
    if (this.#state === S_STOPPED) return;
    const te = this.#transferEncoding;
    if (te !== undefined) {
      if (this.#contentLength !== NO_LENGTH) this.#stats.parseErrors.add('http1:conflicting-framing');
      if (isChunkedLast(te)) {
        this.#enterChunked();
        return;
      }
      // A request body with a transfer coding but not chunked cannot be delimited.
      this.#stats.parseErrors.add('http1:bad-transfer-encoding');
      request.truncated = true;
      this.#finish(sec, nsec);
      this.#enterResync(false);
      return;
    }
    const cl = this.#contentLength;
    if (cl === BAD_LENGTH) {
      this.#stats.parseErrors.add('http1:bad-content-length');
      request.truncated = true;
      this.#finish(sec, nsec);
      this.#enterResync(false);
      return;
    }
    if (cl > 0) {
      this.#state = S_BODY_LENGTH;
      this.#remaining = cl;
      return;
    }
    this.#finish(sec, nsec);
  }

  #frameResponse(response: HttpResponse, sec: number, nsec: number): void {
    this.#message = response;
    const method = this.#host.beginResponse(this.#startSec, this.#startNsec);
    if (this.#state === S_STOPPED) return;
    const status = response.status;
    this.#switchAfter = false;
    if (status < 200) {
      this.#switchAfter = status === 101;
      this.#finish(sec, nsec);
      return;
    }
    if (method === 'HEAD' || status === 204 || status === 304) {
      this.#finish(sec, nsec);
      return;
    }
    if (method === 'CONNECT' && status < 300) {
      this.#switchAfter = true;
      this.#finish(sec, nsec);
      return;
    }
    const te = this.#transferEncoding;
    if (te !== undefined) {
      if (this.#contentLength !== NO_LENGTH) this.#stats.parseErrors.add('http1:conflicting-framing');
      if (isChunkedLast(te)) this.#enterChunked();
      else this.#state = S_BODY_UNTIL_CLOSE;
      return;
    }
    const cl = this.#contentLength;
    if (cl === BAD_LENGTH) {
      this.#stats.parseErrors.add('http1:bad-content-length');
      this.#state = S_BODY_UNTIL_CLOSE;
      return;
    }
    if (cl === NO_LENGTH) {
      this.#state = S_BODY_UNTIL_CLOSE;
      return;
    }
    if (cl === 0) {
      this.#finish(sec, nsec);
      return;
    }
    this.#state = S_BODY_LENGTH;
    this.#remaining = cl;
  }

  #enterChunked(): void {
    this.#state = S_CHUNK_SIZE;
    this.#accLen = 0;
  }

  // ---- chunked bodies ---------------------------------------------------

  #readChunkSize(buf: Buffer, pos: number, end: number, sec: number, nsec: number): number {
    const lf = indexOfLf(buf, pos, end);
    if (lf < 0) {
      if (this.#accLen + (end - pos) > MAX_CHUNK_LINE) return this.#chunkError('http1:bad-chunk-size', end, sec, nsec);
      this.#append(buf, pos, end);
      return end;
    }
    let line: Buffer = buf;
    let s = pos;
    let e = lf;
    if (this.#accLen > 0) {
      if (this.#accLen + (lf + 1 - pos) > MAX_CHUNK_LINE) return this.#chunkError('http1:bad-chunk-size', lf + 1, sec, nsec);
      this.#append(buf, pos, lf);
      line = this.#acc as Buffer;
      s = 0;
      e = this.#accLen;
      this.#accLen = 0;
    }
    const message = this.#message as HttpRequest | HttpResponse;
    message.headerSize += e - s + 1;
    if (e > s && line[e - 1] === CR) e--;
    let size = 0;
    let i = s;
    for (; i < e; i++) {
      const c = line[i];
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0) break;
      size = size * 16 + d;
    }
    const digits = i - s;
    while (i < e && (line[i] === SP || line[i] === HTAB)) i++;
    if (digits === 0 || digits > MAX_CHUNK_HEX_DIGITS || (i < e && line[i] !== 0x3b /* ; */)) {
      return this.#chunkError('http1:bad-chunk-size', lf + 1, sec, nsec);
    }
    if (size === 0) {
      this.#state = S_TRAILERS;
      this.#lineLen = 0;
      this.#lineIsCR = false;
    } else {
      this.#state = S_CHUNK_DATA;
      this.#remaining = size;
    }
    return lf + 1;
  }

  #readChunkDataEnd(buf: Buffer, pos: number, sec: number, nsec: number): number {
    const b = buf[pos];
    const message = this.#message as HttpRequest | HttpResponse;
    if (b === CR && !this.#crSeen) {
      this.#crSeen = true;
      message.headerSize++;
      return pos + 1;
    }
    if (b === LF) {
      message.headerSize++;
      this.#state = S_CHUNK_SIZE;
      this.#accLen = 0;
      return pos + 1;
    }
    return this.#chunkError('http1:bad-chunk-data', pos, sec, nsec);
  }

  #readTrailers(buf: Buffer, pos: number, end: number, sec: number, nsec: number): number {
    const blockEnd = this.#collectBlock(buf, pos, end, this.#maxHeaderBytes);
    if (blockEnd === BLOCK_INCOMPLETE) return end;
    if (blockEnd === BLOCK_TOO_LARGE) {
      this.#stats.parseErrors.add('http1:header-too-large');
      return this.#chunkError(undefined, end, sec, nsec);
    }
    const message = this.#message as HttpRequest | HttpResponse;
    let b = buf;
    let s = pos;
    let e = blockEnd;
    if (this.#accLen > 0) {
      b = this.#acc as Buffer;
      s = 0;
      e = this.#accLen;
    }
    message.headerSize += e - s;
    if (e - s > 2) {
      const trailers: HeaderField[] = [];
      this.#readFields(b, s, e, trailers, false);
      if (trailers.length > 0) message.trailers = trailers;
    }
    this.#releaseAccumulator();
    this.#finish(sec, nsec);
    return blockEnd;
  }

  /** Chunk framing broke: what was read is reported as truncated, then resynchronise. */
  #chunkError(kind: string | undefined, resumeAt: number, sec: number, nsec: number): number {
    if (kind !== undefined) this.#stats.parseErrors.add(kind);
    (this.#message as HttpRequest | HttpResponse).truncated = true;
    this.#releaseAccumulator();
    this.#finish(sec, nsec);
    if (this.#state === S_HEAD) this.#enterResync(false);
    return resumeAt;
  }

  // ---- message end, partial heads, resynchronisation ----------------------

  #finish(sec: number, nsec: number): void {
    const message = this.#message as HttpRequest | HttpResponse;
    this.#message = undefined;
    this.#headStarted = false;
    message.endTime = [sec, nsec];
    this.#stats.messages++;
    if (message.truncated) this.#stats.truncatedMessages++;
    if (message.type === 'request') {
      this.#state = message.method === 'CONNECT' && !message.truncated ? S_AWAIT_TUNNEL : S_HEAD;
      this.#bytesIgnoredWhileAwaitingTunnel = 0;
      this.#host.onRequestEnd(message);
    } else {
      this.#state = S_HEAD;
      const switching = this.#switchAfter && !message.truncated;
      this.#switchAfter = false;
      this.#host.onResponseEnd(message);
      if (switching) this.#host.onProtocolSwitch();
    }
  }

  /** A head cut short: report it truncated if its start line was read. */
  #emitPartialHead(sec: number, nsec: number): void {
    if (this.#accLen === 0 || this.#acc === undefined) {
      this.#headStarted = false;
      return;
    }
    const acc = this.#acc;
    const len = this.#accLen;
    this.#emitPartialHeadFrom(acc, 0, len, sec, nsec);
  }

  #emitPartialHeadFrom(b: Buffer, s: number, e: number, sec: number, nsec: number): void {
    this.#headStarted = false;
    this.#accLen = 0;
    if (scanStartLine(b, s, e, parts) !== this.#wantKind) {
      this.#stats.parseErrors.add('http1:lost-start-line');
      this.#releaseAccumulator();
      return;
    }
    const message = this.#buildMessage(b, s, e, false);
    this.#releaseAccumulator();
    this.#message = message;
    if (message.type === 'request') this.#host.onRequestHead(message);
    else this.#host.beginResponse(this.#startSec, this.#startNsec);
    if (this.#state === S_STOPPED) return;
    this.#finish(sec, nsec);
  }

  #enterResync(atLineStart: boolean): void {
    if (this.#state === S_STOPPED) return;
    this.#state = S_RESYNC;
    this.#headStarted = false;
    this.#message = undefined;
    this.#accLen = 0;
    if (atLineStart) this.#scanner.reset();
    else this.#scanner.resetMidLine();
  }

  #resync(buf: Buffer, pos: number, end: number, sec: number, nsec: number): number {
    const scanner = this.#scanner;
    const found = scanner.scan(buf, pos, end, this.#wantKind, sec, nsec);
    if (found === -1) return end;
    this.#state = S_HEAD;
    if (found === StartLineScanner.IN_CARRY) {
      const carried = scanner.carried();
      this.#beginHead(scanner.carriedSec, scanner.carriedNsec);
      this.#append(carried, 0, carried.length);
      this.#findBlankLine(carried, 0, carried.length);
      scanner.clearCarry();
      return pos;
    }
    return found;
  }
}

const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'].map((m) => ({
  name: m,
  bytes: Buffer.from(m, 'latin1'),
}));

/** Registered methods come back as shared constants; others are decoded. */
function methodString(b: Buffer, s: number, e: number): string {
  const n = e - s;
  for (const m of METHODS) {
    if (m.bytes.length !== n) continue;
    let i = 0;
    while (i < n && b[s + i] === m.bytes[i]) i++;
    if (i === n) return m.name;
  }
  return latin1(b, s, e);
}
