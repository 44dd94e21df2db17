// The bit of web framework the demo services share: route templates, JSON
// responses, JSON calls to other services, readiness and graceful shutdown.
import { join } from 'node:path';
import { markRoute, startTracing } from './tracing.mjs';
import { portOf } from './topology.mjs';

const HOST = '127.0.0.1';

function compileRoute(template) {
  // '/users/:userId' -> /^\/users\/([^/]+)$/ with parameter names kept in order.
  const names = [];
  const pattern = template.replace(/:([A-Za-z]+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  return { template, names, regex: new RegExp(`^${pattern}$`) };
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response, status, body) {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  response.end(payload);
}

/**
 * Starts one demo service. `routes` maps 'METHOD /template/:param' to
 * `async ({ params, query, body, call }) => [status, jsonBody]`.
 */
export function runService(name, routes) {
  const spansDir = process.env.DEMO_SPANS_DIR;
  if (!spansDir) throw new Error('DEMO_SPANS_DIR must name the folder for the ground-truth span files');
  const { http, shutdown } = startTracing(name, join(spansDir, `${name}.sdk-spans.jsonl`));

  // One keep-alive agent per service, as a real service has: consecutive
  // calls to the same downstream reuse one connection.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  /** Calls another demo service; resolves with its status and parsed JSON body. */
  function call(service, method, path, body) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = { accept: 'application/json' };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const request = http.request({ host: HOST, port: portOf(service), method, path, headers, agent }, (response) => {
        readBody(response).then(
          (text) => resolve({ status: response.statusCode, body: text ? JSON.parse(text) : null }),
          reject,
        );
      });
      request.on('error', reject);
      request.end(payload);
    });
  }

  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, template] = key.split(' ');
    return { method, handler, ...compileRoute(template) };
  });

  const server = http.createServer(async (request, response) => {
    try {
      const url = new URL(request.url, `http://${HOST}`);
      const body = await readBody(request);
      for (const route of table) {
        if (route.method !== request.method) continue;
        const match = route.regex.exec(url.pathname);
        if (match === null) continue;
        markRoute(route.method, route.template);
        const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(match[i + 1])]));
        const [status, json] = await route.handler({
          params,
          query: url.searchParams,
          body: body ? JSON.parse(body) : null,
          call,
        });
        sendJson(response, status, json);
        return;
      }
      sendJson(response, 404, { error: 'no such route' });
    } catch (error) {
      sendJson(response, 500, { error: String(error) });
    }
  });
  // Longer than any scenario, so the agent never races the server's idle close.
  server.keepAliveTimeout = 60_000;

  const port = portOf(name);
  server.listen(port, HOST, () => {
    // record.sh waits for this line before it starts the capture.
    console.log(`${name} ready on ${HOST}:${port}`);
  });

  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    // Close our outgoing keep-alive connections and the idle incoming ones, so
    // the capture shows each connection's FIN instead of leaving it open.
    agent.destroy();
    server.close(() => {
      shutdown().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
  });
}
