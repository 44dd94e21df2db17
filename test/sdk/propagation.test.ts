import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { propagation, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { headers as natsHeaders } from 'nats';
import { extractTraceContext } from '../../src/correlate/context.js';
import { Stats } from '../../src/model/stats.js';
import { createPropagator, extractFrom, injectInto, type PropagatorName } from '../../src/sdk/index.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

function sampledContext(traceFlags = TraceFlags.SAMPLED): Context {
  const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: SPAN, traceFlags });
  return propagation.setBaggage(ctx, propagation.createBaggage({ tenant: { value: 'acme' } }));
}

function ids(ctx: Context): [string, string, number] | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc ? [sc.traceId, sc.spanId, sc.traceFlags] : undefined;
}

/** The agent's reading of the same headers, as the wire would carry them. */
function agentReads(headers: Record<string, unknown>): ReturnType<typeof extractTraceContext> {
  const fields = Object.entries(headers).map(([name, value]) => ({ name: name.toLowerCase(), value: String(value) }));
  return extractTraceContext(fields, new Stats());
}

describe('propagators', () => {
  const cases: Array<[PropagatorName, string[], string]> = [
    ['tracecontext', ['traceparent'], 'w3c'],
    ['b3', ['b3'], 'b3'],
    ['b3multi', ['x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled'], 'b3multi'],
    ['jaeger', ['uber-trace-id', 'uberctx-tenant'], 'jaeger'],
    ['splunk', ['x-request-id', 'x-span-id'], 'splunk'],
  ];
  for (const [name, fields, source] of cases) {
    test(`${name}: injects ${fields.join(', ')}, extracts the same ids, and the wire agent reads them as ${source}`, () => {
      const propagator = createPropagator([name]);
      const headers: Record<string, unknown> = {};
      injectInto(propagator, headers, sampledContext());
      assert.deepEqual(Object.keys(headers).sort(), [...fields].sort());
      assert.deepEqual(ids(extractFrom(propagator, headers, ROOT_CONTEXT)), [TRACE, SPAN, TraceFlags.SAMPLED]);
      const wire = agentReads(headers);
      assert.equal(wire?.source, source);
      assert.equal(wire?.traceId, TRACE);
      assert.equal(wire?.parentSpanId, SPAN);
    });
  }

  test('splunk: what the agent accepts (a UUID request id, upper case) the SDK extracts to the same ids; malformed ids are ignored', () => {
    const propagator = createPropagator(['splunk']);
    const headers = { 'X-Request-ID': '0AF76519-16CD-43DD-8448-EB211C80319C', 'X-Span-ID': 'B7AD6B7169203331' };
    assert.deepEqual(ids(extractFrom(propagator, headers, ROOT_CONTEXT))?.slice(0, 2), [TRACE, SPAN]);
    const wire = agentReads(headers);
    assert.deepEqual([wire?.traceId, wire?.parentSpanId], [TRACE, SPAN]);
    for (const bad of [
      { 'x-request-id': 'req-1234', 'x-span-id': SPAN },
      { 'x-request-id': TRACE, 'x-span-id': 'xyz' },
      { 'x-request-id': '0'.repeat(32), 'x-span-id': SPAN },
      { 'x-request-id': TRACE },
    ]) {
      assert.equal(trace.getSpanContext(extractFrom(propagator, bad, ROOT_CONTEXT)), undefined, JSON.stringify(bad));
      assert.equal(agentReads(bad), undefined);
    }
  });

  test('the default pair carries W3C tracecontext with its flags and baggage; an unsampled context stays unsampled', () => {
    const propagator = createPropagator(['tracecontext', 'baggage']);
    const headers: Record<string, unknown> = {};
    injectInto(propagator, headers, sampledContext(TraceFlags.NONE));
    assert.equal(headers.traceparent, `00-${TRACE}-${SPAN}-00`);
    assert.equal(headers.baggage, 'tenant=acme');
    const back = extractFrom(propagator, headers, ROOT_CONTEXT);
    assert.deepEqual(ids(back), [TRACE, SPAN, TraceFlags.NONE]);
    assert.equal(propagation.getBaggage(back)?.getEntry('tenant')?.value, 'acme');
    assert.equal(agentReads(headers)?.baggage?.tenant, 'acme');
  });

  test("'none' propagates nothing", () => {
    const headers: Record<string, unknown> = {};
    injectInto(createPropagator(['none']), headers, sampledContext());
    assert.deepEqual(headers, {});
  });
});

describe('carriers', () => {
  const propagator = createPropagator(['tracecontext', 'baggage', 'b3multi']);

  test('fetch Headers', () => {
    const headers = new Headers({ accept: 'application/json' });
    injectInto(propagator, headers, sampledContext());
    assert.equal(headers.get('traceparent'), `00-${TRACE}-${SPAN}-01`);
    assert.equal(headers.get('X-B3-TraceId'), TRACE);
    assert.deepEqual(ids(extractFrom(propagator, headers, ROOT_CONTEXT)), [TRACE, SPAN, 1]);
  });

  test('NATS message headers', () => {
    const h = natsHeaders();
    injectInto(propagator, h, sampledContext());
    assert.equal(h.get('traceparent'), `00-${TRACE}-${SPAN}-01`);
    assert.deepEqual(ids(extractFrom(propagator, h, ROOT_CONTEXT)), [TRACE, SPAN, 1]);
  });

  test('plain message header maps: any case, Buffer values (AMQP long strings)', () => {
    const carrier = { TraceParent: Buffer.from(`00-${TRACE}-${SPAN}-01`), 'content-type': 'x' };
    assert.deepEqual(ids(extractFrom(propagator, carrier, ROOT_CONTEXT)), [TRACE, SPAN, 1]);
    assert.equal(trace.getSpanContext(extractFrom(propagator, undefined, ROOT_CONTEXT)), undefined);
    assert.equal(trace.getSpanContext(extractFrom(propagator, { traceparent: 'garbage' }, ROOT_CONTEXT)), undefined);
  });

  test('Node request headers as a real server receives them, and Node request options headers as a real client sends them', async () => {
    let received: http.IncomingHttpHeaders = {};
    const server = http.createServer((req, res) => {
      received = req.headers;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const outgoing: Record<string, unknown> = { 'user-agent': 'test' };
    injectInto(propagator, outgoing, sampledContext());
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, headers: outgoing as http.OutgoingHttpHeaders, agent: false }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
    server.close();
    assert.deepEqual(ids(extractFrom(propagator, received, ROOT_CONTEXT)), [TRACE, SPAN, 1]);
    assert.equal(propagation.getBaggage(extractFrom(propagator, received, ROOT_CONTEXT))?.getEntry('tenant')?.value, 'acme');
  });
});
