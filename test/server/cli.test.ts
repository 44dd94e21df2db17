import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../helpers/cli.js';
import { getJson, type WireJson } from './helpers.js';

const entry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'wt-serve-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

// Every listener on a free port, so tests never collide with a real server on 16686.
const config = join(work, 'server.yaml');
writeFileSync(config, 'server:\n  ports: { otlpGrpc: 0, otlpHttp: 0, zipkin: 0, jaegerThrift: 0, query: 0 }\n');

interface Running {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  queryPort: number;
  zipkinPort: number;
  exited: Promise<number | null>;
}

/** Starts the CLI and waits until it says where the server listens. */
function startCli(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' } });
  let err = '';
  child.stdout.resume();
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in time:\n${err}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const query = /web UI and Jaeger API\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      const zipkin = /Zipkin v2\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      if (query && zipkin) {
        clearTimeout(timer);
        resolve({ child, stderr: () => err, queryPort: Number(query[1]), zipkinPort: Number(zipkin[1]), exited });
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening:\n${err}`));
    });
  });
}

test('analyze --serve: the demo capture is served over the Jaeger API until SIGINT', async () => {
  const run = await startCli(['analyze', 'examples/demo/demo.pcap', '--serve', '--config', config, '--format', 'json', '--summary', 'json']);
  try {
    const api = (path: string): Promise<{ status: number; body: WireJson }> => getJson(`http://127.0.0.1:${run.queryPort}${path}`);
    const summary = JSON.parse(run.stderr().split('\n').find((l) => l.includes('"capture":'))!);
    const services = (await api('/api/services')).body.data as string[];
    assert.ok(services.length >= 2, `services: ${services.join(', ')}`);
    let spans = 0;
    const seen = new Set<string>();
    for (const service of services) {
      const { body } = await api(`/api/traces?service=${encodeURIComponent(service)}&limit=1500`);
      assert.ok(body.data.length > 0, `traces of ${service}`);
      for (const trace of body.data) {
        assert.ok(Object.values(trace.processes).some((p: WireJson) => p.serviceName === service));
        if (seen.has(trace.traceID)) continue;
        seen.add(trace.traceID);
        spans += trace.spans.length;
      }
    }
    assert.ok(summary.spans.emitted > 0);
    assert.equal(spans, summary.spans.emitted, 'every span the run emitted is stored');
    assert.equal((await api('/api/summary')).body.data.spans, spans);
  } finally {
    run.child.kill('SIGINT');
  }
  assert.equal(await run.exited, 0);
});

test('serve --storage: spans posted to a receiver are there after a restart; SIGINT stops it cleanly', async () => {
  const storage = join(work, 'db');
  const first = await startCli(['serve', '--config', config, '--storage', storage]);
  const body = JSON.stringify([{ traceId: 'aa'.repeat(16), id: 'bb'.repeat(8), name: 'GET /kept', timestamp: 1_700_000_000_000_000, duration: 1234, kind: 'SERVER', localEndpoint: { serviceName: 'zipkin-svc' }, tags: { 'http.method': 'GET' } }]);
  const res = await fetch(`http://127.0.0.1:${first.zipkinPort}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(res.status, 202);
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0);

  const second = await startCli(['serve', '--config', config, '--storage', storage]);
  try {
    assert.match(second.stderr(), /1 traces, 1 spans restored/);
    const { body: got } = await getJson(`http://127.0.0.1:${second.queryPort}/api/traces?service=zipkin-svc`);
    assert.equal(got.data.length, 1);
    assert.equal(got.data[0].spans[0].operationName, 'GET /kept');
    assert.equal(got.data[0].spans[0].duration, 1234);
  } finally {
    second.child.kill('SIGINT');
  }
  assert.equal(await second.exited, 0);
});
