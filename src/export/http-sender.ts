import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { WiretraceError } from '../errors.js';
import type { ExportTlsConfig } from './config.js';
import { ExportFailure } from './failure.js';

const gzipAsync = promisify(gzip);

/** Enough of an error response to say what the receiver disliked, not enough to hold memory hostage. */
const MAX_ERROR_BODY_BYTES = 4096;

export interface HttpSenderOptions {
  url: string;
  headers: Record<string, string>;
  compression: 'none' | 'gzip';
  /** Socket inactivity while sending or waiting for the answer; the queue's export timeout is the hard bound. */
  timeoutMs: number;
  tls: ExportTlsConfig;
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new WiretraceError('WT_ERR_CONFIG', `cannot read the exporter's TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

/**
 * POSTs one body per call and turns the outcome into success or an
 * `ExportFailure` that says whether to retry: 2xx is success; 429, 502, 503,
 * 504 are retryable (with Retry-After); other statuses are not; refused,
 * reset and timed-out connections are retryable; TLS verification failures
 * are not (they are configuration, and retrying will not fix them).
 * Shared by the OTLP/HTTP, Jaeger, Zipkin and Splunk exporters so that they
 * all fail the same way.
 */
export class HttpSender {
  readonly url: URL;
  readonly #headers: Record<string, string>;
  readonly #compression: 'none' | 'gzip';
  readonly #timeoutMs: number;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;

  constructor(options: HttpSenderOptions) {
    this.url = new URL(options.url);
    this.#headers = { 'user-agent': 'wiretrace', ...options.headers };
    this.#compression = options.compression;
    this.#timeoutMs = options.timeoutMs;
    if (this.url.protocol === 'https:') {
      this.#agent = new https.Agent({
        keepAlive: true,
        ca: readPem(options.tls.caFile, 'CA file'),
        cert: readPem(options.tls.certFile, 'certificate'),
        key: readPem(options.tls.keyFile, 'key'),
        rejectUnauthorized: options.tls.rejectUnauthorized,
      });
      this.#request = https.request;
    } else if (this.url.protocol === 'http:') {
      this.#agent = new http.Agent({ keepAlive: true });
      this.#request = http.request;
    } else {
      throw new WiretraceError('WT_ERR_CONFIG', `exporter endpoint ${options.url}: only http:// and https:// are supported`);
    }
  }

  async send(body: Uint8Array | string, contentType: string): Promise<void> {
    let payload: Uint8Array = typeof body === 'string' ? Buffer.from(body) : body;
    const headers: Record<string, string | number> = { ...this.#headers, 'content-type': contentType };
    if (this.#compression === 'gzip') {
      payload = await gzipAsync(payload);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = payload.byteLength;
    await new Promise<void>((resolve, reject) => {
      const req = this.#request(this.url, { method: 'POST', agent: this.#agent, headers }, (res) => {
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (!ok && kept < MAX_ERROR_BODY_BYTES) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        res.on('end', () => {
          if (ok) resolve();
          else reject(ExportFailure.httpStatus(status, res.headers['retry-after'], Buffer.concat(chunks).subarray(0, 200).toString('utf8').trim()));
        });
        res.on('error', (err: NodeJS.ErrnoException) => (ok ? resolve() : reject(ExportFailure.network(err))));
      });
      req.setTimeout(this.#timeoutMs, () => req.destroy(ExportFailure.timeout(this.#timeoutMs)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(err instanceof ExportFailure ? err : ExportFailure.network(err)));
      req.end(payload);
    });
  }

  shutdown(): void {
    this.#agent.destroy();
  }
}
