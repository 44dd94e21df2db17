import { timingSafeEqual } from 'node:crypto';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { decodeOtlpProtobuf, encodeExportResponse } from './convert/otlp-proto.js';
import type { ReceiverContext } from './receivers.js';
import { safeDecode } from './span.js';

/*
 * OTLP over gRPC: opentelemetry.proto.collector.trace.v1.TraceService/Export.
 * The method is declared with identity (de)serialisers so the request bytes
 * reach the same hand-written decoder as OTLP/HTTP; no .proto files needed.
 */

const identity = (b: Buffer): Buffer => b;

/** The OTLP TraceService with raw bytes in and out: decoding is the receiver's own. */
export const otlpTraceService: ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

function tokenMatches(offered: string | undefined, token: string): boolean {
  if (!offered || !/^bearer /i.test(offered)) return false;
  const a = Buffer.from(offered.slice(7).trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startGrpcReceiver(host: string, port: number, ctx: ReceiverContext): Promise<{ port: number; close(): Promise<void> }> {
  const server = new Server({
    'grpc.max_receive_message_length': ctx.maxBodyBytes,
  });
  server.addService(otlpTraceService, {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      if (ctx.token && !tokenMatches(String(call.metadata.get('authorization')[0] ?? ''), ctx.token)) {
        ctx.stats.drops.add('server-otlp-grpc-unauthorized');
        callback({ code: status.UNAUTHENTICATED, details: 'missing or wrong bearer token' });
        return;
      }
      const result = safeDecode(() => decodeOtlpProtobuf(call.request));
      if (!result.ok) {
        ctx.stats.parseErrors.add('server-otlp-grpc:malformed');
        callback({ code: status.INVALID_ARGUMENT, details: result.reason });
        return;
      }
      ctx.stats.spans.add('server-received-otlp-grpc', result.spans.length);
      ctx.accept(result.spans);
      callback(null, encodeExportResponse());
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Streams left open by clients must not hold the shutdown forever.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
