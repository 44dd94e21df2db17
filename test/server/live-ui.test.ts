import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, url } from './helpers.js';

test('/api/live pushes a summary of each new trace as it is stored (Server-Sent Events)', async () => {
  const server = await startServer();
  try {
    const events: string[] = [];
    const req = http.get(url(server, 'query', '/api/live'));
    const res = await new Promise<http.IncomingMessage>((r) => req.on('response', r));
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const got = new Promise<void>((resolve) => {
      let buf = '';
      res.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /event: traces\ndata: (.*)\n\n/.exec(buf);
        if (m) {
          events.push(m[1]);
          resolve();
        }
      });
    });
    const body = JSON.stringify([{ traceId: 'cd'.repeat(16), id: 'ef'.repeat(8), name: 'GET /live', timestamp: 1_000_000, duration: 5, kind: 'SERVER', localEndpoint: { serviceName: 'live' }, tags: { error: 'boom' } }]);
    await fetch(url(server, 'zipkin', '/api/v2/spans'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await got;
    req.destroy();
    assert.deepEqual(JSON.parse(events[0]), [
      { traceId: 'cd'.repeat(16), rootService: 'live', rootName: 'GET /live', spanCount: 1, errorCount: 1, services: ['live'], startUs: 1_000_000, durationUs: 5 },
    ]);
  } finally {
    await server.close();
  }
});

test('the query port serves the UI directory: files, index.html for client routes, nothing outside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wt-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>wiretrace</title>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(tmpdir(), 'wt-outside.txt'), 'secret');
  const server = await startServer({ uiDir: dir, token: 't' });
  try {
    const index = await fetch(url(server, 'query', '/'));
    assert.equal(index.status, 200, 'the UI shell needs no token');
    assert.match(index.headers.get('content-type')!, /text\/html/);
    const js = await fetch(url(server, 'query', '/assets/app.js'));
    assert.equal(await js.text(), 'console.log(1)');
    assert.match(js.headers.get('content-type')!, /javascript/);
    const route = await fetch(url(server, 'query', '/trace/abc'));
    assert.equal(await route.text(), '<!doctype html><title>wiretrace</title>');
    assert.equal((await fetch(url(server, 'query', '/assets/missing.js'))).status, 404);
    const escape = await fetch(url(server, 'query', '/%2e%2e/wt-outside.txt'));
    assert.notEqual(await escape.text(), 'secret');
    assert.equal((await fetch(url(server, 'query', '/api/services'))).status, 401);
    assert.equal((await fetch(url(server, 'query', '/api/services?access_token=t'))).status, 200);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
