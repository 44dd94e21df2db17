import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WiretraceError } from '../errors.js';
import type { HealthCheck } from './health.js';

/**
 * The agent's HTTP face for operators: GET /metrics (Prometheus text) and
 * GET /healthz (200 "ok", or 503 with one line per failing check). It never
 * keeps the process alive and never throws into the pipeline: a failing
 * scrape is a 500 for that scrape only.
 */

export interface ObserveServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  metrics: { readonly contentType: string; scrape(): Promise<string> };
  health: HealthCheck;
  /** Told about errors after the server is up (a scrape that failed, a socket error); must not throw. */
  onError?: (error: unknown) => void;
}

export interface ObserveServer {
  /** Base URL, e.g. http://127.0.0.1:9464 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startObserveServer(options: ObserveServerOptions): Promise<ObserveServer> {
  const report = (error: unknown): void => {
    try {
      options.onError?.(error);
    } catch {
      // a logging hook must not take the server down
    }
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics' && path !== '/healthz') {
      send(res, 404, 'not found: try /metrics or /healthz\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      let body: string;
      let status: number;
      try {
        const health = options.health();
        status = health.healthy ? 200 : 503;
        body = health.healthy ? 'ok\n' : health.problems.join('\n') + '\n';
      } catch (error) {
        report(error);
        status = 500;
        body = 'health check failed\n';
      }
      send(res, status, body, req.method === 'HEAD');
      return;
    }
    options.metrics.scrape().then(
      (text) => send(res, 200, text, req.method === 'HEAD', options.metrics.contentType),
      (error: unknown) => {
        report(error);
        send(res, 500, 'metrics unavailable\n');
      },
    );
  });
  // Scrapers keep connections open; none of them may hold the process up once the agent is done.
  server.on('connection', (socket) => socket.unref());
  server.on('clientError', (error, socket) => {
    report(error);
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
      reject(new WiretraceError('WT_ERR_CONFIG', `cannot serve metrics on ${where}: ${error.code ?? error.message}`));
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', report);
  server.unref();

  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function send(res: http.ServerResponse, status: number, body: string, headOnly = false, contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(headOnly ? undefined : body);
}
