/**
 * Recognising HTTP/1 start lines in place. Shared by protocol detection
 * (first bytes of a stream, or a line boundary when the capture began
 * mid-message) and by the parser (the start of every message, and
 * resynchronisation after a gap or garbage).
 */

export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const HTAB = 0x09;

export const StartLineKind = {
  /** Every byte so far is plausible but the line has not ended yet. */
  NeedMore: -1,
  None: 0,
  Request: 1,
  Response: 2,
} as const;
export type StartLineKind = (typeof StartLineKind)[keyof typeof StartLineKind];

/** Byte offsets of the parts of the last start line recognised; one reused object. */
export class StartLineParts {
  /** Request: method is [start, methodEnd), target [targetStart, targetEnd). */
  methodEnd = -1;
  targetStart = -1;
  targetEnd = -1;
  /** "HTTP/1.x" is [versionStart, versionStart + 8). */
  versionStart = -1;
  /** Response: three status digits at statusStart, reason is [reasonStart, reasonEnd). */
  statusStart = -1;
  reasonStart = -1;
  reasonEnd = -1;
  /** Index of the LF that ends the line. */
  lineEnd = -1;
}

/** RFC 9110 tchar. */
const TCHAR = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

/** Bytes allowed in a request target: visible ASCII and obs-text (lenient: no SP, no CTL). */
const TARGET_CHAR = new Uint8Array(256);
for (let c = 0x21; c <= 0xff; c++) TARGET_CHAR[c] = c === 0x7f ? 0 : 1;

const MAX_METHOD_LENGTH = 24;
const HTTP_SLASH_1_DOT = Buffer.from('HTTP/1.', 'latin1');

export function isTokenByte(b: number): boolean {
  return TCHAR[b] === 1;
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** 1: bytes at pos spell "HTTP/1.", 0: they do not, -1: too few bytes to tell. */
function matchHttp1Version(buf: Buffer, pos: number, end: number): number {
  const n = HTTP_SLASH_1_DOT.length;
  const avail = end - pos;
  const m = avail < n ? avail : n;
  for (let i = 0; i < m; i++) if (buf[pos + i] !== HTTP_SLASH_1_DOT[i]) return 0;
  return avail < n ? -1 : 1;
}

/**
 * Classifies the line that starts at `pos` (bytes up to `end` available):
 * a request line `token SP target SP HTTP/1.d`, a status line
 * `HTTP/1.d SP ddd [SP reason]`, or neither. A complete line is validated
 * whole; an unfinished one returns NeedMore while every byte so far fits.
 * Fills `parts` with offsets. Never reads outside [pos, end).
 */
export function scanStartLine(buf: Buffer, pos: number, end: number, parts: StartLineParts): StartLineKind {
  parts.methodEnd = -1;
  if (pos >= end) return StartLineKind.NeedMore;
  if (buf[pos] === 0x48 /* H */) {
    const v = matchHttp1Version(buf, pos, end);
    if (v === -1) return StartLineKind.NeedMore;
    if (v === 1) return scanStatusLine(buf, pos, end, parts);
  }
  let i = pos;
  const methodLimit = pos + MAX_METHOD_LENGTH;
  while (i < end && TCHAR[buf[i]] === 1) {
    if (++i > methodLimit) return StartLineKind.None;
  }
  if (i === end) return StartLineKind.NeedMore;
  if (buf[i] !== SP || i === pos) return StartLineKind.None;
  parts.methodEnd = i;
  i++;
  parts.targetStart = i;
  while (i < end && TARGET_CHAR[buf[i]] === 1) i++;
  if (i === end) return StartLineKind.NeedMore;
  if (buf[i] !== SP || i === parts.targetStart) return StartLineKind.None;
  parts.targetEnd = i;
  i++;
  parts.versionStart = i;
  const v = matchHttp1Version(buf, i, end);
  if (v !== 1) return v === 0 ? StartLineKind.None : StartLineKind.NeedMore;
  i += HTTP_SLASH_1_DOT.length;
  if (i === end) return StartLineKind.NeedMore;
  if (!isDigit(buf[i])) return StartLineKind.None;
  i++;
  if (i === end) return StartLineKind.NeedMore;
  if (buf[i] === CR) {
    i++;
    if (i === end) return StartLineKind.NeedMore;
  }
  if (buf[i] !== LF) return StartLineKind.None;
  parts.lineEnd = i;
  return StartLineKind.Request;
}

function scanStatusLine(buf: Buffer, pos: number, end: number, parts: StartLineParts): StartLineKind {
  parts.versionStart = pos;
  let i = pos + HTTP_SLASH_1_DOT.length;
  if (end - i < 5) {
    // Validate what is there: digit SP digit digit digit
    for (let k = 0; i + k < end; k++) {
      const b = buf[i + k];
      if (k === 1 ? b !== SP : !isDigit(b)) return StartLineKind.None;
    }
    return StartLineKind.NeedMore;
  }
  if (!isDigit(buf[i]) || buf[i + 1] !== SP || !isDigit(buf[i + 2]) || !isDigit(buf[i + 3]) || !isDigit(buf[i + 4])) {
    return StartLineKind.None;
  }
  parts.statusStart = i + 2;
  i += 5;
  if (i === end) return StartLineKind.NeedMore;
  const after = buf[i];
  if (after !== SP && after !== CR && after !== LF) return StartLineKind.None;
  const lf = indexOfLf(buf, i, end);
  if (lf < 0) {
    // The reason phrase is free text; only control bytes other than HTAB rule the line out.
    for (let k = i; k < end; k++) {
      const b = buf[k];
      if (b < 0x20 && b !== HTAB && b !== CR) return StartLineKind.None;
    }
    return StartLineKind.NeedMore;
  }
  let reasonEnd = lf;
  if (reasonEnd > i && buf[reasonEnd - 1] === CR) reasonEnd--;
  for (let k = i; k < reasonEnd; k++) {
    const b = buf[k];
    if (b < 0x20 && b !== HTAB) return StartLineKind.None;
  }
  parts.reasonStart = after === SP ? i + 1 : i;
  parts.reasonEnd = reasonEnd < parts.reasonStart ? parts.reasonStart : reasonEnd;
  parts.lineEnd = lf;
  return StartLineKind.Response;
}

/** `buf.indexOf(LF, from)` limited to [from, end); -1 when absent. */
export function indexOfLf(buf: Buffer, from: number, end: number): number {
  if (from >= end) return -1;
  const i = buf.indexOf(LF, from);
  return i === -1 || i >= end ? -1 : i;
}

const KNOWN_METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH', 'PURGE',
].map((m) => Buffer.from(`${m} `, 'latin1'));

/**
 * For a line that is still unfinished when a decision must be made: does
 * it at least begin like HTTP/1 ("HTTP/1." or a registered method and SP)?
 */
export function hasStrongStartPrefix(buf: Buffer, pos: number, end: number): StartLineKind {
  if (matchHttp1Version(buf, pos, end) === 1) return StartLineKind.Response;
  for (const m of KNOWN_METHODS) {
    if (end - pos < m.length) continue;
    let ok = true;
    for (let i = 0; i < m.length; i++) {
      if (buf[pos + i] !== m[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return StartLineKind.Request;
  }
  return StartLineKind.None;
}

const UNBOUNDED_TAIL = 2048;

/** Longest partial start line kept while resynchronising across chunk boundaries. */
export const MAX_CARRIED_LINE = 1024;

/**
 * Finds the next line that begins a wanted kind of start line, across
 * chunk boundaries. An unfinished candidate line at the end of a chunk is
 * carried (bounded) so that it can be validated whole with the next chunk.
 */
export class StartLineScanner {
  /** The next byte begins a line (stream start, after an LF, after a gap). */
  #atLineStart = true;
  #carry: Buffer | undefined;
  #carryLen = 0;
  #carrySec = 0;
  #carryNsec = 0;
  #bytesScanned = 0;
  /** Kind of the start line found by the last successful `scan`. */
  foundKind: StartLineKind = StartLineKind.None;
  readonly #parts = new StartLineParts();

  /** A found line began in bytes of earlier chunks: they are `carried()`, the rest follows at the returned position. */
  static readonly IN_CARRY = -2;

  get bytesScanned(): number {
    return this.#bytesScanned;
  }

  /** After a gap the next byte may begin a message. */
  reset(): void {
    this.#atLineStart = true;
    this.#carryLen = 0;
  }

  /** Resynchronise from the middle of a line: the next line start is the first candidate. */
  resetMidLine(): void {
    this.#atLineStart = false;
    this.#carryLen = 0;
  }

  carried(): Buffer {
    return (this.#carry as Buffer).subarray(0, this.#carryLen);
  }
  get carriedSec(): number {
    return this.#carrySec;
  }
  get carriedNsec(): number {
    return this.#carryNsec;
  }
  clearCarry(): void {
    this.#carryLen = 0;
  }

  /**
   * Returns the offset in `buf` where a wanted start line begins,
   * `IN_CARRY` when it began in carried bytes (use `carried()` then `buf`
   * from `pos`), or -1 when none begins in [pos, end).
   * `want` is a bit set of StartLineKind.Request | StartLineKind.Response.
   */
  scan(buf: Buffer, pos: number, end: number, want: number, sec: number, nsec: number): number {
    this.#bytesScanned += end - pos;
    // Searches below must not run past `end` into a much larger underlying buffer.
    if (buf.length - end > UNBOUNDED_TAIL) buf = buf.subarray(0, end);
    const parts = this.#parts;
    if (this.#carryLen > 0) {
      const carry = this.#carry as Buffer;
      const lf = indexOfLf(buf, pos, end);
      const room = MAX_CARRIED_LINE - this.#carryLen;
      const wanted = lf >= 0 ? lf + 1 - pos : end - pos;
      const take = wanted < room ? wanted : room;
      const before = this.#carryLen;
      buf.copy(carry, before, pos, pos + take);
      this.#carryLen += take;
      const kind = scanStartLine(carry, 0, this.#carryLen, parts);
      if (kind > 0 && (want & kind) !== 0) {
        this.#carryLen = before;
        this.foundKind = kind;
        this.#atLineStart = false;
        return StartLineScanner.IN_CARRY;
      }
      if (kind === StartLineKind.NeedMore && take === wanted && lf < 0) return -1;
      this.#carryLen = 0;
      this.#atLineStart = false;
    }
    const wantResponse = (want & StartLineKind.Response) !== 0;
    // Next "HTTP/1." at or after the search point: a status line may follow a body with no line break.
    let nextVersion = -2;
    while (pos < end) {
      if (this.#atLineStart) {
        const kind = scanStartLine(buf, pos, end, parts);
        if (kind > 0 && (want & kind) !== 0) {
          this.foundKind = kind;
          this.#atLineStart = false;
          return pos;
        }
        if (kind === StartLineKind.NeedMore && end - pos <= MAX_CARRIED_LINE) {
          this.#keep(buf, pos, end, sec, nsec);
          return -1;
        }
      }
      const lf = indexOfLf(buf, pos, end);
      const lineStop = lf < 0 ? end : lf;
      if (wantResponse) {
        let from = this.#atLineStart ? pos + 1 : pos;
        while (from < lineStop && nextVersion !== -1) {
          if (nextVersion < from) nextVersion = buf.indexOf(HTTP_SLASH_1_DOT, from);
          if (nextVersion === -1 || nextVersion >= lineStop) break;
          const at = nextVersion;
          const kind = scanStartLine(buf, at, end, parts);
          if (kind === StartLineKind.Response) {
            this.foundKind = kind;
            this.#atLineStart = false;
            return at;
          }
          if (kind === StartLineKind.NeedMore && end - at <= MAX_CARRIED_LINE) {
            this.#keep(buf, at, end, sec, nsec);
            return -1;
          }
          from = at + 1;
        }
      }
      if (lf < 0) {
        this.#atLineStart = false;
        if (wantResponse) {
          // A status line may begin in the last few bytes: keep them if they could be "HTTP/1." cut short.
          const maxTail = Math.min(HTTP_SLASH_1_DOT.length - 1, end - pos);
          for (let k = maxTail; k >= 1; k--) {
            if (matchHttp1Version(buf, end - k, end) === -1) {
              this.#keep(buf, end - k, end, sec, nsec);
              break;
            }
          }
        }
        return -1;
      }
      pos = lf + 1;
      this.#atLineStart = true;
    }
    return -1;
  }

  #keep(buf: Buffer, start: number, end: number, sec: number, nsec: number): void {
    this.#carry ??= Buffer.allocUnsafe(MAX_CARRIED_LINE);
    buf.copy(this.#carry, 0, start, end);
    this.#carryLen = end - start;
    this.#carrySec = sec;
    this.#carryNsec = nsec;
    this.#atLineStart = false;
  }
}

/** buf[start, end) as latin1: one byte, one UTF-16 code unit, never a decoding error. */
export function latin1(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end);
}
