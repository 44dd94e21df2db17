import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { isWiretraceError } from '../../src/errors.js';
import { Stats } from '../../src/model/stats.js';
import { createAgentMetrics, startObserveServer, type HealthReport } from '../../src/observe/index.js';
import { get, repoFile } from './helpers.js';

const healthy = (): HealthReport => ({ healthy: true, problems: [] });

describe('the observe server', () => {
  test('serves /metrics and /healthz, HEAD too; 404 elsewhere, 405 for other methods', async (t) => {
    const stats = new Stats();
    stats.packets = 7;
    const server = await startObserveServer({ host: '127.0.0.1', port: 0, metrics: createAgentMetrics({ stats }, { processMetrics: false }), health: healthy });
    t.after(() => server.close());
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const metrics = await get(`${server.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^wiretrace_packets_read_total 7$/m);
    const head = await get(`${server.url}/metrics`, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(Number(head.headers['content-length']), Buffer.byteLength(metrics.body), 'HEAD announces the same body');
    assert.deepEqual(await get(`${server.url}/healthz?verbose=1`).then((r) => [r.status, r.body]), [200, 'ok\n']);
    assert.equal((await get(`${server.url}/`)).status, 404);
    assert.equal((await get(`${server.url}/metrics/x`)).status, 404);
    const post = await get(`${server.url}/metrics`, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  test('a scrape or a health check that throws is a 500 for that request only; the server and the agent carry on', async (t) => {
    let fail = true;
    const errors: unknown[] = [];
    const server = await startObserveServer({
      host: '127.0.0.1',
      port: 0,
      metrics: {
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
        scrape: () => (fail ? Promise.reject(new Error('collector broke')) : Promise.resolve('# TYPE up gauge\nup 1\n')),
      },
      health: () => {
        if (fail) throw new Error('check broke');
        return healthy();
      },
      onError: (error) => errors.push(error),
    });
    t.after(() => server.close());
    assert.equal((await get(`${server.url}/metrics`)).status, 500);
    assert.equal((await get(`${server.url}/healthz`)).status, 500);
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['collector broke', 'check broke'],
    );
    fail = false;
    assert.equal((await get(`${server.url}/metrics`)).body, '# TYPE up gauge\nup 1\n');
    assert.equal((await get(`${server.url}/healthz`)).status, 200);
  });

  test('a port already taken is a clear configuration error, before any work', async (t) => {
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const { port } = taken.address() as { port: number };
    await assert.rejects(
      startObserveServer({ host: '127.0.0.1', port, metrics: createAgentMetrics({ stats: new Stats() }, { processMetrics: false }), health: healthy }),
      (error: unknown) => isWiretraceError(error) && error.code === 'WT_ERR_CONFIG' && error.message === `cannot serve metrics on 127.0.0.1:${port}: EADDRINUSE`,
    );
  });

  // A close() that waited for the scraper's idle connection would hang the run: the timeout turns that into a failure.
  test('close() returns while a scraper holds a keep-alive connection, and the port is released', { timeout: 10_000 }, async () => {
    const server = await startObserveServer({ host: '127.0.0.1', port: 0, metrics: createAgentMetrics({ stats: new Stats() }, { processMetrics: false }), health: healthy });
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http.get(`${server.url}/healthz`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
    assert.equal(agent.freeSockets[Object.keys(agent.freeSockets)[0]]?.length, 1, 'the scraper keeps its connection open');
    await server.close();
    const refused = await new Promise<boolean>((resolve) => {
      http.get(`${server.url}/healthz`, (res) => (res.resume(), resolve(false))).on('error', () => resolve(true));
    });
    assert.ok(refused, 'nothing listens after close()');
    agent.destroy();
  });

  test('never keeps the process alive: a process that only serves metrics (with a scraper connected) exits on its own', async () => {
    const script = `
      import http from 'node:http';
      import { startObserveServer } from ${JSON.stringify(repoFile('src/observe/server.ts'))};
      const server = await startObserveServer({ host: '127.0.0.1', port: 0, metrics: { contentType: 'text/plain', scrape: async () => '' }, health: () => ({ healthy: true, problems: [] }) });
      const agent = new http.Agent({ keepAlive: true });
      http.get(server.url + '/healthz', { agent }, (res) => { res.resume(); res.on('end', () => console.log('scraped', res.statusCode)); });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    assert.equal(signal, null, `the process had to be killed: it stayed alive (${err})`);
    assert.equal(code, 0, err);
    assert.equal(out.trim(), 'scraped 200');
  });
});
