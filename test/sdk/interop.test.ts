import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOneTrace, byKind, get, OtlpReceiver, SERVICE, startChain, type Child } from './helpers.js';

// The same chain with B3 headers, a chain through a service that plain
// OpenTelemetry JS traces (no wiretrace code), and Koa.

describe('propagation across services and SDKs', () => {
  let receiver: OtlpReceiver;
  let b3: Child[];
  let mixed: Child[];
  before(async () => {
    receiver = await OtlpReceiver.start();
    [b3, mixed] = await Promise.all([
      startChain(SERVICE, receiver, ['express', 'fastify', 'http'], { OTEL_PROPAGATORS: 'b3' }),
      startChain(SERVICE, receiver, ['koa', 'otel', 'express'], { OTEL_PROPAGATORS: 'b3multi' }),
    ]);
  });
  after(async () => {
    await Promise.all([...b3, ...mixed].map((c) => c.stop()));
    await receiver.close();
  });

  test('B3 single header: Express → Fastify → node:http is one trace, parented hop by hop', async () => {
    receiver.clear();
    const res = await get(`http://127.0.0.1:${b3[0].port}/hop/3`);
    assert.equal(res.status, 200);
    assertOneTrace(await receiver.waitFor((s) => s.length >= 5), ['svc-express', 'svc-fastify', 'svc-http']);
  });

  test('B3 single header from outside is joined', async () => {
    receiver.clear();
    await get(`http://127.0.0.1:${b3[2].port}/hop/3`, { b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' });
    const [span] = await receiver.waitFor((s) => s.length >= 1);
    assert.equal(span.traceId, '80f198ee56343ba864fe8b2a57d3eff7');
    assert.equal(span.parentSpanId, 'e457b5a2e4d86bd1');
  });

  test('B3 multi header through a plain-OpenTelemetry service: Koa (wiretrace) → otel → Express (wiretrace) is one trace', async () => {
    receiver.clear();
    const res = await get(`http://127.0.0.1:${mixed[0].port}/hop/8`);
    assert.equal(res.status, 200);
    const spans = await receiver.waitFor((s) => s.length >= 5);
    assertOneTrace(spans, ['svc-koa', 'svc-otel', 'svc-express']);
    assert.equal(byKind(spans, 'svc-otel', 'SERVER').scope, '@opentelemetry/instrumentation-http');
    assert.equal(byKind(spans, 'svc-koa', 'SERVER').name, 'GET /hop/:id');
  });
});
