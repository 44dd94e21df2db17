// Spans per second through the service-graph builder and the terminal
// report, on the shop scenario the tests use (real SDK spans, one trace per
// batch). Medians of several runs.
import { ServiceGraphBuilder } from '../../src/graph/builder.js';
import { TerminalReport } from '../../src/views/report.js';
import { shopScenario } from '../../test/graph/scenario.js';

const RUNS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function spansPerSecond(batches: readonly (readonly unknown[])[], feed: () => { add(b: never): void; finish(): void }): number {
  const spans = batches.reduce((n, b) => n + b.length, 0);
  const rates: number[] = [];
  // Run 0 warms the JIT and is not counted.
  for (let run = -1; run < RUNS; run++) {
    const sink = feed();
    const started = process.hrtime.bigint();
    for (const batch of batches) sink.add(batch as never);
    sink.finish();
    if (run >= 0) rates.push(spans / (Number(process.hrtime.bigint() - started) / 1e9));
  }
  return median(rates);
}

export async function bench(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const { batches } = shopScenario(3000);
  const graph = spansPerSecond(batches, () => {
    const b = new ServiceGraphBuilder();
    return { add: (batch) => b.add(batch), finish: () => void b.build() };
  });
  const report = spansPerSecond(batches, () => {
    const r = new TerminalReport();
    return { add: (batch) => r.add(batch), finish: () => void r.render({ color: false, width: 120 }) };
  });
  return [
    { name: 'ServiceGraphBuilder.add + build', value: graph / 1e3, unit: 'K spans/s' },
    { name: 'TerminalReport.add + render', value: report / 1e3, unit: 'K spans/s' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await bench()) console.log(`${r.name}: ${r.value.toFixed(1)} ${r.unit}`);
}
