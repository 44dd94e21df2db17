/**
 * TraceAssembler throughput: exchanges/s from Exchange objects to emitted
 * ReadableSpans, for three-service call chains on loopback (the hardest
 * case for linking: every service shares one host), with W3C context and
 * without. A chain starts every 5 ms of capture time (600 exchanges/s), so
 * with the default 30 s link window about 18,000 exchanges are held at once;
 * capture time ticks once a second.
 */
import { TraceAssembler } from '../../src/correlate/assembler.js';
import { defaultConfig } from '../../src/config/schema.js';
import type { Exchange } from '../../src/model/exchange.js';
import type { HeaderField } from '../../src/model/http.js';
import { Stats } from '../../src/model/stats.js';
import type { ConnectionInfo } from '../../src/model/stream.js';
import type { HrTime } from '../../src/model/time.js';

const CHAINS = 20_000;
const RUNS = Number(process.env.SPANS_RUNS ?? 5);
const EPOCH = 1_700_000_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(ms: number): HrTime {
  return [EPOCH + Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}

function conn(id: string, clientPort: number, serverPort: number): ConnectionInfo {
  return {
    id,
    index: 0,
    client: { address: '127.0.0.1', port: clientPort },
    server: { address: '127.0.0.1', port: serverPort },
    rolesFromHandshake: true,
    firstSeen: time(0),
    swapRoles() {},
  };
}

function hex(n: number, width: number): string {
  return (n + 1).toString(16).padStart(width, '0');
}

function makeExchange(c: ConnectionInfo, seq: number, target: string, headers: HeaderField[], startMs: number, endMs: number): Exchange {
  const start = time(startMs);
  const end = time(endMs);
  return {
    protocol: 'http',
    connection: c,
    sequence: seq,
    outcome: 'complete',
    start,
    end,
    request: { type: 'request', method: 'GET', target, version: 'HTTP/1.1', headers, bodySize: 0, headerSize: 120, startTime: start, endTime: start, truncated: false },
    response: {
      type: 'response',
      status: 200,
      reason: 'OK',
      interim: false,
      version: 'HTTP/1.1',
      headers: [{ name: 'content-type', value: 'application/json' }],
      bodySize: 512,
      headerSize: 90,
      startTime: end,
      endTime: end,
      truncated: false,
    },
  };
}

/** Keep-alive connections per hop, as real services use; responses delivered in completion order. */
function workload(withContext: boolean): Exchange[] {
  const c0 = conn('bench-c0', 40000, 3001);
  const c1 = conn('bench-c1', 40001, 3002);
  const c2 = conn('bench-c2', 40002, 3003);
  const out: Exchange[] = [];
  for (let i = 0; i < CHAINS; i++) {
    const t = i * 5;
    const trace = hex(i, 32);
    const h = (host: string, parent?: string): HeaderField[] => {
      const fields: HeaderField[] = [
        { name: 'host', value: host },
        { name: 'user-agent', value: 'bench/1' },
        { name: 'accept', value: '*/*' },
      ];
      if (withContext && parent) fields.push({ name: 'traceparent', value: `00-${trace}-${parent}-01` });
      return fields;
    };
    out.push(makeExchange(c2, i, `/stock/${i}`, h('localhost:3003', hex(i * 2 + 1, 16)), t + 1, t + 3));
    out.push(makeExchange(c1, i, `/orders/${i}?token=abc`, h('localhost:3002', hex(i * 2, 16)), t + 0.5, t + 4));
    out.push(makeExchange(c0, i, '/checkout', h('localhost:3001'), t, t + 4.5));
  }
  return out;
}

function measure(exchanges: Exchange[]): number {
  const stats = new Stats();
  let spans = 0;
  const assembler = new TraceAssembler({ config: defaultConfig(), stats, onSpans: (s) => void (spans += s.length), scopeVersion: 'bench' });
  const begin = process.hrtime.bigint();
  let lastTick = -1;
  for (const e of exchanges) {
    assembler.onExchange(e);
    if (e.end[0] !== lastTick) {
      lastTick = e.end[0];
      assembler.onTick(e.end[0], e.end[1]);
    }
  }
  assembler.finish();
  const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
  if (spans !== exchanges.length * 2) throw new Error(`expected ${exchanges.length * 2} spans, got ${spans}`);
  return exchanges.length / seconds;
}

export async function bench(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const out: Array<{ name: string; value: number; unit: string }> = [];
  for (const withContext of [true, false]) {
    const exchanges = workload(withContext);
    measure(exchanges.slice(0, 3000)); // warm-up
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(measure(exchanges));
    out.push({ name: `TraceAssembler ${withContext ? 'with W3C context' : 'without context'}`, value: median(runs), unit: 'exchanges/s' });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await bench()) console.log(`${r.name}: ${Math.round(r.value).toLocaleString('en-US')} ${r.unit}`);
}
