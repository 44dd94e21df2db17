import type { HrTime } from './time.js';

/** Header field as seen on the wire; `name` lowercased, value trimmed. Order and repeats kept. */
export interface HeaderField {
  name: string;
  value: string;
}

interface HttpMessageBase {
  /** e.g. "HTTP/1.1" */
  version: string;
  headers: HeaderField[];
  /** Body bytes on the wire (chunked: the decoded payload length, excluding framing). */
  bodySize: number;
  /** Bytes of start line + headers (+ chunk framing and trailers). */
  headerSize: number;
  /** Time of the first and last byte of the message. */
  startTime: HrTime;
  endTime: HrTime;
  /** Part of the message was not captured (snaplen, gap, or capture end); what was read is reported. */
  truncated: boolean;
  /** The body ended with the connection and may be incomplete (no length and no FIN/RST). */
  incomplete?: boolean;
  /** Trailer fields of a chunked body. */
  trailers?: HeaderField[];
}

export interface HttpRequest extends HttpMessageBase {
  type: 'request';
  method: string;
  /** Request target as sent (origin form, absolute form, authority form or "*"). */
  target: string;
}

export interface HttpResponse extends HttpMessageBase {
  type: 'response';
  status: number;
  reason: string;
  /** 1xx responses other than 101 are interim: they precede the final response. */
  interim: boolean;
}

export type HttpMessage = HttpRequest | HttpResponse;

export function headerValue(headers: readonly HeaderField[], lowerName: string): string | undefined {
  for (const h of headers) if (h.name === lowerName) return h.value;
  return undefined;
}
