/**
 * `wiretrace capture -i lo` against real processes: a load generator calls
 * a checkout service (OTEL_SERVICE_NAME=checkout, a secret on its command
 * line), which calls an inventory service. Spans must leave while traffic
 * flows, each named by the process that owns its socket, with that
 * process's pid and its command line without the secret; Ctrl-C ends the
 * capture with tcpdump's counts in the summary.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot, runCli } from '../helpers/cli.js';
import { liveCaptureSkip } from '../helpers/tools.js';

const entry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SECRET = 'SECRET123';

const skip = liveCaptureSkip();

const SERVER = `
import http from 'node:http';
const next = process.env.NEXT_PORT ? Number(process.env.NEXT_PORT) : undefined;
const agent = new http.Agent({ keepAlive: true });
http.createServer((req, res) => {
  if (next === undefined) { res.end('in stock'); return; }
  http.get({ host: '127.0.0.1', port: next, path: '/stock' + req.url, agent }, (r) => {
    r.resume();
    r.on('end', () => res.end('ordered'));
  });
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;

/** Requests on demand: one line on stdin, one batch of calls, "done" on stdout. */
const LOADGEN = `
import http from 'node:http';
import readline from 'node:readline';
const port = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (path) => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path, agent }, (r) => { r.resume(); r.on('end', resolve); }).on('error', reject);
});
let n = 0;
for await (const line of readline.createInterface({ input: process.stdin })) {
  const count = Number(line);
  for (let i = 0; i < count; i++) await get('/checkout/' + ++n);
  console.log('done');
}
`;

interface OtlpSpan {
  kind: number;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  resource: Record<string, unknown>;
}

function readSpans(file: string): OtlpSpan[] {
  if (!existsSync(file)) return [];
  const spans: OtlpSpan[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as { resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
    for (const rs of req.resourceSpans) {
      const resource = Object.fromEntries(rs.resource.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
      for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, resource });
    }
  }
  return spans;
}

function attr(span: OtlpSpan, key: string): unknown {
  const a = span.attributes.find((x) => x.key === key);
  return a ? Object.values(a.value)[0] : undefined;
}

async function firstLine(child: ChildProcess): Promise<string> {
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return chunk.toString().split('\n')[0].trim();
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

describe('wiretrace capture on loopback', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wiretrace-live-'));
  const children: ChildProcess[] = [];
  let inventory: ChildProcess;
  let checkout: ChildProcess;
  let loadgen: ChildProcess;
  let inventoryPort: number;
  let checkoutPort: number;

  before(async () => {
    writeFileSync(join(dir, 'inventory.mjs'), SERVER);
    writeFileSync(join(dir, 'frontend.mjs'), SERVER);
    writeFileSync(join(dir, 'loadgen.mjs'), LOADGEN);
    inventory = spawn(process.execPath, [join(dir, 'inventory.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(inventory);
    inventoryPort = Number(await firstLine(inventory));
    checkout = spawn(process.execPath, [join(dir, 'frontend.mjs'), `--api-key=${SECRET}`], {
      env: { ...process.env, OTEL_SERVICE_NAME: 'checkout', NEXT_PORT: String(inventoryPort) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(checkout);
    checkoutPort = Number(await firstLine(checkout));
    loadgen = spawn(process.execPath, [join(dir, 'loadgen.mjs'), String(checkoutPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(loadgen);
  });

  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function drive(count: number): Promise<void> {
    const done = once(loadgen.stdout!, 'data');
    loadgen.stdin!.write(`${count}\n`);
    await done;
  }

  test('spans stream out while traffic flows, named by the processes that own the sockets; Ctrl-C stops cleanly', async () => {
    const out = join(dir, 'spans.jsonl');
    const cli = spawn(process.execPath, ['--import', 'tsx', entry, 'capture', '-i', 'lo', '--filter', `tcp port ${checkoutPort} or tcp port ${inventoryPort}`, '-o', out], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(cli);
    let stderr = '';
    let stdout = '';
    cli.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    cli.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = once(cli, 'exit') as Promise<[number | null, string | null]>;

    // The first run may compile the CLI from source: allow for it.
    await waitFor('the capture to start', 45_000, () => (stderr.includes('Ctrl-C stops') ? true : cli.exitCode !== null ? assert.fail(stderr) : undefined));
    await drive(3);

    // Streaming: the spans of the first batch arrive while the capture still runs.
    const early = await waitFor('spans before the capture stops', 15_000, () => {
      const spans = readSpans(out);
      return spans.filter((s) => s.kind === SPAN_KIND_SERVER).length >= 6 ? spans : undefined;
    });
    assert.equal(cli.exitCode, null, 'the capture is still running');
    assert.ok(early.length >= 6);

    await drive(2);
    await new Promise((r) => setTimeout(r, 300));
    cli.kill('SIGINT');
    const [code, signal] = await exited;
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);

    // tcpdump's own counts, and the run's summary.
    assert.match(stderr, /tcpdump: \d+ packets captured, \d+ received by filter, \d+ dropped by kernel/);
    assert.match(stderr, /drops \d+ \(.*tcpdump-kernel \d+/);
    assert.match(stderr, /exchanges 10\b/);

    const spans = readSpans(out);
    const servers = spans.filter((s) => s.kind === SPAN_KIND_SERVER);
    const clients = spans.filter((s) => s.kind === SPAN_KIND_CLIENT);
    assert.equal(servers.length, 10);
    assert.equal(clients.length, 10);

    const inventoryServer = servers.filter((s) => attr(s, 'server.port') === inventoryPort);
    const checkoutServer = servers.filter((s) => attr(s, 'server.port') === checkoutPort);
    assert.equal(inventoryServer.length, 5);
    assert.equal(checkoutServer.length, 5);
    for (const s of inventoryServer) {
      // No OTEL_SERVICE_NAME: the script names a node process.
      assert.equal(s.resource['service.name'], 'inventory');
      assert.equal(s.resource['process.pid'], inventory.pid);
      assert.equal(s.resource['process.executable.name'], 'node');
      assert.equal(s.resource['host.name'], hostname());
    }
    for (const s of checkoutServer) {
      assert.equal(s.resource['service.name'], 'checkout');
      assert.equal(s.resource['process.pid'], checkout.pid);
      assert.match(String(s.resource['process.command_line']), /frontend\.mjs --api-key=REDACTED$/);
    }
    // The callers, on loopback, known at last: each CLIENT span is its socket owner's.
    for (const s of clients.filter((c) => attr(c, 'server.port') === checkoutPort)) {
      assert.equal(s.resource['service.name'], 'loadgen');
      assert.equal(s.resource['process.pid'], loadgen.pid);
    }
    for (const s of clients.filter((c) => attr(c, 'server.port') === inventoryPort)) {
      assert.equal(s.resource['service.name'], 'checkout');
      assert.equal(s.resource['process.pid'], checkout.pid);
    }

    const everything = readFileSync(out, 'utf8') + stderr + stdout;
    assert.ok(!everything.includes(SECRET), 'the secret argument never leaves');
  });
});

// Refusals need tcpdump itself, not the privilege to capture with it.
describe('wiretrace capture refuses clearly', { skip: skip === 'live capture skipped: tcpdump is not installed' ? skip : false }, () => {
  function oneLine(stderr: string): string {
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    return lines[0];
  }

  test('tcpdump missing: what to install', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wiretrace-cfg-'));
    try {
      const config = join(dir, 'wiretrace.yaml');
      writeFileSync(config, 'capture:\n  tcpdumpPath: /nonexistent/bin/tcpdump\n');
      const r = await runCli(['capture', '-i', 'lo', '-c', config]);
      assert.equal(r.code, 2);
      const line = oneLine(r.stderr);
      assert.match(line, /needs tcpdump/);
      assert.match(line, /apt-get install tcpdump/);
      assert.match(line, /\/nonexistent\/bin\/tcpdump/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('no such interface: tcpdump says so', async () => {
    const r = await runCli(['capture', '-i', 'nosuchif0']);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /no such interface "nosuchif0" \(tcpdump: nosuchif0: No such device exists\)/);
  });

  test('a bad filter: tcpdump says why', async () => {
    const r = await runCli(['capture', '-i', 'lo', '--filter', 'tcp port']);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /invalid capture filter "tcp port": tcpdump: can't parse filter expression: syntax error/);
  });

  test('a bad snaplen is refused before tcpdump starts', async () => {
    const r = await runCli(['capture', '-i', 'lo', '--snaplen', '10']);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /--snaplen: "10" is not a whole number of bytes from 64 to 262144/);
  });

  test('not permitted: which privilege is needed', { skip: spawnSync('setpriv', ['--version']).status !== 0 ? 'setpriv is not installed' : false }, async () => {
    // Root without CAP_NET_RAW and CAP_NET_ADMIN: the capabilities a capture needs, taken away.
    const r = spawnSync('setpriv', ['--bounding-set=-net_raw,-net_admin', '--inh-caps=-net_raw,-net_admin', process.execPath, '--import', 'tsx', entry, 'capture', '-i', 'lo'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 45_000,
    });
    assert.equal(r.status, 2, r.stderr);
    const line = oneLine(r.stderr);
    assert.match(line, /not permitted to capture on lo/);
    assert.match(line, /root, or give tcpdump CAP_NET_RAW and CAP_NET_ADMIN/);
    assert.match(line, /setcap cap_net_raw,cap_net_admin=eip/);
  });
});
