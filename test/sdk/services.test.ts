import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOneTrace, byKind, get, OtlpReceiver, SERVICE, startChain, type Child } from './helpers.js';

// Real services in their own processes call each other over loopback; their
// spans are checked where they arrive, at an OTLP receiver.

describe('Express → Fastify → node:http over loopback (W3C tracecontext, the default)', () => {
  let receiver: OtlpReceiver;
  let children: Child[];
  before(async () => {
    receiver = await OtlpReceiver.start();
    children = await startChain(SERVICE, receiver, ['express', 'fastify', 'http']);
  });
  after(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await receiver.close();
  });

  test('one trace, parentage hop by hop, route templates, statuses, client attributes', async () => {
    receiver.clear();
    const res = await get(`http://127.0.0.1:${children[0].port}/hop/42`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { service: 'express', id: '42', downstream: { service: 'fastify', id: '42', downstream: { service: 'http', id: '42' } } });
    const spans = await receiver.waitFor((s) => s.length >= 5);
    assertOneTrace(spans, ['svc-express', 'svc-fastify', 'svc-http']);
    for (const service of ['svc-express', 'svc-fastify', 'svc-http']) {
      const server = byKind(spans, service, 'SERVER');
      assert.equal(server.name, 'GET /hop/:id', `${service} span named by the route template`);
      assert.equal(server.attributes['http.route'], '/hop/:id');
      assert.equal(server.attributes['url.path'], '/hop/42');
      assert.equal(server.attributes['http.request.method'], 'GET');
      assert.equal(server.attributes['http.response.status_code'], 200);
      assert.equal(server.attributes['network.peer.address'], '127.0.0.1');
      assert.equal(server.resource['deployment.environment.name'], 'development');
      assert.equal(server.resource['service.version'], '1.0.0');
      assert.equal(server.scope, 'wiretrace-sdk');
    }
    const fetchClient = byKind(spans, 'svc-express', 'CLIENT');
    assert.equal(fetchClient.name, 'GET');
    assert.equal(fetchClient.attributes['url.full'], `http://127.0.0.1:${children[1].port}/hop/42`);
    assert.equal(fetchClient.attributes['http.response.status_code'], 200);
    const requestClient = byKind(spans, 'svc-fastify', 'CLIENT');
    assert.equal(requestClient.attributes['server.port'], children[2].port);
    assert.equal(requestClient.attributes['http.response.status_code'], 200);
  });

  test('an incoming traceparent is joined: the first SERVER span is its child', async () => {
    receiver.clear();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await get(`http://127.0.0.1:${children[1].port}/hop/9`, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    const spans = await receiver.waitFor((s) => s.length >= 3);
    assert.ok(spans.every((s) => s.traceId === traceId));
    assert.equal(byKind(spans, 'svc-fastify', 'SERVER').parentSpanId, '00f067aa0ba902b7');
  });

  test('an unsampled parent is followed: nothing of that trace is exported anywhere down the chain', async () => {
    receiver.clear();
    const unsampled = '5bf92f3577b34da6a3ce929d0e0e4736';
    const res = await get(`http://127.0.0.1:${children[0].port}/hop/1`, { traceparent: `00-${unsampled}-00f067aa0ba902b7-00` });
    assert.equal(res.status, 200);
    // A sampled request afterwards proves the exporters were live while the unsampled one went by.
    await get(`http://127.0.0.1:${children[0].port}/hop/2`);
    const spans = await receiver.waitFor((s) => s.length >= 5);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(spans.length, 5);
    assert.ok(spans.every((s) => s.traceId !== unsampled));
  });

  test('a handler that throws: the SERVER span is an error carrying the exception', async () => {
    receiver.clear();
    const res = await get(`http://127.0.0.1:${children[0].port}/fail`);
    assert.equal(res.status, 500);
    const [span] = await receiver.waitFor((s) => s.length >= 1);
    assert.equal(span.status, 'ERROR');
    assert.equal(span.attributes['http.response.status_code'], 500);
    assert.equal(span.attributes['http.route'], '/fail');
    assert.equal(span.attributes['error.type'], 'Error');
    const exception = span.events.find((e) => e.name === 'exception');
    assert.equal(exception?.attributes['exception.message'], 'express handler failed');
  });

  test('a 404 of Fastify is a SERVER span without error (only 5xx is a server error)', async () => {
    receiver.clear();
    const res = await get(`http://127.0.0.1:${children[1].port}/nowhere`);
    assert.equal(res.status, 404);
    const [span] = await receiver.waitFor((s) => s.length >= 1);
    assert.equal(span.attributes['http.response.status_code'], 404);
    assert.equal(span.status, 'UNSET');
  });
});
