import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { extractTraceContext, headerFieldsGetter } from '../../src/correlate/context.js';
import type { HeaderField } from '../../src/model/http.js';
import { Stats } from '../../src/model/stats.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

function h(...pairs: Array<[string, string]>): HeaderField[] {
  return pairs.map(([name, value]) => ({ name: name.toLowerCase(), value }));
}

function extract(headers: HeaderField[]) {
  const stats = new Stats();
  return { context: extractTraceContext(headers, stats), stats };
}

describe('trace context from request headers', () => {
  test('W3C traceparent gives trace id, the caller span id, sampling, tracestate and baggage', () => {
    const { context, stats } = extract(
      h(['traceparent', `00-${TRACE}-${SPAN}-01`], ['tracestate', 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'], ['baggage', 'tenant=acme,region=eu%20west']),
    );
    assert.deepEqual(context, {
      traceId: TRACE,
      parentSpanId: SPAN,
      sampled: true,
      traceState: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
      baggage: { tenant: 'acme', region: 'eu west' },
      source: 'w3c',
    });
    assert.equal(stats.parseErrors.total(), 0);
  });

  test('W3C unsampled flag is kept', () => {
    assert.equal(extract(h(['traceparent', `00-${TRACE}-${SPAN}-00`])).context?.sampled, false);
  });

  test('B3 single header, 128-bit and 64-bit (left-padded to 32 hex)', () => {
    assert.deepEqual(extract(h(['b3', `${TRACE}-${SPAN}-1`])).context, { traceId: TRACE, parentSpanId: SPAN, sampled: true, source: 'b3' });
    const short = extract(h(['b3', `a3ce929d0e0e4736-${SPAN}-0-05e3ac9a4f6e3b90`])).context;
    assert.equal(short?.traceId, '0000000000000000a3ce929d0e0e4736');
    assert.equal(short?.sampled, false);
    assert.equal(short?.source, 'b3');
  });

  test('B3 multi headers, 64-bit trace id padded, sampled and debug flags', () => {
    const c = extract(h(['X-B3-TraceId', 'a3ce929d0e0e4736'], ['X-B3-SpanId', SPAN], ['X-B3-Sampled', '1'])).context;
    assert.deepEqual(c, { traceId: '0000000000000000a3ce929d0e0e4736', parentSpanId: SPAN, sampled: true, source: 'b3multi' });
    const debug = extract(h(['X-B3-TraceId', TRACE], ['X-B3-SpanId', SPAN], ['X-B3-Flags', '1'])).context;
    assert.equal(debug?.sampled, true);
    assert.equal(debug?.source, 'b3multi');
  });

  test('Jaeger uber-trace-id, with ids missing leading zeros and URL-encoded colons', () => {
    const c = extract(h(['uber-trace-id', 'a3ce929d0e0e4736:f067aa0ba902b7:0:1'], ['uberctx-user', 'alice'])).context;
    assert.deepEqual(c, {
      traceId: '0000000000000000a3ce929d0e0e4736',
      parentSpanId: SPAN,
      sampled: true,
      baggage: { user: 'alice' },
      source: 'jaeger',
    });
    const encoded = extract(h(['uber-trace-id', `${TRACE}%3A${SPAN}%3A0%3A0`])).context;
    assert.equal(encoded?.traceId, TRACE);
    assert.equal(encoded?.sampled, false);
  });

  test('Splunk X-Request-ID (32 hex, or a UUID without its dashes) with X-Span-ID', () => {
    assert.deepEqual(extract(h(['X-Request-ID', TRACE.toUpperCase()], ['X-Span-ID', SPAN])).context, {
      traceId: TRACE,
      parentSpanId: SPAN,
      source: 'splunk',
    });
    const uuid = extract(h(['X-Request-ID', '4bf92f35-77b3-4da6-a3ce-929d0e0e4736'], ['X-Span-ID', SPAN])).context;
    assert.equal(uuid?.traceId, TRACE);
  });

  test('X-Request-ID alone is no trace context and no error (proxies set it)', () => {
    const { context, stats } = extract(h(['X-Request-ID', '4bf92f35-77b3-4da6-a3ce-929d0e0e4736']));
    assert.equal(context, undefined);
    assert.equal(stats.parseErrors.total(), 0);
  });

  test('preference order: W3C, then B3 single, B3 multi, Jaeger, Splunk', () => {
    const ids = (n: number) => ({ t: String(n).repeat(32), s: String(n).repeat(16) });
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(ids);
    // Lowest preference first; each step drops the most preferred family left.
    const families: Array<Array<[string, string]>> = [
      [['traceparent', `00-${a.t}-${a.s}-01`]],
      [['b3', `${b.t}-${b.s}-1`]],
      [['x-b3-traceid', c.t], ['x-b3-spanid', c.s]],
      [['uber-trace-id', `${d.t}:${d.s}:0:1`]],
      [['x-request-id', e.t], ['x-span-id', e.s]],
    ];
    const expected = ['w3c', 'b3', 'b3multi', 'jaeger', 'splunk'];
    for (let i = 0; i < expected.length; i++) {
      // Least preferred headers first on the wire, so order of appearance cannot be what decides.
      const headers = h(...families.slice(i).reverse().flat());
      const got = extract(headers).context;
      assert.equal(got?.source, expected[i], `with ${headers.map((x) => x.name).join(', ')}`);
      assert.equal(got?.traceId, [a, b, c, d, e][i].t);
    }
  });

  test('an invalid preferred context is counted and the next family is used', () => {
    const { context, stats } = extract(
      h(['traceparent', `00-${'0'.repeat(32)}-${SPAN}-01`], ['b3', `${TRACE}-${SPAN}-1`]),
    );
    assert.equal(context?.source, 'b3');
    assert.equal(stats.parseErrors.get('context:w3c'), 1);
  });

  const invalid: Array<[string, Array<[string, string]>]> = [
    ['w3c', [['traceparent', `00-${'0'.repeat(32)}-${SPAN}-01`]]],
    ['w3c', [['traceparent', `00-${TRACE}-${'0'.repeat(16)}-01`]]],
    ['w3c', [['traceparent', `00-${TRACE.slice(2)}-${SPAN}-01`]]],
    ['w3c', [['traceparent', `00-${TRACE.toUpperCase()}-${SPAN}-01`]]],
    ['w3c', [['traceparent', `ff-${TRACE}-${SPAN}-01`]]],
    ['w3c', [['traceparent', 'garbage']]],
    ['b3', [['b3', `${TRACE}a-${SPAN}-1`]]],
    ['b3', [['b3', `a3ce929d0e0e47361234-${SPAN}`]]],
    ['b3', [['b3', `${'0'.repeat(32)}-${SPAN}`]]],
    ['b3', [['b3', `${TRACE}-${SPAN}00`]]],
    ['b3multi', [['x-b3-traceid', 'a3ce929d0e0e47361234'], ['x-b3-spanid', SPAN]]],
    ['b3multi', [['x-b3-traceid', TRACE], ['x-b3-spanid', '0'.repeat(16)]]],
    ['b3multi', [['x-b3-traceid', TRACE]]],
    ['b3multi', [['x-b3-traceid', TRACE], ['x-b3-spanid', SPAN], ['x-b3-sampled', 'perhaps']]],
    ['jaeger', [['uber-trace-id', `${TRACE}0:${SPAN}:0:1`]]],
    ['jaeger', [['uber-trace-id', `0:${SPAN}:0:1`]]],
    ['jaeger', [['uber-trace-id', `${TRACE}:${SPAN}:0`]]],
    ['jaeger', [['uber-trace-id', `${TRACE}:${SPAN}:0:zz`]]],
    ['jaeger', [['uber-trace-id', '%E0%A4%A']]],
    ['splunk', [['x-request-id', 'req-1234'], ['x-span-id', SPAN]]],
    ['splunk', [['x-request-id', TRACE], ['x-span-id', '1234']]],
    ['splunk', [['x-request-id', '0'.repeat(32)], ['x-span-id', SPAN]]],
    ['splunk', [['x-span-id', SPAN]]],
  ];
  for (const [source, headers] of invalid) {
    test(`ignored and counted as context:${source}: ${headers.map(([n, v]) => `${n}: ${v}`).join('; ')}`, () => {
      const { context, stats } = extract(h(...headers));
      assert.equal(context, undefined);
      assert.equal(stats.parseErrors.get(`context:${source}`), 1);
      assert.equal(stats.parseErrors.total(), 1);
    });
  }

  test('a B3 sampling-only header ("0") is a decision, not a context, and not an error', () => {
    const { context, stats } = extract(h(['b3', '0']));
    assert.equal(context, undefined);
    assert.equal(stats.parseErrors.total(), 0);
  });

  test('no context headers: undefined, nothing counted', () => {
    const { context, stats } = extract(h(['host', 'example.com'], ['user-agent', 'curl/8']));
    assert.equal(context, undefined);
    assert.equal(stats.parseErrors.total(), 0);
  });

  test('the getter returns repeated headers as an array, single ones as a string', () => {
    const headers = h(['tracestate', 'a=1'], ['tracestate', 'b=2'], ['host', 'x']);
    assert.deepEqual(headerFieldsGetter.get(headers, 'tracestate'), ['a=1', 'b=2']);
    assert.equal(headerFieldsGetter.get(headers, 'Host'), 'x');
    assert.equal(headerFieldsGetter.get(headers, 'missing'), undefined);
  });

  test('property: arbitrary header sets never throw, and any result is well-formed', () => {
    const names = fc.constantFrom(
      'traceparent',
      'tracestate',
      'baggage',
      'b3',
      'x-b3-traceid',
      'x-b3-spanid',
      'x-b3-sampled',
      'x-b3-flags',
      'uber-trace-id',
      'uberctx-k',
      'x-request-id',
      'x-span-id',
      'host',
    );
    const hexish = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF-:%'.split('')), maxLength: 70 });
    const value = fc.oneof(fc.string({ maxLength: 80 }), hexish);
    fc.assert(
      fc.property(fc.array(fc.tuple(names, value), { maxLength: 12 }), (pairs) => {
        const stats = new Stats();
        const c = extractTraceContext(
          pairs.map(([name, v]) => ({ name, value: v })),
          stats,
        );
        if (c) {
          assert.match(c.traceId, /^[0-9a-f]{32}$/);
          assert.match(c.parentSpanId, /^[0-9a-f]{16}$/);
          assert.notEqual(c.traceId, '0'.repeat(32));
          assert.notEqual(c.parentSpanId, '0'.repeat(16));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
