import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Page } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { graphHandler } from '../../src/server/graph-endpoint.js';
import { TraceServer } from '../../src/server/index.js';
import { launchBrowser } from '../helpers/browser.js';
import { repoRoot } from '../helpers/cli.js';

/*
 * The web UI in Debian's Chromium against the real server: `wiretrace
 * analyze examples/demo/demo.pcap --serve` in a child process, the UI built
 * by scripts/build-ui.mjs as `npm run build` builds it. What the pages show
 * is compared with what the Jaeger API answers, computed here on its own.
 * Screenshots of every view go to test-artifacts/ui/.
 */

const entry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const artifacts = join(repoRoot, 'test-artifacts', 'ui');
const work = mkdtempSync(join(tmpdir(), 'wt-ui-test-'));
const uiDir = join(work, 'ui');

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags: Array<{ key: string; value: unknown }>;
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

let server: { child: ChildProcessWithoutNullStreams; base: string; otlpHttp: string; stderr: () => string } | undefined;
let browserHandle: Awaited<ReturnType<typeof launchBrowser>>;

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${server?.base}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return ((await res.json()) as { data: T }).data;
}

function startServer(config: string): Promise<NonNullable<typeof server>> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, 'analyze', 'examples/demo/demo.pcap', '--config', config, '--serve', '--summary', 'none', '--format', 'json', '--log-level', 'warn'], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1' },
  });
  let err = '';
  child.stdout.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not say where it listens:\n${err}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const query = /web UI and Jaeger API\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
      const otlp = /OTLP HTTP\s+(http:\/\/127\.0\.0\.1:\d+\/v1\/traces)/.exec(err);
      if (query && otlp) {
        clearTimeout(timer);
        resolve({ child, base: query[1], otlpHttp: otlp[1], stderr: () => err });
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening:\n${err}`));
    });
  });
}

/** Polls the query port until it answers: the listening line comes first, readiness is proven here. */
async function untilReady(base: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/api/services`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${base} never answered`);
}

const isError = (s: JaegerSpan): boolean => s.tags.some((t) => (t.key === 'error' && (t.value === true || t.value === 'true')) || (t.key === 'otel.status_code' && t.value === 'ERROR'));

/** Tree order computed independently of src/ui: parent first, children by start time then id, recursively. */
function treeOrder(t: JaegerTrace): string[] {
  const ids = new Set(t.spans.map((s) => s.spanID));
  const parentOf = (s: JaegerSpan): string | undefined => s.references.find((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID))?.spanID;
  const cmp = (a: JaegerSpan, b: JaegerSpan): number => a.startTime - b.startTime || (a.spanID < b.spanID ? -1 : 1);
  const out: string[] = [];
  const visit = (s: JaegerSpan): void => {
    out.push(s.spanID);
    for (const c of t.spans.filter((x) => parentOf(x) === s.spanID).sort(cmp)) visit(c);
  };
  for (const root of t.spans.filter((s) => parentOf(s) === undefined).sort(cmp)) visit(root);
  return out;
}

/** Waits until exactly `n` elements match (the page renders asynchronously). */
async function rowCount(page: Page, selector: string, n: number): Promise<void> {
  await page.waitForFunction(`document.querySelectorAll(${JSON.stringify(selector)}).length === ${n}`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function newPage(width = 1400, height = 1000, base = server?.base ?? ''): Promise<Page> {
  assert.ok(browserHandle);
  const page = await browserHandle.browser.newPage({ viewport: { width, height } });
  const external: string[] = [];
  const failures: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(base) && !req.url().startsWith('data:')) external.push(req.url());
  });
  page.on('pageerror', (err) => failures.push(err.message));
  page.on('close', () => {
    assert.deepEqual(external, [], 'the UI fetches nothing but its own server');
    assert.deepEqual(failures, [], 'no script errors');
  });
  return page;
}

describe('web UI in Chromium against `analyze demo.pcap --serve`', () => {
  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    const built = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-ui.mjs'), '--outdir', uiDir], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const config = join(work, 'wiretrace.yaml');
    const demo = parse(readFileSync(join(repoRoot, 'examples', 'demo', 'wiretrace.yaml'), 'utf8')) as Record<string, unknown>;
    // Free ports, so the test never meets a real server on 16686.
    demo.server = { ports: { otlpGrpc: -1, otlpHttp: 0, zipkin: -1, jaegerThrift: -1, query: 0 }, uiDir };
    writeFileSync(config, stringify(demo));
    server = await startServer(config);
    await untilReady(server.base);
  });

  after(async () => {
    await browserHandle?.close();
    if (server && server.child.exitCode === null) {
      const exited = new Promise((r) => server?.child.on('close', r));
      server.child.kill('SIGINT');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  test('the page loads only its own bundled assets', async (t) => {
    browserHandle = await launchBrowser(t);
    if (!browserHandle) return;
    const html = await (await fetch(`${server?.base}/`)).text();
    assert.doesNotMatch(html, /(?:src|href)="(?:https?:)?\/\//, 'index.html references nothing on the internet');
    const page = await newPage();
    await page.goto(`${server?.base}/`);
    await page.waitForSelector('#result-count');
    await page.close();
  });

  test('search by service finds the demo traces, the 502 among them flagged as an error', async (t) => {
    if (!browserHandle) return t.skip('no browser');
    const expected = await api<JaegerTrace[]>('/api/traces?service=frontend&limit=20');
    assert.equal(expected.length, 8, 'the demo has 8 traces, each entering at frontend');
    const failing = expected.filter((tr) => tr.spans.some(isError));
    assert.ok(failing.length >= 1, 'the demo has a failing trace (payments answers 502)');

    const page = await newPage();
    await page.goto(`${server?.base}/search?service=frontend`);
    await page.waitForSelector('a.trace-row');
    assert.equal(await page.textContent('#result-count'), '8 traces');
    const shown = await page.$$eval('a.trace-row', (rows) => rows.map((r) => r.getAttribute('data-trace-id')));
    assert.deepEqual(new Set(shown), new Set(expected.map((tr) => tr.traceID)));
    for (const tr of expected) {
      const row = page.locator(`a.trace-row[data-trace-id="${tr.traceID}"]`);
      assert.equal(await row.locator('.tr-spans').textContent(), `${tr.spans.length} spans`);
      const errors = tr.spans.filter(isError).length;
      assert.equal(await row.locator('.tr-errors').count(), errors > 0 ? 1 : 0);
      if (errors > 0) assert.equal(await row.locator('.tr-errors').textContent(), `${errors} error${errors === 1 ? '' : 's'}`);
    }
    assert.equal(await page.inputValue('#f-service'), 'frontend', 'the URL state fills the form');
    await shot(page, 'search');

    // The form writes the URL: a deep link opens the same search.
    await page.selectOption('#f-service', 'payments');
    await page.click('#find');
    await page.waitForURL(/service=payments/);
    await page.waitForSelector('#result-count');
    const payments = await api<JaegerTrace[]>('/api/traces?service=payments&limit=20');
    await rowCount(page, 'a.trace-row', payments.length);
    await page.close();
  });

  test('the waterfall shows one row per span in tree order, errors highlighted, attributes on click', async (t) => {
    if (!browserHandle) return t.skip('no browser');
    const candidates = await api<JaegerTrace[]>('/api/traces?service=payments&limit=20');
    const failing = candidates.find((tr) => tr.spans.some(isError));
    assert.ok(failing, 'a trace with an erroring payments span');
    const [full] = await api<JaegerTrace[]>(`/api/traces/${failing.traceID}`);

    const page = await newPage(1400, 1100);
    await page.goto(`${server?.base}/trace/${full.traceID}`);
    await page.waitForSelector('.wf-row');
    const rows = await page.$$eval('.wf-row', (els) => els.map((e) => ({ id: e.getAttribute('data-span-id'), error: e.classList.contains('is-error'), level: Number(e.getAttribute('aria-level')) })));
    assert.equal(rows.length, full.spans.length, 'one row per span');
    assert.deepEqual(
      rows.map((r) => r.id),
      treeOrder(full),
      'parent before children, siblings by start time',
    );
    assert.deepEqual(new Set(rows.filter((r) => r.error).map((r) => r.id)), new Set(full.spans.filter(isError).map((s) => s.spanID)), 'exactly the erroring spans are highlighted');
    assert.equal(await page.textContent('#span-count'), String(full.spans.length));

    // Click a span: its attributes, as the API gives them.
    const target = full.spans.find((s) => isError(s) && full.processes[s.processID].serviceName === 'payments') ?? full.spans.find(isError)!;
    await page.click(`.wf-row[data-span-id="${target.spanID}"] .wf-op`);
    await page.waitForSelector(`.wf-row.is-selected[data-span-id="${target.spanID}"]`);
    const attributes = await page.$$eval('#detail-attributes tr', (trs) => trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('td')?.textContent]));
    assert.deepEqual(
      attributes,
      target.tags.map((tag) => [tag.key, String(tag.value)]),
    );
    assert.ok(
      attributes.some(([k, v]) => k === 'http.response.status_code' && v === '502'),
      'the 502 is among the attributes',
    );
    await shot(page, 'trace');

    // Keyboard: Home then Down moves to the second row, Enter shows it; Left on the root collapses its subtree.
    await page.focus('.wf-row[data-index="0"]');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const second = treeOrder(full)[1];
    await page.waitForSelector(`.wf-row.is-selected[data-span-id="${second}"]`);
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowLeft');
    await rowCount(page, '.wf-row', 1);
    await page.keyboard.press('ArrowRight');
    await rowCount(page, '.wf-row', full.spans.length);
    await page.close();
  });

  test('the service map shows exactly the nodes and edges of the service graph, an edge leads to its traces', async (t) => {
    if (!browserHandle) return t.skip('no browser');
    const all = String(Date.now());
    const graph = await api<{ nodes: Array<{ id: string }>; edges: Array<{ from: string; to: string; errors: number }> }>(`/api/graph?lookback=${all}`);
    const deps = await api<Array<{ parent: string; child: string }>>(`/api/dependencies?endTs=${Date.now()}&lookback=${all}`);
    const edgeKeys = new Set(graph.edges.map((e) => `${e.from}→${e.to}`));
    for (const d of deps) assert.ok(edgeKeys.has(`${d.parent}→${d.child}`), `the graph has Jaeger's dependency ${d.parent}→${d.child}`);
    for (const name of ['frontend', 'users', 'orders', 'inventory', 'payments']) assert.ok(graph.nodes.some((n) => n.id === name), `node ${name}`);

    const page = await newPage(1400, 1000);
    await page.goto(`${server?.base}/map`);
    await page.waitForSelector('.map-node');
    const nodes = await page.$$eval('.map-node', (els) => els.map((e) => e.getAttribute('data-node')));
    assert.deepEqual(nodes.slice().sort(), graph.nodes.map((n) => n.id).sort());
    const edges = await page.$$eval('.map-edge', (els) => els.map((e) => `${e.getAttribute('data-from')}→${e.getAttribute('data-to')}`));
    assert.deepEqual(edges.slice().sort(), [...edgeKeys].sort());
    const erroring = await page.$$eval('.map-edge.has-error', (els) => els.map((e) => `${e.getAttribute('data-from')}→${e.getAttribute('data-to')}`));
    assert.deepEqual(erroring.sort(), graph.edges.filter((e) => e.errors > 0).map((e) => `${e.from}→${e.to}`).sort());
    assert.ok(erroring.some((k) => k.endsWith('→payments')), 'the call to payments carries the 502');
    await shot(page, 'service-map');

    // The erroring edge into payments: its traces, and each of them has that call.
    const edge = graph.edges.find((e) => e.to === 'payments' && e.errors > 0)!;
    await page.click(`.map-edge[data-from="${edge.from}"][data-to="${edge.to}"] .edge-hit`, { force: true });
    await page.waitForURL(/\/search\?.*from=/);
    await page.waitForSelector('a.trace-row');
    const listed = await page.$$eval('a.trace-row', (rows) => rows.map((r) => r.getAttribute('data-trace-id') as string));
    assert.ok(listed.length > 0);
    for (const id of listed) {
      const [tr] = await api<JaegerTrace[]>(`/api/traces/${id}`);
      const svc = (s: JaegerSpan): string => tr.processes[s.processID].serviceName;
      const byId = new Map(tr.spans.map((s) => [s.spanID, s]));
      assert.ok(
        tr.spans.some((s) => svc(s) === edge.to && s.references.some((r) => r.refType === 'CHILD_OF' && byId.has(r.spanID) && svc(byId.get(r.spanID)!) === edge.from)),
        `trace ${id} has a call ${edge.from} → ${edge.to}`,
      );
    }
    await shot(page, 'edge-traces');
    await page.close();
  });

  test('live: a trace sent over OTLP while the page is open appears without a reload', async (t) => {
    if (!browserHandle) return t.skip('no browser');
    const page = await newPage();
    await page.goto(`${server?.base}/search`);
    await page.waitForSelector('a.trace-row');
    await page.waitForSelector('.live-badge[data-state="open"]');
    await page.evaluate('window.sameDocument = true');
    const before = await page.$$eval('a.trace-row', (rows) => rows.length);

    // Spans made by the OpenTelemetry SDK and sent by the official OTLP/HTTP exporter.
    const memory = new InMemorySpanExporter();
    const exporter = new OTLPTraceExporter({ url: server?.otlpHttp });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout-live' }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('ui-test');
    const parent = tracer.startSpan('POST /checkout', { kind: 1, attributes: { 'http.request.method': 'POST', 'http.route': '/checkout' } });
    const child = tracer.startSpan('SELECT stock', { kind: 2, attributes: { 'db.system.name': 'postgresql' } }, trace.setSpan(context.active(), parent));
    child.end();
    parent.end();
    await provider.forceFlush();
    const spans: ReadableSpan[] = memory.getFinishedSpans();
    await new Promise<void>((resolve, reject) => exporter.export(spans, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error))));
    await exporter.shutdown();
    const traceId = parent.spanContext().traceId;

    const row = page.locator(`a.trace-row[data-trace-id="${traceId}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate('window.sameDocument'), true, 'no reload');
    assert.equal(await page.$$eval('a.trace-row', (rows) => rows.length), before + 1);
    assert.match((await row.locator('.tr-title').textContent()) ?? '', /checkout-live: POST \/checkout/);
    assert.equal(await row.locator('.tr-spans').textContent(), '2 spans');
    assert.equal(await row.locator('.badge-new').count(), 1);
    await shot(page, 'live');

    // A search it does not match does not grow.
    await page.goto(`${server?.base}/search?service=frontend`);
    await page.waitForSelector('a.trace-row');
    await page.waitForSelector('.live-badge[data-state="open"]');
    const again = tracer.startSpan('GET /again', { kind: 1 });
    again.end();
    await provider.forceFlush();
    const exporter2 = new OTLPTraceExporter({ url: server?.otlpHttp });
    await new Promise<void>((resolve, reject) => exporter2.export(memory.getFinishedSpans().slice(-1), (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error))));
    await exporter2.shutdown();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await page.$$eval('a.trace-row', (rows) => rows.length), 8);
    await provider.shutdown();
    await page.close();
  });

  test('a trace of 3,000 spans: only the rows in view are in the page, and End reaches the last span', async (t) => {
    if (!browserHandle) return t.skip('no browser');
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'fanout' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('ui-test');
    const root = tracer.startSpan('GET /batch', { kind: 1 });
    const rootCtx = trace.setSpan(context.active(), root);
    for (let i = 0; i < 100; i++) {
      const group = tracer.startSpan(`group ${i}`, {}, rootCtx);
      const groupCtx = trace.setSpan(context.active(), group);
      for (let j = 0; j < 29; j++) tracer.startSpan(`item ${i}.${j}`, { kind: 2 }, groupCtx).end();
      group.end();
    }
    root.end();
    await provider.forceFlush();
    const spans = memory.getFinishedSpans();
    assert.equal(spans.length, 3001);
    const exporter = new OTLPTraceExporter({ url: server?.otlpHttp });
    await new Promise<void>((resolve, reject) => exporter.export(spans, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error))));
    await exporter.shutdown();
    await provider.shutdown();

    const page = await newPage(1400, 900);
    await page.goto(`${server?.base}/trace/${root.spanContext().traceId}`);
    await page.waitForSelector('.wf-row');
    assert.equal(await page.getAttribute('.wf-body', 'aria-rowcount'), '3001');
    const inPage = await page.$$eval('.wf-row', (els) => els.length);
    assert.ok(inPage < 120, `${inPage} rows in the DOM for 3001 spans`);
    await page.focus('.wf-row[data-index="0"]');
    await page.keyboard.press('End');
    await page.waitForSelector('.wf-row[data-index="3000"]');
    const [full] = await api<JaegerTrace[]>(`/api/traces/${root.spanContext().traceId}`);
    assert.equal(await page.getAttribute('.wf-row[data-index="3000"]', 'data-span-id'), treeOrder(full)[3000]);
    assert.equal(await page.evaluate('document.activeElement.dataset.index'), '3000', 'focus follows to the last row');
    await shot(page, 'trace-large');
    await page.close();
  });

  test('a server with a bearer token: the UI asks for it once, then searches and listens live', async (t) => {
    if (!browserHandle) return t.skip('no browser');
    const guarded = await TraceServer.start({
      host: '127.0.0.1',
      ports: { otlpGrpc: -1, otlpHttp: -1, zipkin: -1, jaegerThrift: -1, query: 0 },
      token: 's3cret',
      limits: { maxSpans: 10_000, maxTraces: 1_000, maxAgeSeconds: 0 },
      maxBodyBytes: 1 << 20,
      uiDir,
      apiRoutes: (store) => [graphHandler({ store })],
    });
    try {
      const memory = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'vault' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
      provider.getTracer('ui-test').startSpan('GET /secret', { kind: 1 }).end();
      guarded.addReadableSpans(memory.getFinishedSpans());
      const base = `http://127.0.0.1:${guarded.ports().query}`;
      const page = await newPage(1000, 700, base);
      await page.goto(`${base}/search`);
      await page.waitForSelector('form.token-form');
      await shot(page, 'token');
      await page.fill('#token', 's3cret');
      await page.click('form.token-form button');
      await page.waitForSelector('a.trace-row');
      assert.match((await page.textContent('a.trace-row .tr-title')) ?? '', /vault: GET \/secret/);
      await page.waitForSelector('#f-service option[value="vault"]', { state: 'attached' });
      await page.waitForSelector('.live-badge[data-state="open"]');
      provider.getTracer('ui-test').startSpan('GET /another', { kind: 1 }).end();
      guarded.addReadableSpans(memory.getFinishedSpans().slice(-1));
      await rowCount(page, 'a.trace-row', 2);
      await page.close();
      await provider.shutdown();
    } finally {
      await guarded.close();
    }
  });

  test('narrow window and empty states read well', async (t) => {
    if (!browserHandle) return t.skip('no browser');
    const page = await newPage(700, 900);
    await page.goto(`${server?.base}/search?service=frontend&minDuration=1h`);
    await page.waitForSelector('.empty');
    assert.equal(await page.textContent('#result-count'), '0 traces');
    await shot(page, 'search-empty-narrow');
    const [first] = await api<JaegerTrace[]>('/api/traces?service=payments&limit=1');
    await page.goto(`${server?.base}/trace/${first.traceID}`);
    await page.waitForSelector('.wf-row');
    await shot(page, 'trace-narrow');
    await page.goto(`${server?.base}/trace/0123456789abcdef0123456789abcdef`);
    await page.waitForSelector('.notice-error');
    assert.match((await page.textContent('.notice-error')) ?? '', /Trace not found: 0123456789abcdef0123456789abcdef is not in the store/);
    await shot(page, 'trace-not-found');
    await page.close();
  });
});
