import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SpanKind } from '@opentelemetry/api';
import { TerminalReport } from '../../src/views/report.js';
import { serviceTable } from '../../src/views/service-table.js';
import { TracePicker } from '../../src/views/trace-picker.js';
import { traceTrees } from '../../src/views/trace-trees.js';
import { shopScenario } from '../graph/scenario.js';
import { SpanFactory } from '../graph/spans.js';
import { matchSnapshot } from './snapshot.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

function shopReport(): TerminalReport {
  const report = new TerminalReport({ slowest: 2, failing: 2 });
  for (const batch of shopScenario().batches) report.add(batch);
  return report;
}

describe('terminal views', () => {
  test('the analyze report, plain (snapshot)', () => {
    const text = shopReport().render({ color: false, width: 120 });
    assert.doesNotMatch(text, ANSI);
    matchSnapshot('report-plain.txt', text);
  });

  test('the analyze report, in colour (snapshot), says the same as the plain one', () => {
    const colour = shopReport().render({ color: true, width: 120 });
    assert.match(colour, ANSI);
    assert.equal(colour.replace(ANSI, ''), shopReport().render({ color: false, width: 120 }));
    matchSnapshot('report-color.txt', colour);
  });

  test('a narrow terminal: every line fits', () => {
    const text = shopReport().render({ color: false, width: 80 });
    for (const line of text.split('\n')) assert.ok([...line].length <= 80, `${[...line].length}: ${line}`);
    matchSnapshot('report-plain-80.txt', text);
  });

  test('--format json carries the same content (snapshot)', () => {
    const json = shopReport().toJSON();
    assert.equal(json.traces, 60);
    assert.deepEqual(json.services.map((s) => s.service).slice(0, 3), ['127.0.0.1:6379', 'cart', 'catalog']);
    assert.equal(json.slowest.length, 2);
    assert.ok(json.slowest[0].durationMs >= json.slowest[1].durationMs);
    assert.ok(json.failing.every((t) => t.errors > 0));
    matchSnapshot('report.json', JSON.stringify(json, null, 2) + '\n');
  });

  test('the service table counts requests and errors per service, most requests first', () => {
    const f = new SpanFactory();
    for (let i = 0; i < 4; i++) f.call({ from: 'web', to: 'api', startMs: i, durationMs: 10, status: i === 0 ? 500 : 200 });
    f.call({ from: 'web', to: 'auth', startMs: 0, durationMs: 2 });
    const table = serviceTable(f.take(), { color: false, width: 100 });
    assert.deepEqual(table.split('\n').map((l) => l.split(/\s{2,}/)), [
      ['service', 'kind', 'requests', 'errors', 'error %', 'p50', 'p99'],
      ['api', 'service', '4', '1', '25%', '9.80 ms', '9.80 ms'],
      ['auth', 'service', '1', '0', '0%', '1.80 ms', '1.80 ms'],
      ['web', 'service', '0', '0', '0%', '-', '-'],
    ]);
  });

  test('trace trees put children under parents in start order, with bars on the trace’s time axis', () => {
    const f = new SpanFactory();
    const root = f.span({ service: 'web', kind: SpanKind.SERVER, name: 'GET /', startMs: 0, durationMs: 100 });
    f.call({ from: 'web', to: 'b', parent: root, startMs: 50, durationMs: 50 });
    f.call({ from: 'web', to: 'a', parent: root, startMs: 0, durationMs: 25, status: 503 });
    const text = traceTrees(f.take(), { color: false, width: 100, slowest: 1, failing: 1 });
    const lines = text.split('\n').filter((l) => l.startsWith('  '));
    assert.deepEqual(
      lines.map((l) => l.trimEnd().slice(0, 30).trimEnd()),
      ['web SERVER GET /', '├─ web CLIENT GET', '│  └─ a SERVER GET /', '└─ web CLIENT GET', '   └─ b SERVER GET /'].map((s) => `  ${s}`),
    );
    const bars = lines.map((l) => /([·█]+)/.exec(l)?.[1] ?? '');
    assert.equal(bars[0], '█'.repeat(30), 'the root spans the whole axis');
    assert.equal(bars[1].indexOf('█'), 0);
    assert.equal(bars[1].lastIndexOf('█'), 7, 'a quarter of the axis');
    assert.equal(bars[3].indexOf('█'), 15, 'starts halfway');
    assert.ok(lines[1].endsWith('✗') && lines[2].endsWith('✗') && !lines[3].endsWith('✗'));
  });

  test('the trace picker keeps exactly the n slowest, however traces stream in (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 6 }), (durations, n) => {
        const f = new SpanFactory();
        const picker = new TracePicker({ slowest: n, failing: 0 });
        durations.forEach((d, i) => {
          f.span({ service: 's', kind: SpanKind.SERVER, name: `t${i}`, startMs: i, durationMs: d });
          picker.add(f.take());
        });
        const expected = durations.map((d, i) => ({ d, i })).sort((a, b) => b.d - a.d || a.i - b.i).slice(0, n).map((x) => `t${x.i}`);
        assert.deepEqual(picker.slowest().map((t) => t.spans[0].name), expected);
      }),
      { numRuns: 100 },
    );
  });

  test('failing traces: the first n that failed and are not already among the slowest', () => {
    const f = new SpanFactory();
    const picker = new TracePicker({ slowest: 1, failing: 2 });
    for (let i = 0; i < 6; i++) {
      f.span({ service: 's', kind: SpanKind.SERVER, name: `t${i}`, startMs: 0, durationMs: i === 4 ? 1000 : 10 + i, error: i % 2 === 0 ? 'boom' : undefined });
      picker.add(f.take());
    }
    assert.deepEqual(picker.slowest().map((t) => t.spans[0].name), ['t4']);
    assert.deepEqual(picker.failing().map((t) => t.spans[0].name), ['t0', 't2']);
  });

  test('empty input: the views say so instead of drawing nothing', () => {
    const report = new TerminalReport();
    assert.match(report.render({ color: false, width: 80 }), /no services[\s\S]*no traces/);
    assert.deepEqual(report.toJSON().services, []);
  });
});
