// `npm run bench`: figures as medians, and ratios against peers measured in
// the same run (tshark where installed). Never run from the tests.
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const root = join(here, '..');
const work = join(root, '.bench');
mkdirSync(work, { recursive: true });

const SMALL_MB = Number(process.env.BENCH_SMALL_MB ?? 64);
// names carry the MTU so a capture recorded the other way is not reused
const LARGE_MB = Number(process.env.BENCH_LARGE_MB ?? 256);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(x: number, digits = 1): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * Host loopback has a 64 KiB MTU, so a response is one huge packet. A real
 * network carries 1500-byte frames: where it can (root, iproute2), the load
 * is recorded in a network namespace of its own whose loopback has that MTU.
 */
function canUseNamespace(): boolean {
  return process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0;
}

function ensureCapture(name: string, mb: number): string {
  const file = join(work, name);
  if (existsSync(file) && statSync(file).size >= mb * 1024 * 1024) return file;
  const gen = [process.execPath, join(here, 'gen-load.mjs'), file, String(mb)];
  if (canUseNamespace()) {
    const ns = `wt-bench-${process.pid}`;
    console.log(`generating ${name}: ${mb} MiB of real keep-alive traffic, loopback MTU 1500 in namespace ${ns}…`);
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'mtu', '1500', 'up']);
      // Without this, tcpdump on loopback sees segmentation-offload super-packets, not frames.
      const offload = spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'lo', 'tso', 'off', 'gso', 'off', 'gro', 'off'], { stdio: 'ignore' });
      if (offload.status !== 0) console.log('  (ethtool missing: segmentation offload stays on, packets are larger than frames)');
      execFileSync('ip', ['netns', 'exec', ns, ...gen], { stdio: 'inherit' });
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  } else {
    console.log(`generating ${name}: ${mb} MiB of real keep-alive traffic on the host loopback (64 KiB MTU)…`);
    execFileSync(gen[0], gen.slice(1), { stdio: 'inherit' });
  }
  return file;
}

interface Run {
  seconds: number;
  maxRssKiB: number;
  packets: number;
  bytes: number;
  exchanges: number;
  spans: number;
}

function runWiretrace(file: string, mode: 'spans' | 'otlp'): Run {
  const out = execFileSync(process.execPath, [join(here, 'analyze-child.mjs'), file, mode], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out) as Run;
}

function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

function runTshark(file: string): { seconds: number; lines: number } {
  const started = process.hrtime.bigint();
  const r = spawnSync('tshark', ['-r', file, '-Y', 'http', '-T', 'fields', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  return { seconds, lines: r.stdout.split('\n').filter(Boolean).length };
}

function pipelineFigures(label: string, file: string, mode: 'spans' | 'otlp', runs: number): { mbps: number; run: Run; rss: number } {
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) results.push(runWiretrace(file, mode));
  const size = statSync(file).size;
  const secs = median(results.map((r) => r.seconds));
  const run = results[0];
  const rss = median(results.map((r) => r.maxRssKiB)) / 1024;
  const mbps = size / 1e6 / secs;
  console.log(
    `${label}: ${fmt(mbps)} MB/s · ${fmt(run.packets / secs / 1e3)} K packets/s · ${fmt(run.exchanges / secs / 1e3)} K exchanges/s · ${fmt(run.spans / secs / 1e3)} K spans/s · peak RSS ${fmt(rss, 0)} MiB  (median of ${runs}, ${fmt(size / 1e6, 0)} MB, ${run.exchanges} exchanges)`,
  );
  return { mbps, run, rss };
}

async function micro(): Promise<void> {
  const dir = join(here, 'micro');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
    const mod = (await import(join(dir, name))) as { bench?: () => Promise<Array<{ name: string; value: number; unit: string }>> };
    if (!mod.bench) continue;
    for (const r of await mod.bench()) console.log(`  micro ${name.replace(/\.ts$/, '')}: ${r.name}: ${fmt(r.value)} ${r.unit}`);
  }
}

console.log(`wiretrace bench · node ${process.version} · one core per process\n`);
if (process.env.BENCH_SKIP_MICRO === '1') {
  console.log('micro-benchmarks skipped (BENCH_SKIP_MICRO=1)');
} else {
  console.log('micro-benchmarks (medians):');
  await micro();
}
console.log('\nend to end (capture file → spans):');
const small = ensureCapture(`load-${SMALL_MB}-mtu1500.pcap`, SMALL_MB);
const large = ensureCapture(`load-${LARGE_MB}-mtu1500.pcap`, LARGE_MB);
const smallSpans = pipelineFigures(`  ${SMALL_MB} MiB, spans built`, small, 'spans', RUNS);
pipelineFigures(`  ${SMALL_MB} MiB, spans + OTLP/JSON encoded`, small, 'otlp', RUNS);
const largeSpans = pipelineFigures(`  ${LARGE_MB} MiB, spans built`, large, 'spans', Math.max(1, Math.ceil(RUNS / 2)));
console.log(`  memory as the file grows ×${fmt(statSync(large).size / statSync(small).size)}: peak RSS ×${fmt(largeSpans.rss / smallSpans.rss, 2)}`);

if (hasTshark()) {
  const tsharkRuns = Math.max(1, Math.min(3, RUNS));
  const t = [] as number[];
  let lines = 0;
  for (let i = 0; i < tsharkRuns; i++) {
    const r = runTshark(small);
    t.push(r.seconds);
    lines = r.lines;
  }
  const tmbps = statSync(small).size / 1e6 / median(t);
  console.log(`\npeer: tshark -Y http -T fields on the same ${SMALL_MB} MiB file: ${fmt(tmbps)} MB/s (median of ${tsharkRuns}, ${lines} HTTP messages)`);
  console.log(`ratio: wiretrace is ${fmt(smallSpans.mbps / tmbps)}× tshark's speed`);
} else {
  console.log('\npeer: tshark not installed — no ratio (apt-get install tshark)');
}
