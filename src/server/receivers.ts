import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Stats } from '../model/stats.js';
import { decodeJaegerBatch } from './convert/jaeger-thrift.js';
import { decodeOtlpJson } from './convert/otlp-json.js';
import { decodeOtlpProtobuf, encodeExportResponse } from './convert/otlp-proto.js';
import { decodeZipkinJson } from './convert/zipkin.js';
import { HttpError, authorized, mediaType, readBody, sendJson, sendText, UNAUTHORIZED_HEADERS } from './http.js';
import { PayloadError, safeDecode, type DecodeResult, type StoredSpan } from './span.js';

export interface ReceiverContext {
  token: string | undefined;
  maxBodyBytes: number;
  stats: Stats;
  /** Stores decoded spans; returns how many were stored. */
  accept(spans: StoredSpan[]): number;
}

export type ReceiverKind = 'otlp-http' | 'zipkin' | 'jaeger-thrift';

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new PayloadError(`body is not valid JSON: ${(err as Error).message}`);
  }
}

/** google.rpc.Status { code = 1; message = 2 } in protobuf: OTLP/HTTP's error body for protobuf requests. */
function encodeRpcStatus(code: number, message: string): Buffer {
  const msg = Buffer.from(message, 'utf8');
  const len: number[] = [];
  let n = msg.length;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  len.push(n);
  return Buffer.concat([Buffer.from([0x08, code, 0x12, ...len]), msg]);
}

const GRPC_INVALID_ARGUMENT = 3;

/** One HTTP receiver: OTLP/HTTP at /v1/traces, Zipkin v2 at /api/v2/spans, Jaeger Thrift at /api/traces. */
export function receiverHandler(kind: ReceiverKind, ctx: ReceiverContext): (req: IncomingMessage, res: ServerResponse) => void {
  const path = kind === 'otlp-http' ? '/v1/traces' : kind === 'zipkin' ? '/api/v2/spans' : '/api/traces';
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (url.pathname !== path) return sendText(res, 404, `not found: ${kind} receives at POST ${path}\n`);
    if (req.method !== 'POST') return sendText(res, 405, `method ${req.method} not allowed: POST ${path}\n`, { allow: 'POST' });
    if (!authorized(req, ctx.token)) {
      req.resume();
      ctx.stats.drops.add(`server-${kind}-unauthorized`);
      return sendText(res, 401, 'missing or wrong bearer token\n', UNAUTHORIZED_HEADERS);
    }
    const type = mediaType(req);
    handle(kind, type, req, ctx).then(
      (stored) => {
        if (kind === 'otlp-http') {
          if (type === 'application/json') sendJson(res, 200, {});
          else {
            const body = encodeExportResponse();
            res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': body.length });
            res.end(body);
          }
        } else {
          res.writeHead(202, { 'content-length': 0 });
          res.end();
        }
        void stored;
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const reason = err instanceof Error ? err.message : String(err);
        ctx.stats.parseErrors.add(`server-${kind}:${status === 413 ? 'too-large' : status === 415 ? 'media-type' : 'malformed'}`);
        if (kind === 'otlp-http' && type === 'application/x-protobuf') {
          const body = encodeRpcStatus(GRPC_INVALID_ARGUMENT, reason);
          res.writeHead(status, { 'content-type': 'application/x-protobuf', 'content-length': body.length, connection: status === 413 ? 'close' : 'keep-alive' });
          res.end(body);
        } else if (kind === 'otlp-http') sendJson(res, status, { code: GRPC_INVALID_ARGUMENT, message: reason }, status === 413 ? { connection: 'close' } : undefined);
        else sendText(res, status, `${reason}\n`, status === 413 ? { connection: 'close' } : undefined);
      },
    );
  };
}

async function handle(kind: ReceiverKind, type: string, req: IncomingMessage, ctx: ReceiverContext): Promise<number> {
  let decode: (body: Buffer) => DecodeResult;
  if (kind === 'otlp-http') {
    if (type === 'application/x-protobuf' || type === 'application/protobuf') decode = (b) => safeDecode(() => decodeOtlpProtobuf(b));
    else if (type === 'application/json') decode = (b) => safeDecode(() => decodeOtlpJson(parseJson(b)));
    else throw new HttpError(415, `unsupported content-type "${type}": OTLP/HTTP takes application/x-protobuf or application/json`);
  } else if (kind === 'zipkin') {
    if (type !== 'application/json' && type !== '') throw new HttpError(415, `unsupported content-type "${type}": Zipkin v2 spans are taken as application/json`);
    decode = (b) => safeDecode(() => decodeZipkinJson(parseJson(b)));
  } else {
    if (type !== 'application/x-thrift' && type !== 'application/vnd.apache.thrift.binary') {
      throw new HttpError(415, `unsupported content-type "${type}": Jaeger batches are taken as application/x-thrift (binary protocol)`);
    }
    decode = (b) => safeDecode(() => decodeJaegerBatch(b));
  }
  const body = await readBody(req, ctx.maxBodyBytes);
  const result = decode(body);
  // A payload is stored whole or not at all: a bad span anywhere refuses the request.
  if (!result.ok) throw new HttpError(400, result.reason);
  ctx.stats.spans.add(`server-received-${kind}`, result.spans.length);
  return ctx.accept(result.spans);
}
