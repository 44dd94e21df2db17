import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, publicCapture } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'wt-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function assertNoStackTrace(stderr: string): void {
  assert.doesNotMatch(stderr, /^\s+at .+:\d+:\d+\)?$/m, `stack trace printed:\n${stderr}`);
}

describe('wiretrace analyze: errors are one clear line and exit status 2', () => {
  test('no arguments prints usage', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: wiretrace/);
  });

  test('a missing capture file', async () => {
    const r = await runCli(['analyze', join(dir, 'absent.pcap')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /absent\.pcap/);
    assert.match(r.stderr, /WT_ERR_FILE_NOT_FOUND/);
    assertNoStackTrace(r.stderr);
  });

  test('a file that is not a capture', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'GET / HTTP/1.1\r\nHost: example\r\n\r\n');
    const r = await runCli(['analyze', path]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /WT_ERR_NOT_A_CAPTURE/);
    assertNoStackTrace(r.stderr);
  });

  test('an unknown flag and a bad flag value', async () => {
    const unknown = await runCli(['analyze', publicCapture('simple_http.pcap'), '--frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--frobnicate'/);
    const bad = await runCli(['analyze', publicCapture('simple_http.pcap'), '--span-timeout', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--span-timeout: "soon" is not a number/);
    assertNoStackTrace(bad.stderr);
  });

  test('an unwritable output path fails before reading', async () => {
    const r = await runCli(['analyze', publicCapture('simple_http.pcap'), '-o', join(dir, 'missing-dir', 'x.jsonl')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /WT_ERR_OUTPUT/);
    assertNoStackTrace(r.stderr);
  });
});

describe('wiretrace analyze on a real capture (public corpus simple_http.pcap: 2 exchanges per tshark)', () => {
  test('--output writes OTLP/JSON lines with a SERVER and a CLIENT span per exchange', async () => {
    const out = join(dir, 'simple.jsonl');
    const r = await runCli(['analyze', publicCapture('simple_http.pcap'), '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const spans = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .flatMap((line) => JSON.parse(line).resourceSpans.flatMap((rs: { scopeSpans: { spans: unknown[] }[] }) => rs.scopeSpans.flatMap((ss) => ss.spans)));
    const kinds = spans.map((s: { kind: number }) => s.kind).sort();
    assert.deepEqual(kinds, [2, 2, 3, 3], 'two SERVER (2) and two CLIENT (3) spans');
    assert.match(r.stderr, /exchanges 2\b/);
    assert.match(r.stderr, /spans 4\b/);
  });

  test('without --output a readable report: per-service table and the traces as trees', async () => {
    const r = await runCli(['analyze', publicCapture('simple_http.pcap')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^service\s+kind\s+requests\s+errors/m);
    assert.match(r.stdout, /^trace [0-9a-f]{32}/m);
    assert.match(r.stdout, /SERVER GET /);
    assert.ok(!r.stdout.includes('\u001b['), 'no colour when stdout is not a terminal');
  });

  test('--format traces prints every trace; --format json the report for machines', async () => {
    const traces = await runCli(['analyze', publicCapture('simple_http.pcap'), '--format', 'traces']);
    assert.equal(traces.code, 0, traces.stderr);
    assert.equal((traces.stdout.match(/^trace [0-9a-f]{32}/gm) ?? []).length, 2);
    const json = await runCli(['analyze', publicCapture('simple_http.pcap'), '--format', 'json', '--summary', 'none']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.traces, 2);
    assert.equal(report.services.reduce((a: number, s: { requests: number }) => a + s.requests, 0), 2);
  });

  test('--graph writes the format its extension names, and refuses an unknown one before reading', async () => {
    for (const ext of ['dot', 'mmd', 'json', 'svg']) {
      const path = join(dir, `g.${ext}`);
      const r = await runCli(['analyze', publicCapture('simple_http.pcap'), '--graph', path, '--summary', 'none']);
      assert.equal(r.code, 0, r.stderr);
      const text = readFileSync(path, 'utf8');
      const signature = { dot: /^digraph /, mmd: /^(%%.*\n)*flowchart /, json: /^\{/, svg: /<svg[\s>]/ }[ext]!;
      assert.match(text, signature, `${ext} output`);
    }
    const bad = await runCli(['analyze', publicCapture('simple_http.pcap'), '--graph', join(dir, 'g.png')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /\.dot .*\.svg/);
  });

  test('stdin ("-") and a gzip-compressed capture give the same spans as the file', async () => {
    const capture = readFileSync(publicCapture('simple_http.pcap'));
    const fromFile = await runCli(['analyze', publicCapture('simple_http.pcap'), '-o', '-', '--summary', 'none']);
    const fromStdin = await runCli(['analyze', '-', '-o', '-', '--summary', 'none'], { input: capture });
    const gz = join(dir, 'simple.pcap.gz');
    writeFileSync(gz, gzipSync(capture));
    const fromGzip = await runCli(['analyze', gz, '-o', '-', '--summary', 'none']);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.ok(fromFile.stdout.length > 0);
    assert.equal(fromStdin.stdout, fromFile.stdout);
    assert.equal(fromGzip.stdout, fromFile.stdout);
  });

  test('--summary json reports the counts for machines', async () => {
    const r = await runCli(['analyze', publicCapture('simple_http.pcap'), '-o', join(dir, 's.jsonl'), '--summary', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
    assert.equal(summary.exchanges.complete, 2);
    assert.equal(summary.spans.emitted, 4);
    assert.ok(summary.packets > 0);
    assert.ok(summary.protocols.http1 >= 1);
  });

  test('captures that hold no HTTP are analysed without error and say so', async () => {
    for (const name of ['tls_ciphers.pcap', 'quic_xargs.pcap', 'teardrop.pcap', '200722_tcp_anon.pcapng', 'simple_http_tzsp.pcapng']) {
      const r = await runCli(['analyze', publicCapture(name), '-o', join(dir, `${name}.jsonl`), '--summary', 'json']);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      const summary = JSON.parse(r.stderr.trim().split('\n').pop()!);
      assert.equal(summary.spans.emitted ?? 0, 0, `${name} has no HTTP`);
      assert.ok(summary.packets > 0, `${name} was read`);
      if (name === 'tls_ciphers.pcap') assert.ok(summary.protocols.tls > 0, 'TLS is recognised as TLS, not parsed as HTTP');
    }
  });
});
