import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceGraphBuilder, toDot, toMermaid, toSvg } from '../../src/graph/index.js';
import { analyzeFile, SERVER } from '../helpers/analyze.js';
import { runCli } from '../helpers/cli.js';
import { requireTool } from '../helpers/tools.js';
import { launchBrowser } from '../helpers/browser.js';
import { checkXml } from '../graph/xml-check.js';
import { matchSnapshot } from '../views/snapshot.js';

/**
 * The service graph of recorded multi-service captures must hold exactly
 * the calls the services made — as their own OpenTelemetry SDKs recorded
 * them — with counts equal to the exchanges found on the wire.
 */
const recordings = ['../../examples/demo/demo', '../fixtures/otel/b3-mixed', '../fixtures/otel/jaeger'].map((base) => ({
  name: base.split('/').pop()!,
  path: (ext: string) => fileURLToPath(new URL(`${base}${ext}`, import.meta.url)),
}));
const dir = mkdtempSync(join(tmpdir(), 'wt-graph-e2e-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

interface SdkSpan {
  kind: string;
  serviceName: string;
  parentSpanId: string | null;
  attributes: Record<string, unknown>;
}

async function graphOf(rec: (typeof recordings)[number]) {
  const recording = JSON.parse(readFileSync(rec.path('.recording.json'), 'utf8')) as { services: Record<string, { port: number }> };
  const mappings = Object.entries(recording.services).map(([name, s]) => ({ match: `127.0.0.1:${s.port}`, name }));
  const { spans } = await analyzeFile(rec.path('.pcap'), { services: { mappings } });
  const builder = new ServiceGraphBuilder();
  builder.add(spans);
  return { graph: builder.build(), spans, recording };
}

for (const rec of recordings) {
  describe(`service graph of ${rec.name}`, () => {
    test('edges are exactly the calls the SDKs recorded, with their counts', async () => {
      const { graph, spans, recording } = await graphOf(rec);
      const portToService = new Map(Object.entries(recording.services).map(([name, s]) => [s.port, name]));
      const sdk = readFileSync(rec.path('.sdk-spans.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SdkSpan);
      const expected = new Map<string, number>();
      const add = (edge: string) => expected.set(edge, (expected.get(edge) ?? 0) + 1);
      for (const s of sdk) {
        if (s.kind === 'CLIENT') add(`${s.serviceName} -> ${portToService.get(Number(s.attributes['server.port']))}`);
        // Entry requests: the SDK's root server spans, called by curl from 127.0.0.1.
        if (s.kind === 'SERVER' && s.parentSpanId === null) add(`127.0.0.1 -> ${s.serviceName}`);
      }
      const names = new Map(graph.nodes.map((n) => [n.id, n.name]));
      const found = new Map(graph.edges.map((e) => [`${names.get(e.from)} -> ${names.get(e.to)}`, e.requests]));
      assert.deepEqual([...found.entries()].sort(), [...expected.entries()].sort());
      const exchanges = spans.filter((s) => s.kind === SERVER).length;
      assert.equal(graph.edges.reduce((a, e) => a + e.requests, 0), exchanges, 'every exchange is one request on one edge');
      const external = graph.nodes.find((n) => n.name === '127.0.0.1');
      assert.equal(external?.kind, 'external');
    });

    test('the real dot accepts the DOT; the in-process SVG is well-formed and shows every node', async (t) => {
      const { graph } = await graphOf(rec);
      const svg = await toSvg(graph);
      const xml = checkXml(svg);
      assert.ok(xml.ok, xml.error);
      for (const n of graph.nodes) assert.ok(svg.includes(n.name), `${n.name} drawn`);
      if (!requireTool(t, 'dot', ['-V'])) return;
      const dot = spawnSync('dot', ['-Tsvg'], { input: toDot(graph), encoding: 'utf8' });
      assert.equal(dot.status, 0, dot.stderr);
      assert.equal(dot.stderr, '', 'no warnings');
    });
  });
}

test("Mermaid's own parser accepts the .mmd of every recording (mermaid in Chromium)", async (t) => {
  const launched = await launchBrowser(t);
  if (!launched) return;
  try {
    const page = await launched.browser.newPage();
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ path: fileURLToPath(new URL('../../node_modules/mermaid/dist/mermaid.min.js', import.meta.url)) });
    for (const rec of recordings) {
      const { graph } = await graphOf(rec);
      const text = toMermaid(graph);
      const result = await page.evaluate(async (source) => {
        const m = (globalThis as unknown as { mermaid: { initialize(o: object): void; parse(s: string): Promise<unknown>; render(id: string, s: string): Promise<{ svg: string }> } }).mermaid;
        m.initialize({ startOnLoad: false, securityLevel: 'strict' });
        try {
          await m.parse(source);
          const { svg } = await m.render('g', source);
          return { ok: true, svg };
        } catch (err) {
          return { ok: false, error: String(err) };
        }
      }, text);
      assert.ok(result.ok, `${rec.name}: ${result.error}\n${text}`);
      for (const n of graph.nodes) assert.ok(result.svg!.includes(n.name), `${rec.name}: Mermaid drew ${n.name}`);
    }
    // The check can fail: Mermaid rejects a broken flowchart.
    const broken = await page.evaluate(async () => {
      const m = (globalThis as unknown as { mermaid: { parse(s: string): Promise<unknown> } }).mermaid;
      try {
        await m.parse('flowchart LR\n  a -->|unclosed b');
        return 'accepted';
      } catch {
        return 'rejected';
      }
    });
    assert.equal(broken, 'rejected');
  } finally {
    await launched.close();
  }
});

test('the terminal view of the demo capture (snapshot)', async () => {
  const demo = fileURLToPath(new URL('../../examples/demo/demo.pcap', import.meta.url));
  const config = fileURLToPath(new URL('../../examples/demo/wiretrace.yaml', import.meta.url));
  const text = await runCli(['analyze', demo, '-c', config, '--summary', 'none']);
  assert.equal(text.code, 0, text.stderr);
  matchSnapshot('demo-report.txt', text.stdout);
  const json = await runCli(['analyze', demo, '-c', config, '--format', 'json', '--summary', 'none']);
  assert.equal(json.code, 0, json.stderr);
  matchSnapshot('demo-report.json', json.stdout);
});
