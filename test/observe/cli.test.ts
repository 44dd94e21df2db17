import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, repoRoot } from '../helpers/cli.js';
import { analyzeFile } from '../helpers/analyze.js';
import { parseExposition, valueOf } from './exposition.js';
import { freePort, get, repoFile, until } from './helpers.js';

const DEMO = repoFile('examples/demo/demo.pcap');
const dir = mkdtempSync(join(tmpdir(), 'wt-observe-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

interface LogRecord {
  level: string;
  msg: string;
  [field: string]: unknown;
}

function logRecords(stderr: string): LogRecord[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{"level"'))
    .map((l) => JSON.parse(l) as LogRecord);
}

function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
}

describe('wiretrace analyze --metrics-port', () => {
  test('while the capture is still being read from stdin: /metrics shows what has been read, /healthz is ok; the server goes away with the process', async () => {
    const expected = await analyzeFile(DEMO);
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'analyze', '-', '--metrics-port', String(port), '--metrics-host', '127.0.0.2', '--log-level', 'debug', '-o', join(dir, 'spans.jsonl'), '--summary', 'json'], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      // The whole capture, and the pipe left open: the agent is running and waits for more packets.
      child.stdin.write(readFileSync(DEMO));
      const serving = await until(() => logRecords(stderr).find((r) => r.msg === 'serving metrics'), Boolean, 'the agent logs where it serves metrics', 30_000);
      const base = `http://127.0.0.2:${port}`;
      assert.equal(serving?.metrics, `${base}/metrics`);
      assert.equal(serving?.health, `${base}/healthz`);

      const text = await until(
        async () => (await get(`${base}/metrics`)).body,
        (body) => /^wiretrace_packets_read_total (\d+)$/m.exec(body)?.[1] === String(expected.stats.packets),
        'every packet written so far has been read',
        30_000,
      );
      const m = parseExposition(text);
      assert.equal(valueOf(m, 'wiretrace_bytes_read_total'), expected.stats.bytes);
      assert.equal(valueOf(m, 'wiretrace_connections_total'), expected.stats.connections);
      assert.equal(valueOf(m, 'wiretrace_exchanges_total', { outcome: 'complete' }), expected.stats.exchanges.get('complete'));
      assert.deepEqual(await get(`${base}/healthz`).then((r) => [r.status, r.body]), [200, 'ok\n']);
      assert.equal((await get(`${base}/nothing-here`)).status, 404);
      assert.ok(logRecords(stderr).some((r) => r.msg === 'capture started'));
      assert.ok(!logRecords(stderr).some((r) => r.msg === 'capture ended'), 'still running');

      child.stdin.end();
      assert.equal(await exited, 0, stderr);
      const summary = JSON.parse(stderr.trim().split('\n').pop()!) as { packets: number; spans: { emitted: number } };
      assert.equal(summary.packets, expected.stats.packets, 'the summary stays plain JSON, the last line on stderr');
      const ended = logRecords(stderr).find((r) => r.msg === 'capture ended');
      assert.equal(ended?.packets, expected.stats.packets);
      assert.equal(ended?.spans, summary.spans.emitted);
      assert.ok(await refused(base), 'nothing listens on the metrics port after exit');
    } finally {
      child.kill();
    }
  });

  test('a clean analysis of a file logs nothing at the default level: the summary says it all, and is not a log line', async () => {
    for (const level of [[], ['--log-level', 'warn']]) {
      const r = await runCli(['analyze', DEMO, '-o', join(dir, 'quiet.jsonl'), ...level]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(logRecords(r.stderr), []);
      assert.match(r.stderr, /^wiretrace: \d+ packets/);
    }
  });

  test('--log-format pretty: readable lines (a file analysis logs its start at debug level)', async () => {
    const r = await runCli(['analyze', DEMO, '-o', join(dir, 'pretty.jsonl'), '--log-format', 'pretty', '--log-level', 'debug']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^\[\d\d:\d\d:\d\d\.\d{3}\] DEBUG: capture started/m);
    assert.deepEqual(logRecords(r.stderr), []);
  });

  test('an exporter whose receiver is down: a warning in the log, the run still completes', async () => {
    const port = await freePort();
    const config = join(dir, 'down.yaml');
    writeFileSync(config, `exporters:\n  - type: otlp-http\n    endpoint: http://127.0.0.1:${port}/v1/traces\n    retry: { maxAttempts: 1 }\n`);
    const r = await runCli(['analyze', DEMO, '-c', config, '--format', 'json', '--summary', 'none']);
    assert.equal(r.code, 0, r.stderr);
    const warnings = logRecords(r.stderr).filter((l) => l.level === 'warn');
    assert.ok(warnings.some((w) => w.msg === 'exporter otlp-http failing: ECONNREFUSED' && w.exporter === 'otlp-http'), r.stderr);
    assert.ok(warnings.some((w) => /^exporter otlp-http gave up on a batch/.test(w.msg)), r.stderr);
  });

  test('a metrics port already in use stops the run before any work, with one clear line', async (t) => {
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const { port } = taken.address() as { port: number };
    const out = join(dir, 'never.jsonl');
    const r = await runCli(['analyze', DEMO, '-o', out, '--metrics-port', String(port)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${port}: EADDRINUSE \\[WT_ERR_CONFIG\\]`));
    assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
    assert.doesNotMatch(r.stderr, /capture started/);
  });

  test('a bad --log-level names the flag and the levels', async () => {
    const r = await runCli(['analyze', DEMO, '--log-level', 'loud']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /flag --log-level: "loud" is not one of fatal, error, warn, info, debug, trace, silent \[WT_ERR_CONFIG\]/);
  });
});
