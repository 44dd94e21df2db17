/**
 * Header names are compared by length first, then byte by byte against a
 * small table of the names that matter; a hit returns one shared lowercase
 * string, so framing checks are identity comparisons and common names are
 * never allocated per message.
 */

import { latin1 } from './startline.js';

interface KnownName {
  name: string;
  lower: Uint8Array;
  /** 0x20 where the byte is a letter (compare case-insensitively), 0 elsewhere (compare exactly). */
  caseMask: Uint8Array;
}

export const H_CONTENT_LENGTH = 'content-length';
export const H_TRANSFER_ENCODING = 'transfer-encoding';

const KNOWN = [
  'host', 'date', 'etag', 'vary', 'te', 'accept', 'expect', 'server', 'cookie', 'origin', 'pragma',
  'upgrade', 'referer', 'baggage', 'trailer', 'location', 'if-match', 'connection', 'set-cookie',
  'user-agent', 'keep-alive', 'tracestate', 'traceparent', 'x-b3-spanid', 'content-type', 'x-request-id',
  'x-b3-traceid', 'x-b3-sampled', 'cache-control', 'last-modified', 'authorization', 'if-none-match',
  'uber-trace-id', 'accept-ranges', 'content-length', 'accept-encoding', 'accept-language', 'x-forwarded-for',
  'content-encoding', 'x-b3-parentspanid', 'transfer-encoding', 'if-modified-since', 'sec-websocket-key',
  'x-forwarded-proto', 'sec-websocket-accept', 'sec-websocket-version', 'access-control-allow-origin', 'b3',
];

const BY_LENGTH: KnownName[][] = [];
for (const name of KNOWN) {
  const lower = Buffer.from(name, 'latin1');
  const caseMask = new Uint8Array(lower.length);
  for (let i = 0; i < lower.length; i++) caseMask[i] = lower[i] >= 0x61 && lower[i] <= 0x7a ? 0x20 : 0;
  (BY_LENGTH[name.length] ??= []).push({ name, lower, caseMask });
}

/** The lowercase header name spelled by buf[start, end). */
export function headerName(buf: Buffer, start: number, end: number): string {
  const candidates = BY_LENGTH[end - start];
  if (candidates !== undefined) {
    for (const k of candidates) {
      const lower = k.lower;
      const mask = k.caseMask;
      let i = 0;
      for (; i < lower.length; i++) if ((buf[start + i] | mask[i]) !== lower[i]) break;
      if (i === lower.length) return k.name;
    }
  }
  return latin1(buf, start, end).toLowerCase();
}

/**
 * Content-Length value: a decimal number, or a list of identical numbers
 * (RFC 9110 8.6). -1 when invalid.
 */
export function parseContentLength(value: string): number {
  let result = -1;
  let current = -1;
  let i = 0;
  const n = value.length;
  while (i <= n) {
    const c = i < n ? value.charCodeAt(i) : 0x2c;
    if (c >= 0x30 && c <= 0x39) {
      current = (current < 0 ? 0 : current * 10) + (c - 0x30);
      if (current > Number.MAX_SAFE_INTEGER) return -1;
    } else if (c === 0x2c) {
      if (current < 0) return -1;
      if (result >= 0 && result !== current) return -1;
      result = current;
      current = -1;
    } else if (c !== 0x20 && c !== 0x09) {
      return -1;
    } else if (current >= 0 && i + 1 < n) {
      // Whitespace is only allowed around the commas of a list.
      let j = i + 1;
      while (j < n && (value.charCodeAt(j) === 0x20 || value.charCodeAt(j) === 0x09)) j++;
      if (j < n && value.charCodeAt(j) !== 0x2c) return -1;
    }
    i++;
  }
  return result;
}

/** Is "chunked" the last transfer coding of this Transfer-Encoding value? */
export function isChunkedLast(value: string): boolean {
  const comma = value.lastIndexOf(',');
  const last = (comma < 0 ? value : value.slice(comma + 1)).trim();
  return last.length === 7 && last.toLowerCase() === 'chunked';
}
