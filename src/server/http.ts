import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzip, inflate } from 'node:zlib';

/** A request refused with an HTTP status and a reason the client can read. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks `Authorization: Bearer <token>` (or, for EventSource clients that
 * cannot set headers, `?access_token=` as RFC 6750 allows) in constant time.
 */
export function authorized(req: IncomingMessage, token: string | undefined, url?: URL): boolean {
  if (!token) return true;
  const header = req.headers.authorization;
  let offered: string | undefined;
  if (header && /^bearer /i.test(header)) offered = header.slice(7).trim();
  else if (url) offered = url.searchParams.get('access_token') ?? undefined;
  if (offered === undefined) return false;
  const a = Buffer.from(offered);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads a request body up to `maxBytes` on the wire and after decompression (gzip, deflate); beyond it a 413. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, `request body exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve());
    req.on('error', reject);
  });
  const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity' || encoding === '') return raw;
  if (encoding !== 'gzip' && encoding !== 'deflate') throw new HttpError(415, `unsupported content-encoding "${encoding}" (gzip and deflate are)`);
  return new Promise<Buffer>((resolve, reject) => {
    const done = (err: Error | null, out: Buffer): void => {
      if (!err) resolve(out);
      else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /maxOutputLength|too large/i.test(err.message)) reject(new HttpError(413, `decompressed body exceeds the limit of ${maxBytes} bytes`));
      else reject(new HttpError(400, `body is not valid ${encoding}: ${err.message}`));
    };
    if (encoding === 'gzip') gunzip(raw, { maxOutputLength: maxBytes }, done);
    else inflate(raw, { maxOutputLength: maxBytes }, done);
  });
}

export function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders?: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, extraHeaders?: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

export const UNAUTHORIZED_HEADERS = { 'www-authenticate': 'Bearer realm="wiretrace"' };
