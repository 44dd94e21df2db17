import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, get, OtlpReceiver, requireServer, ROOT, startChild, sdkEnv, type ReceivedSpan } from './helpers.js';

// `node --import wiretrace/register app.mjs` on an app with no tracing code:
// its HTTP server and its PostgreSQL, MariaDB and Redis calls, against the
// real servers on this machine, arrive at the OTLP receiver as one trace.

test('register traces an unmodified ESM app: the HTTP request and its pg, mysql2 and ioredis calls, in one trace', async (t) => {
  for (const [name, port] of [
    ['PostgreSQL', 5432],
    ['MariaDB', 3306],
    ['Redis', 6379],
  ] as const) {
    if (!(await requireServer(t, name, port))) return;
  }
  const receiver = await OtlpReceiver.start();
  const app = await startChild(join(FIXTURES, 'db-app.mjs'), [], sdkEnv(receiver, 'db-app', { WIRETRACE_SDK_ENABLED: '', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'net,dns' }), [
    '--import',
    join(ROOT, 'src', 'sdk', 'register.ts'),
  ]);
  try {
    const res = await get(`http://127.0.0.1:${app.port}/work`);
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { pg: 42, mysql: 5, redis: '42' });
    const spans = await receiver.waitFor((s) => s.some((x) => x.kind === 'SERVER') && ['postgresql', 'mysql', 'redis'].every((db) => s.some((x) => x.attributes['db.system'] === db || x.attributes['db.system.name'] === db)));
    const server = spans.find((s) => s.kind === 'SERVER');
    assert.ok(server);
    assert.equal(server.service, 'db-app');
    assert.equal(server.scope, '@opentelemetry/instrumentation-http');
    const system = (s: ReceivedSpan): unknown => s.attributes['db.system.name'] ?? s.attributes['db.system'];
    const traceId = server.traceId;
    for (const db of ['postgresql', 'mysql', 'redis']) {
      const calls: ReceivedSpan[] = spans.filter((s) => system(s) === db && s.traceId === traceId);
      assert.ok(calls.length > 0, `a ${db} span in the request's trace`);
      for (const c of calls) assert.equal(c.kind, 'CLIENT');
    }
    const pgQuery = spans.find((s) => system(s) === 'postgresql' && String(s.attributes['db.statement'] ?? s.attributes['db.query.text'] ?? '').includes('SELECT $1::int'));
    assert.ok(pgQuery, 'the pg query with its parameterised text');
  } finally {
    await app.stop();
    await receiver.close();
  }
});

test('register with OTEL_SDK_DISABLED=true leaves the app untraced', async (t) => {
  if (!(await requireServer(t, 'PostgreSQL', 5432)) || !(await requireServer(t, 'MariaDB', 3306)) || !(await requireServer(t, 'Redis', 6379))) return;
  const receiver = await OtlpReceiver.start();
  const app = await startChild(join(FIXTURES, 'db-app.mjs'), [], sdkEnv(receiver, 'db-app', { WIRETRACE_SDK_ENABLED: '', OTEL_SDK_DISABLED: 'true' }), ['--import', join(ROOT, 'src', 'sdk', 'register.ts')]);
  try {
    assert.equal((await get(`http://127.0.0.1:${app.port}/work`)).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.requests, 0);
  } finally {
    await app.stop();
    await receiver.close();
  }
});
