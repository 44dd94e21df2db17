import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ServiceGraphBuilder } from '../../src/graph/builder.js';
import { displayName } from '../../src/graph/format.js';
import { graphFormatFromPath, toDot, toJson, toMermaid, toSvg, writeGraph } from '../../src/graph/render.js';
import type { ServiceGraph } from '../../src/graph/types.js';
import { WiretraceError } from '../../src/errors.js';
import { checkMermaid } from './mermaid-check.js';
import { shopScenario } from './scenario.js';
import { SpanFactory } from './spans.js';
import { checkXml } from './xml-check.js';

const hasDot = spawnSync('dot', ['-V'], { stdio: 'ignore' }).status === 0;
const hasXmllint = spawnSync('xmllint', ['--version'], { stdio: 'ignore' }).status === 0;

function requireTool(name: string, present: boolean): string | false {
  if (present) return false;
  if (process.env.CI === 'true') throw new Error(`${name} is required under CI=true`);
  const message = `${name} not installed: skipped`;
  console.log(`# SKIP ${message}`);
  return message;
}

function shopGraph(): ServiceGraph {
  const b = new ServiceGraphBuilder();
  for (const batch of shopScenario().batches) b.add(batch);
  return b.build();
}

/** A graph whose service names are the given strings: each calls the next, the last calls a database. */
function graphOf(names: string[]): ServiceGraph {
  const f = new SpanFactory();
  names.forEach((name, i) => {
    if (i + 1 < names.length) f.call({ from: name, to: names[i + 1], startMs: i, durationMs: 5, status: i % 2 ? 500 : 200 });
  });
  const b = new ServiceGraphBuilder();
  b.add(f.take());
  return b.build();
}

function textsOfSvg(svg: string): string[] {
  const check = checkXml(svg);
  assert.ok(check.ok, check.error);
  return check.texts;
}

const hostileName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 24, unit: 'grapheme' }),
  fc.string({ minLength: 1, maxLength: 16, unit: fc.constantFrom(...'"\'\\<>&;:#%{}[]()|`\n\r\t\u0000-->=*~^$@!/ab'.split('')) }),
  fc.constantFrom('a"b', 'x\\', '\\N', '&amp;', '%%{init: {"theme":"dark"}}%%', '<script>alert(1)</script>', 'end', 'style', 'n0', ']]>', 'a -->|x| b', '#35;', 'style:#35;', '\ud800'),
);

describe('graph renderers', () => {
  test('DOT is accepted by the real Graphviz dot', (t) => {
    const skip = requireTool('dot', hasDot);
    if (skip) return t.skip(skip);
    const dot = toDot(shopGraph());
    const r = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no warnings either');
    for (const name of shopGraph().nodes.map((n) => n.name)) assert.ok(textsOfSvg(r.stdout).includes(name), name);
  });

  test('DOT marks the problems: databases are cylinders, externals dashed, error-heavy edges red and wide, slow ones purple', () => {
    const dot = toDot(shopGraph());
    const ids = new Map(shopGraph().nodes.map((n, i) => [n.name, `n${i}`]));
    const line = (re: string) => dot.split('\n').find((l) => l.trimStart().startsWith(re)) ?? '';
    assert.match(line(`${ids.get('postgresql@db.internal')} [`), /shape=cylinder/);
    assert.match(line(`${ids.get('api.payments.example:443')} [`), /dashed/);
    const paymentsEdge = line(`${ids.get('checkout')} -> ${ids.get('payments')}`);
    assert.match(paymentsEdge, /color="#d62728"/);
    assert.match(paymentsEdge, /label="0\.7 req\/s · 8 err \(40%\)\\np99 170 ms"/);
    assert.ok(Number(/penwidth=([\d.]+)/.exec(paymentsEdge)?.[1]) >= 3);
    assert.match(line(`${ids.get('catalog')} -> ${ids.get('search')}`), /color="#8e44ad"/);
    assert.match(line(`${ids.get('frontend')} -> ${ids.get('cart')}`), /color="#7b8794", penwidth=1.2/);
  });

  test('SVG is rendered inside wiretrace, is well-formed XML and shows every node', async () => {
    const graph = shopGraph();
    const svg = await toSvg(graph);
    const texts = textsOfSvg(svg);
    for (const node of graph.nodes) assert.ok(texts.includes(node.name), `${node.name} in the SVG`);
    assert.equal(checkXml(svg).elements[0], 'svg');
  });

  test('SVG passes xmllint --noout as well', async (t) => {
    const skip = requireTool('xmllint (libxml2-utils)', hasXmllint);
    if (skip) return t.skip(skip);
    const r = spawnSync('xmllint', ['--noout', '--nonet', '-'], { input: await toSvg(shopGraph()), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  test('Mermaid text follows the flowchart grammar, with every label reading back as written', () => {
    const graph = shopGraph();
    const check = checkMermaid(toMermaid(graph));
    assert.ok(check.ok, check.error);
    assert.deepEqual([...check.nodeLabels.values()].map((l) => l[0]), graph.nodes.map((n) => n.name));
    assert.deepEqual(check.edgeLabels[0], ['2.0 req/s · 8 err (13%)', 'p99 1.45 s']);
  });

  test('the checkers can fail: broken XML and broken Mermaid are refused', () => {
    for (const bad of ['<svg><g></svg>', '<svg a="1" a="2"/>', '<svg>&nbsp;</svg>', '<svg>a & b</svg>', '<svg/><svg/>', '<svg>&#1;</svg>']) {
      assert.equal(checkXml(bad).ok, false, bad);
    }
    const good = 'flowchart LR\n  n0["a"]\n  n1["b"]\n  n0 -->|"x"| n1\n';
    assert.ok(checkMermaid(good).ok);
    for (const bad of [good.replace('"a"', '"a"b"'), good.replace('"x"', '"%%{x}"'), good.replace('n1["b"]', 'end["b"]'), good.replace('"x"', '"<b>"')]) {
      assert.equal(checkMermaid(bad).ok, false, bad);
    }
  });

  test('hostile service names are escaped in every format (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(hostileName, { minLength: 2, maxLength: 5, selector: (s) => (s === '' ? 'unknown' : s) }), async (names) => {
        const graph = graphOf(names);
        const shown = graph.nodes.map((n) => displayName(n.name));

        const json = JSON.parse(toJson(graph)) as ServiceGraph;
        assert.deepEqual(json.nodes.map((n) => n.name), graph.nodes.map((n) => n.name));

        const mermaid = checkMermaid(toMermaid(graph));
        assert.ok(mermaid.ok, mermaid.error);
        assert.deepEqual([...mermaid.nodeLabels.values()].map((l) => l[0]), shown);

        const texts = textsOfSvg(await toSvg(graph));
        for (const name of shown) {
          // Graphviz draws each label line as one <text>; a name that is only spaces is drawn as nothing.
          if (name.trim() !== '') assert.ok(texts.includes(name), `${JSON.stringify(name)} in ${JSON.stringify(texts)}`);
        }
        assert.equal(texts.filter((t) => /req/.test(t)).length >= 1, true);
      }),
      { numRuns: 60 },
    );
  });

  test('hostile names through the real dot too', (t) => {
    const skip = requireTool('dot', hasDot);
    if (skip) return t.skip(skip);
    fc.assert(
      fc.property(fc.uniqueArray(hostileName, { minLength: 2, maxLength: 6 }), (names) => {
        const r = spawnSync('dot', ['-Tsvg'], { input: toDot(graphOf(names)), encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.ok(checkXml(r.stdout).ok, checkXml(r.stdout).error);
      }),
      { numRuns: 25 },
    );
  });

  test('writeGraph picks the format by extension and refuses others with WT_ERR_USAGE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wiretrace-graph-'));
    try {
      const graph = shopGraph();
      for (const ext of ['dot', 'gv', 'mmd', 'json', 'svg']) await writeGraph(graph, join(dir, `g.${ext}`));
      assert.equal(readFileSync(join(dir, 'g.dot'), 'utf8'), toDot(graph));
      assert.equal(readFileSync(join(dir, 'g.gv'), 'utf8'), toDot(graph));
      assert.equal(readFileSync(join(dir, 'g.mmd'), 'utf8'), toMermaid(graph));
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'g.json'), 'utf8')), graph);
      assert.ok(checkXml(readFileSync(join(dir, 'g.svg'), 'utf8')).ok);
      assert.equal(graphFormatFromPath('OUT.SVG'), 'svg');
      await assert.rejects(writeGraph(graph, join(dir, 'g.png')), (err: unknown) => {
        assert.ok(err instanceof WiretraceError);
        assert.equal(err.code, 'WT_ERR_USAGE');
        assert.match(err.message, /\.dot \.gv \.mmd \.json \.svg/);
        return true;
      });
      await assert.rejects(writeGraph(graph, join(dir, 'missing', 'g.dot')), (err: unknown) => err instanceof WiretraceError && err.code === 'WT_ERR_OUTPUT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
