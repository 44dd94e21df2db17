/**
 * Recognisers for the first bytes of a stream. Each looks at one
 * direction's first bytes and says whether they begin its protocol. Only
 * HTTP/1 has a parser today; the others are recognised so that they are
 * skipped cheaply and counted by name.
 */
import { StartLineKind, StartLineParts, hasStrongStartPrefix, scanStartLine } from './http1/startline.js';

export const ProbeVerdict = {
  /** Too few bytes to tell. */
  NeedMore: -1,
  No: 0,
  /** These bytes begin this protocol; they do not say which side is the client. */
  Match: 1,
  /** These bytes begin this protocol and were sent by the client. */
  MatchFromClient: 2,
  /** These bytes begin this protocol and were sent by the server. */
  MatchFromServer: 3,
} as const;
export type ProbeVerdict = (typeof ProbeVerdict)[keyof typeof ProbeVerdict];

export interface ProtocolDetector {
  /** Key in `stats.protocols`. */
  readonly name: string;
  /**
   * Looks at buf[offset, end), the first bytes of one direction.
   * `atStreamStart`: they are known to be the first bytes of the stream
   * (otherwise the capture may have begun mid-stream). `final`: no more
   * bytes will come for this decision, so NeedMore is not an answer.
   */
  probe(buf: Buffer, offset: number, end: number, atStreamStart: boolean, final: boolean): ProbeVerdict;
}

/** TLS record header: content type, 0x03, minor version 0..4 (SSL 3.0 to TLS 1.3 record layer). */
export const tlsDetector: ProtocolDetector = {
  name: 'tls',
  probe(buf, offset, end, atStreamStart) {
    const n = end - offset;
    if (n < 1) return ProbeVerdict.NeedMore;
    const type = buf[offset];
    // A stream starts with a handshake record; mid-stream any record type can come first.
    if (atStreamStart ? type !== 0x16 : type < 0x14 || type > 0x18) return ProbeVerdict.No;
    if (n < 2) return ProbeVerdict.NeedMore;
    if (buf[offset + 1] !== 0x03) return ProbeVerdict.No;
    if (n < 3) return ProbeVerdict.NeedMore;
    if (buf[offset + 2] > 0x04) return ProbeVerdict.No;
    if (n < 5) return atStreamStart ? ProbeVerdict.Match : ProbeVerdict.NeedMore;
    const recordLength = buf.readUInt16BE(offset + 3);
    return recordLength > 0 && recordLength <= 18432 ? ProbeVerdict.Match : ProbeVerdict.No;
  },
};

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** HTTP/2 with prior knowledge (h2c): the client connection preface. */
export const http2PrefaceDetector: ProtocolDetector = {
  name: 'http2',
  probe(buf, offset, end, atStreamStart) {
    if (!atStreamStart) return ProbeVerdict.No;
    const n = Math.min(end - offset, HTTP2_PREFACE.length);
    for (let i = 0; i < n; i++) if (buf[offset + i] !== HTTP2_PREFACE[i]) return ProbeVerdict.No;
    return n === HTTP2_PREFACE.length ? ProbeVerdict.MatchFromClient : ProbeVerdict.NeedMore;
  },
};

const parts = new StartLineParts();

/** HTTP/1.x: a request line from the client or a status line from the server. */
export const http1Detector: ProtocolDetector = {
  name: 'http1',
  probe(buf, offset, end, _atStreamStart, final) {
    const kind = scanStartLine(buf, offset, end, parts);
    if (kind === StartLineKind.Request) return ProbeVerdict.MatchFromClient;
    if (kind === StartLineKind.Response) return ProbeVerdict.MatchFromServer;
    if (kind === StartLineKind.None) return ProbeVerdict.No;
    if (!final) return ProbeVerdict.NeedMore;
    // A very long request line: accept it on a registered method alone.
    const prefix = hasStrongStartPrefix(buf, offset, end);
    return prefix === StartLineKind.Request
      ? ProbeVerdict.MatchFromClient
      : prefix === StartLineKind.Response
        ? ProbeVerdict.MatchFromServer
        : ProbeVerdict.No;
  },
};

/** In order: the first to match wins. */
export const defaultDetectors: readonly ProtocolDetector[] = [tlsDetector, http2PrefaceDetector, http1Detector];
