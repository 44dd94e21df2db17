import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { TraceAssembler } from '../../src/correlate/assembler.js';
import { Stats } from '../../src/model/stats.js';
import type { Exchange } from '../../src/model/exchange.js';
import { config, connection, exchange, serverSpanOf, clientSpanOf } from './exchange-factory.js';
import { analyzeFile } from '../helpers/analyze.js';
import { fileURLToPath } from 'node:url';

/**
 * The protocol layer announces each request as it starts. A call waits for
 * its enclosing server exchange only while a request that started before it
 * is still open on its host, not for the whole link window.
 */
function assembler() {
  const spans: ReadableSpan[] = [];
  const stats = new Stats();
  const a = new TraceAssembler({ config: config(), stats, onSpans: (batch) => spans.push(...batch), scopeVersion: 't' });
  const announce = (e: Exchange) => a.onRequestStart(e.connection, e.request!);
  return { a, spans, stats, announce };
}

// client 192.0.2.10 → frontend 10.0.0.1 → orders 10.0.0.2, no propagated context
const c0 = connection('192.0.2.10:40000', '10.0.0.1:80', 'early-0');
const c1 = connection('10.0.0.1:40001', '10.0.0.2:80', 'early-1');
const outer = exchange({ conn: c0, target: '/', headers: { host: 'frontend' }, start: 0, end: 100 });
const inner = exchange({ conn: c1, target: '/orders', headers: { host: 'orders' }, start: 10, end: 80 });

describe('span assembly: release as soon as the tree is final', () => {
  test('a call waits while the server request that may enclose it is open, and leaves with it the moment it is answered', () => {
    const { a, spans, announce } = assembler();
    announce(outer);
    announce(inner);
    a.onExchange(inner);
    assert.equal(spans.length, 0, 'the frontend request is still open: the call may be its child');
    a.onExchange(outer);
    assert.equal(spans.length, 4, 'both exchanges leave at once, long before the 30 s link window');
    assert.equal(a.heldCount, 0);
    assert.equal(clientSpanOf(spans, c1).parentSpanContext?.spanId, serverSpanOf(spans, c0).spanContext().spanId);
  });

  test('a call with no open request on its host leaves at once', () => {
    const { a, spans, announce } = assembler();
    const lone = exchange({ conn: connection('192.0.2.20:40000', '10.0.0.9:80', 'early-lone'), start: 0, end: 5 });
    announce(lone);
    a.onExchange(lone);
    assert.equal(spans.length, 2);
    assert.equal(a.heldCount, 0);
  });

  test('a request that started after a call cannot enclose it and does not hold it', () => {
    const { a, spans, announce } = assembler();
    const later = exchange({ conn: connection('192.0.2.30:40000', '10.0.0.1:80', 'early-later'), start: 50, end: 500 });
    const call = exchange({ conn: connection('10.0.0.1:40009', '10.0.0.2:80', 'early-call'), start: 10, end: 60 });
    announce(call);
    announce(later);
    a.onExchange(call);
    assert.equal(spans.length, 2, 'the open request on 10.0.0.1 started at 50 ms, after the call began');
  });

  test('the same links come out as when every exchange waits for the link window', () => {
    const announced = assembler();
    announced.announce(outer);
    announced.announce(inner);
    announced.a.onExchange(inner);
    announced.a.onExchange(outer);
    announced.a.finish();
    const silent = assembler(); // a producer that announces nothing: the link window decides
    silent.a.onExchange(inner);
    silent.a.onExchange(outer);
    assert.equal(silent.spans.length, 0, 'without announcements nothing can leave before the window');
    silent.a.finish();
    const shape = (spans: ReadableSpan[]) => spans.map((s) => `${s.spanContext().traceId}/${s.spanContext().spanId}/${s.parentSpanContext?.spanId}`).sort();
    assert.deepEqual(shape(announced.spans), shape(silent.spans));
  });

  test('on a real capture, exchanges are not held for the link window: at most the ones in flight', async () => {
    // The demo capture lasts about 0.3 s, far less than the 30 s window: were exchanges
    // held for the window, every one would still be held when the capture ends.
    const demo = fileURLToPath(new URL('../../examples/demo/demo.pcap', import.meta.url));
    let maxBatch = 0;
    const { spans } = await analyzeFile(demo);
    const batches: number[] = [];
    const { analyze } = await import('../../src/pipeline.js');
    const { createReadStream } = await import('node:fs');
    const { configSchema } = await import('../../src/config/schema.js');
    await analyze(createReadStream(demo), {
      config: configSchema.parse({}),
      onSpans: (batch) => {
        batches.push(batch.length);
        maxBatch = Math.max(maxBatch, batch.length);
      },
      onProgress: () => {},
    });
    assert.equal(batches.reduce((x, y) => x + y, 0), spans.length);
    assert.ok(batches.length >= 8, `spans leave trace by trace (${batches.length} batches), not all at the end`);
    assert.ok(maxBatch <= 10, `the largest batch is one trace (${maxBatch} spans)`);
  });
});
