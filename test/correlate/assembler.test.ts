import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { TraceAssembler } from '../../src/correlate/assembler.js';
import { Stats } from '../../src/model/stats.js';
import { hrDiffNanos } from '../../src/model/time.js';
import {
  assemble,
  at,
  byEnd,
  clientSpanOf,
  config,
  connection,
  exchange,
  parentId,
  serverSpanOf,
  serviceName,
  spanId,
  traceId,
  traceparent,
} from './exchange-factory.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const T2 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const P0 = '1111111111111111';
const PA = '00f067aa0ba902b7';
const PB = 'b7ad6b7169203331';

/**
 * curl → A (:3001) → B (:3002) → C (:3003), all on loopback as in a
 * developer's machine; A and B propagate W3C context, curl sends none
 * unless `entryParent` is given.
 */
function loopbackChain(options: { entryParent?: string; idSuffix?: string } = {}) {
  const s = options.idSuffix ?? '';
  const c0 = connection('127.0.0.1:40000', '127.0.0.1:3001', `c0${s}`);
  const c1 = connection('127.0.0.1:40001', '127.0.0.1:3002', `c1${s}`);
  const c2 = connection('127.0.0.1:40002', '127.0.0.1:3003', `c2${s}`);
  const entryHeaders: Record<string, string> = { host: 'localhost:3001', 'user-agent': 'curl/8.5.0' };
  if (options.entryParent) entryHeaders.traceparent = traceparent(T, options.entryParent);
  const exchanges = [
    exchange({ conn: c0, target: '/checkout', headers: entryHeaders, start: 0, end: 100 }),
    exchange({ conn: c1, target: '/orders/1234', headers: { host: 'localhost:3002', traceparent: traceparent(T, PA) }, start: 10, end: 80 }),
    exchange({ conn: c2, target: '/stock/sku-1', headers: { host: 'localhost:3003', traceparent: traceparent(T, PB) }, start: 20, end: 60 }),
  ];
  return { c0, c1, c2, exchanges: byEnd(exchanges) };
}

/** client 192.0.2.10 → frontend (10.0.0.1) → orders (10.0.0.2) → stock (10.0.0.3), no propagated context. */
function hostChain(idSuffix = '') {
  const c0 = connection('192.0.2.10:40000', '10.0.0.1:80', `h0${idSuffix}`);
  const c1 = connection('10.0.0.1:40001', '10.0.0.2:80', `h1${idSuffix}`);
  const c2 = connection('10.0.0.2:40002', '10.0.0.3:80', `h2${idSuffix}`);
  const exchanges = [
    exchange({ conn: c0, target: '/', headers: { host: 'frontend' }, start: 0, end: 100 }),
    exchange({ conn: c1, target: '/orders', headers: { host: 'orders' }, start: 10, end: 80 }),
    exchange({ conn: c2, target: '/stock', headers: { host: 'stock' }, start: 20, end: 60 }),
  ];
  return { c0, c1, c2, exchanges: byEnd(exchanges) };
}

function assertUniqueSpanIds(spans: ReadableSpan[]): void {
  const ids = spans.map(spanId);
  assert.equal(new Set(ids).size, ids.length, 'span ids are unique');
}

describe('span assembly: trees with propagated context', () => {
  test('three services: CLIENT span ids are the propagated parent ids, and parents form the call tree', () => {
    const { c0, c1, c2, exchanges } = loopbackChain();
    const { spans, stats } = assemble(exchanges);
    assert.equal(spans.length, 6);
    assertUniqueSpanIds(spans);
    for (const s of spans) assert.equal(traceId(s), T, `${s.name} joins the trace the services propagate`);

    const [s0, s1, s2] = [serverSpanOf(spans, c0), serverSpanOf(spans, c1), serverSpanOf(spans, c2)];
    const [k0, k1, k2] = [clientSpanOf(spans, c0), clientSpanOf(spans, c1), clientSpanOf(spans, c2)];
    assert.equal(spanId(k1), PA, 'A→B CLIENT span is the one A propagated');
    assert.equal(spanId(k2), PB);
    assert.equal(parentId(s1), PA);
    assert.equal(parentId(s2), PB);
    assert.equal(parentId(k1), spanId(s0), 'A calls B while serving the curl request');
    assert.equal(parentId(k2), spanId(s1), 'B calls C while serving A');
    assert.equal(parentId(s0), spanId(k0));
    assert.equal(parentId(k0), undefined, 'curl is the root');

    assert.equal(k1.attributes['wiretrace.link'], 'inferred', 'the enclosing server span had no context of its own');
    assert.equal(k2.attributes['wiretrace.link'], 'context');
    assert.equal(k0.attributes['wiretrace.link'], undefined);

    assert.deepEqual(
      [s0, s1, s2, k0, k1, k2].map(serviceName),
      ['localhost:3001', 'localhost:3002', 'localhost:3003', '127.0.0.1', 'localhost:3001', 'localhost:3002'],
    );
    assert.equal(k0.resource.attributes['wiretrace.service.kind'], 'external');
    assert.equal(k1.resource.attributes['wiretrace.service.kind'], undefined);
    assert.equal(k1.resource, s0.resource, 'one Resource object per service');

    assert.equal(s1.parentSpanContext?.isRemote, true);
    assert.equal(k1.parentSpanContext?.isRemote, false);
    assert.equal(stats.spans.get('emitted'), 6);
    assert.equal(stats.traces, 1);
  });

  test('an entry server span without incoming context adopts the trace its outgoing calls carry', () => {
    const { c0, exchanges } = loopbackChain();
    const { spans } = assemble(exchanges);
    assert.equal(traceId(serverSpanOf(spans, c0)), T);
    assert.equal(traceId(clientSpanOf(spans, c0)), T);
    assert.equal(serverSpanOf(spans, c0).attributes['wiretrace.context.source'], undefined);
  });

  test('with context at the entry too, every link is confirmed by context', () => {
    const { c0, c1, c2, exchanges } = loopbackChain({ entryParent: P0 });
    const { spans } = assemble(exchanges);
    assertUniqueSpanIds(spans);
    assert.equal(spanId(clientSpanOf(spans, c0)), P0);
    assert.equal(parentId(serverSpanOf(spans, c0)), P0);
    assert.equal(clientSpanOf(spans, c1).attributes['wiretrace.link'], 'context');
    assert.equal(clientSpanOf(spans, c2).attributes['wiretrace.link'], 'context');
    assert.equal(parentId(clientSpanOf(spans, c2)), spanId(serverSpanOf(spans, c1)));
  });

  test('same trace first: an enclosing server span of another trace is not the parent', () => {
    const { c1, c2, exchanges } = loopbackChain({ entryParent: P0 });
    // Another request, in another trace, in progress on the same loopback host all along.
    const other = connection('127.0.0.1:41000', '127.0.0.1:3009', 'other');
    const unrelated = exchange({ conn: other, headers: { traceparent: traceparent(T2, '2222222222222222') }, start: 5, end: 95 });
    const { spans } = assemble(byEnd([...exchanges, unrelated]));
    assert.equal(parentId(clientSpanOf(spans, c2)), spanId(serverSpanOf(spans, c1)));
    assert.equal(traceId(serverSpanOf(spans, other)), T2);
  });

  test('the innermost enclosing server span of the trace wins', () => {
    // A gateway calls A on loopback, and A calls C: both server exchanges enclose the call to C.
    const outer = connection('127.0.0.1:40000', '127.0.0.1:8000', 'outer');
    const inner = connection('127.0.0.1:40001', '127.0.0.1:3001', 'inner');
    const call = connection('127.0.0.1:40002', '127.0.0.1:3003', 'call');
    const { spans } = assemble(
      byEnd([
        exchange({ conn: outer, headers: { traceparent: traceparent(T, P0) }, start: 0, end: 100 }),
        exchange({ conn: inner, headers: { traceparent: traceparent(T, PA) }, start: 10, end: 90 }),
        exchange({ conn: call, headers: { traceparent: traceparent(T, PB) }, start: 20, end: 50 }),
      ]),
    );
    assert.equal(parentId(clientSpanOf(spans, call)), spanId(serverSpanOf(spans, inner)));
    assert.equal(parentId(clientSpanOf(spans, inner)), spanId(serverSpanOf(spans, outer)));
  });

  test('a proxy forwarding the context it received unchanged does not duplicate the CLIENT span id', () => {
    const c0 = connection('127.0.0.1:40000', '127.0.0.1:8080', 'to-proxy');
    const c1 = connection('127.0.0.1:40001', '127.0.0.1:3000', 'to-app');
    const headers = { traceparent: traceparent(T, P0) };
    const { spans } = assemble(
      byEnd([exchange({ conn: c0, headers, start: 0, end: 100 }), exchange({ conn: c1, headers, start: 5, end: 95 })]),
    );
    assertUniqueSpanIds(spans);
    assert.equal(spanId(clientSpanOf(spans, c0)), P0);
    assert.notEqual(spanId(clientSpanOf(spans, c1)), P0);
    assert.equal(parentId(clientSpanOf(spans, c1)), spanId(serverSpanOf(spans, c0)));
    assert.equal(parentId(serverSpanOf(spans, c1)), spanId(clientSpanOf(spans, c1)));
  });

  test('with CLIENT spans off, a proxied SERVER span is the child of the proxy, not a sibling under the propagated id', () => {
    const c0 = connection('127.0.0.1:40000', '127.0.0.1:8080', 'to-proxy-off');
    const c1 = connection('127.0.0.1:40001', '127.0.0.1:3000', 'to-app-off');
    const headers = { traceparent: traceparent(T, P0) };
    const { spans } = assemble(
      byEnd([exchange({ conn: c0, headers, start: 0, end: 100 }), exchange({ conn: c1, headers, start: 5, end: 95 })]),
      { spans: { clientSpans: false } },
    );
    assert.equal(parentId(serverSpanOf(spans, c0)), P0);
    assert.equal(parentId(serverSpanOf(spans, c1)), spanId(serverSpanOf(spans, c0)));
  });

  test('with CLIENT spans off, a SERVER span with context still has the propagated parent', () => {
    const { c0, c1, c2, exchanges } = loopbackChain();
    const { spans } = assemble(exchanges, { spans: { clientSpans: false } });
    assert.equal(spans.length, 3);
    assert.ok(spans.every((s) => s.kind === SpanKind.SERVER));
    assert.equal(parentId(serverSpanOf(spans, c1)), PA);
    assert.equal(parentId(serverSpanOf(spans, c2)), PB);
    assert.equal(parentId(serverSpanOf(spans, c0)), undefined);
    assert.ok(spans.every((s) => traceId(s) === T));
  });

  test('a server span that received no context but whose service started a new trace is cut from an enclosing trace', () => {
    // X (trace T) encloses E (no context) whose service calls F with trace T2: E heads T2.
    const x = connection('192.0.2.1:40000', '10.0.0.1:80', 'x');
    const e = connection('10.0.0.1:40001', '10.0.0.2:80', 'e');
    const f = connection('10.0.0.2:40002', '10.0.0.3:80', 'f');
    const { spans } = assemble(
      byEnd([
        exchange({ conn: x, headers: { traceparent: traceparent(T, P0) }, start: 0, end: 100 }),
        exchange({ conn: e, start: 10, end: 90 }),
        exchange({ conn: f, headers: { traceparent: traceparent(T2, PA) }, start: 20, end: 80 }),
      ]),
    );
    assert.equal(traceId(serverSpanOf(spans, e)), T2);
    assert.equal(parentId(clientSpanOf(spans, e)), undefined, 'no parent across traces');
    assert.equal(serviceName(clientSpanOf(spans, e)), '10.0.0.1:80', 'the call is still attributed to the service that made it');
    assert.equal(parentId(clientSpanOf(spans, f)), spanId(serverSpanOf(spans, e)));
    assert.equal(traceId(serverSpanOf(spans, x)), T);
  });
});

describe('span assembly: trees without context', () => {
  test('unambiguous calls are linked, marked inferred, and share the root trace id', () => {
    const { c0, c1, c2, exchanges } = hostChain();
    const { spans, stats } = assemble(exchanges);
    assertUniqueSpanIds(spans);
    const trace = traceId(serverSpanOf(spans, c0));
    assert.ok(spans.every((s) => traceId(s) === trace), 'children inherit the trace id of their root');
    assert.equal(parentId(clientSpanOf(spans, c1)), spanId(serverSpanOf(spans, c0)));
    assert.equal(parentId(clientSpanOf(spans, c2)), spanId(serverSpanOf(spans, c1)));
    assert.equal(clientSpanOf(spans, c1).attributes['wiretrace.link'], 'inferred');
    assert.equal(clientSpanOf(spans, c2).attributes['wiretrace.link'], 'inferred');
    assert.deepEqual(
      [c0, c1, c2].map((c) => serviceName(clientSpanOf(spans, c))),
      ['192.0.2.10', 'frontend', 'orders'],
    );
    assert.equal(stats.traces, 1);
  });

  test('with CLIENT spans off, an inferred link makes the SERVER span the child of the enclosing one', () => {
    const { c0, c1, exchanges } = hostChain();
    const { spans } = assemble(exchanges, { spans: { clientSpans: false } });
    assert.equal(parentId(serverSpanOf(spans, c1)), spanId(serverSpanOf(spans, c0)));
    assert.equal(serverSpanOf(spans, c1).attributes['wiretrace.link'], 'inferred');
  });

  test('ambiguity means no link: two enclosing server exchanges on the calling host', () => {
    const a = connection('192.0.2.1:40000', '10.0.0.1:80', 'a');
    const b = connection('192.0.2.2:40000', '10.0.0.1:80', 'b');
    const call = connection('10.0.0.1:40001', '10.0.0.2:80', 'call');
    const { spans } = assemble(
      byEnd([exchange({ conn: a, start: 0, end: 100 }), exchange({ conn: b, start: 5, end: 95 }), exchange({ conn: call, start: 20, end: 60 })]),
    );
    const k = clientSpanOf(spans, call);
    assert.equal(parentId(k), undefined);
    assert.equal(k.attributes['wiretrace.link'], undefined);
    assert.equal(serviceName(k), '10.0.0.1', 'unlinked: named by its address');
    assert.equal(k.resource.attributes['wiretrace.service.kind'], 'external');
    assert.notEqual(traceId(k), traceId(serverSpanOf(spans, a)));
  });

  test('on loopback, only the unique enclosing exchange is linked', () => {
    const lo = loopbackChain();
    const noContext = lo.exchanges.map((e) => ({ ...e, request: e.request && { ...e.request, headers: e.request.headers.filter((h) => h.name !== 'traceparent') } }));
    const { spans } = assemble(noContext);
    assert.equal(parentId(clientSpanOf(spans, lo.c1)), spanId(serverSpanOf(spans, lo.c0)), 'only the entry exchange encloses A→B');
    assert.equal(parentId(clientSpanOf(spans, lo.c2)), undefined, 'both the entry and A→B enclose B→C: ambiguous');
  });

  test('a call must lie within the server exchange: one ending after it is no candidate', () => {
    const s = connection('192.0.2.1:40000', '10.0.0.1:80', 's');
    const call = connection('10.0.0.1:40001', '10.0.0.2:80', 'late-call');
    const { spans } = assemble(byEnd([exchange({ conn: s, start: 0, end: 50 }), exchange({ conn: call, start: 40, end: 60 })]));
    assert.equal(parentId(clientSpanOf(spans, call)), undefined);
  });

  test('the same capture analysed twice gives the same ids and parents', () => {
    const describe = (spans: ReadableSpan[]) =>
      spans
        .map((s) => `${s.kind} ${s.name} ${traceId(s)} ${spanId(s)} ${parentId(s) ?? '-'} ${String(serviceName(s))}`)
        .sort()
        .join('\n');
    for (const make of [() => hostChain('-same').exchanges, () => loopbackChain({ idSuffix: '-same' }).exchanges]) {
      const first = describe(assemble(make()).spans);
      const second = describe(assemble(make()).spans);
      assert.equal(first, second);
    }
    // A different connection id is a different exchange: different ids.
    assert.notEqual(describe(assemble(hostChain('-x').exchanges).spans), describe(assemble(hostChain('-y').exchanges).spans));
  });
});

describe('span assembly: outcomes and status', () => {
  const conn = connection('10.0.0.1:40000', '10.0.0.2:8080', 'status');

  test('SERVER is an error for 5xx, CLIENT for 4xx and 5xx; others unset', () => {
    const cases: Array<[number, SpanStatusCode, SpanStatusCode]> = [
      [200, SpanStatusCode.UNSET, SpanStatusCode.UNSET],
      [302, SpanStatusCode.UNSET, SpanStatusCode.UNSET],
      [404, SpanStatusCode.UNSET, SpanStatusCode.ERROR],
      [503, SpanStatusCode.ERROR, SpanStatusCode.ERROR],
    ];
    for (const [status, server, client] of cases) {
      const { spans, stats } = assemble([exchange({ conn, status, start: 0, end: 10 })]);
      const s = serverSpanOf(spans, conn);
      const k = clientSpanOf(spans, conn);
      assert.equal(s.status.code, server, `SERVER for ${status}`);
      assert.equal(k.status.code, client, `CLIENT for ${status}`);
      assert.equal(s.attributes['error.type'], server === SpanStatusCode.ERROR ? String(status) : undefined);
      assert.equal(k.attributes['error.type'], client === SpanStatusCode.ERROR ? String(status) : undefined);
      assert.equal(s.attributes['http.response.status_code'], status);
      assert.equal(stats.errorSpans, (server === SpanStatusCode.ERROR ? 1 : 0) + (client === SpanStatusCode.ERROR ? 1 : 0));
    }
  });

  test('a timeout is an error "timeout" on both spans, lasting exactly the configured timeout', () => {
    const { spans } = assemble([exchange({ conn, outcome: 'timeout', start: 0, end: 0 })], { spans: { timeoutSeconds: 7.5 } });
    for (const s of spans) {
      assert.deepEqual(s.status, { code: SpanStatusCode.ERROR, message: 'timeout' });
      assert.equal(s.attributes['error.type'], 'timeout');
      assert.equal(s.attributes['wiretrace.outcome'], 'timeout');
      assert.equal(hrDiffNanos(s.endTime, s.startTime), 7.5e9);
    }
  });

  test('an incomplete exchange is emitted, marked, status unset', () => {
    const { spans } = assemble([exchange({ conn, outcome: 'incomplete', start: 0, end: 30 })]);
    assert.equal(spans.length, 2);
    for (const s of spans) {
      assert.equal(s.status.code, SpanStatusCode.UNSET);
      assert.equal(s.attributes['wiretrace.incomplete'], true);
      assert.equal(s.attributes['wiretrace.outcome'], 'incomplete');
      assert.equal(s.attributes['http.response.status_code'], undefined);
    }
  });

  test('an orphan response makes spans from the response alone, or is dropped and counted', () => {
    const orphan = exchange({ conn, outcome: 'orphan', status: 502, start: 10, end: 12 });
    const { spans } = assemble([orphan]);
    assert.equal(spans.length, 2);
    const s = serverSpanOf(spans, conn);
    assert.equal(s.attributes['wiretrace.outcome'], 'orphan');
    assert.equal(s.attributes['http.response.status_code'], 502);
    assert.equal(s.attributes['http.request.method'], undefined);
    assert.equal(s.status.code, SpanStatusCode.ERROR);
    assert.equal(s.name, 'HTTP');
    assert.equal(serviceName(s), '10.0.0.2:8080');

    const dropped = assemble([orphan], { spans: { dropOrphans: true } });
    assert.equal(dropped.spans.length, 0);
    assert.equal(dropped.stats.spans.get('orphan-dropped'), 2);
  });

  test('filtered exchanges produce no spans and are counted', () => {
    const { spans, stats } = assemble(
      [exchange({ conn, target: '/health', start: 0, end: 1 }), exchange({ conn, seq: 1, target: '/api', start: 2, end: 3 })],
      { filters: { excludePaths: ['/health'] } },
    );
    assert.deepEqual(
      spans.map((s) => s.name),
      ['GET /api', 'GET /api'],
    );
    assert.equal(stats.spans.get('filtered'), 2);
    assert.equal(stats.spans.get('emitted'), 2);
    const ports = assemble([exchange({ conn, start: 0, end: 1 })], { filters: { excludePorts: [8080] } });
    assert.equal(ports.spans.length, 0);
  });
});

describe('span assembly: names and attributes', () => {
  test('semantic-convention attributes on SERVER and CLIENT spans', () => {
    const conn = connection('10.0.0.1:40000', '10.0.0.2:8080', 'attrs');
    const { spans } = assemble(
      [
        exchange({
          conn,
          method: 'POST',
          target: '/users/42/orders?page=2',
          version: 'HTTP/1.0',
          headers: [
            ['host', 'Shop.Example:8080'],
            ['user-agent', 'test-agent/1'],
            ['x-tenant', 'a'],
            ['x-tenant', 'b'],
            ['traceparent', traceparent(T, PA)],
            ['baggage', 'tenant=acme,session_id=s3cr3t'],
          ],
          responseHeaders: { 'content-type': 'application/json' },
          status: 201,
          requestBodySize: 17,
          responseBodySize: 230,
          requestTruncated: true,
          interim: [100],
          start: 0,
          end: 5,
        }),
      ],
      { spans: { recordRequestHeaders: ['x-tenant'], recordResponseHeaders: ['content-type'] } },
    );
    const s = serverSpanOf(spans, conn);
    const k = clientSpanOf(spans, conn);
    assert.equal(s.name, 'POST /users/:id/orders');
    assert.equal(k.name, 'POST /users/:id/orders');
    assert.deepEqual(
      { ...s.attributes },
      {
        'http.request.method': 'POST',
        'url.scheme': 'http',
        'server.address': 'shop.example',
        'server.port': 8080,
        'url.path': '/users/42/orders',
        'url.query': 'page=2',
        'http.route': '/users/:id/orders',
        'user_agent.original': 'test-agent/1',
        'http.request.body.size': 17,
        'http.request.header.x-tenant': ['a', 'b'],
        'network.protocol.name': 'http',
        'network.protocol.version': '1.0',
        'http.response.status_code': 201,
        'http.response.body.size': 230,
        'http.response.header.content-type': ['application/json'],
        'wiretrace.outcome': 'complete',
        'wiretrace.truncated': true,
        'wiretrace.context.source': 'w3c',
        'wiretrace.connection.id': 'attrs',
        'client.address': '10.0.0.1',
        'client.port': 40000,
        'network.peer.address': '10.0.0.1',
        'network.peer.port': 40000,
        'baggage.tenant': 'acme',
        'baggage.session_id': 'REDACTED',
      },
    );
    assert.equal(k.attributes['url.full'], 'http://shop.example:8080/users/42/orders?page=2');
    assert.equal(k.attributes['url.template'], '/users/:id/orders');
    assert.equal(k.attributes['network.peer.address'], '10.0.0.2');
    assert.equal(k.attributes['network.peer.port'], 8080);
    assert.equal(k.attributes['client.address'], undefined);
    assert.equal(k.attributes['http.route'], undefined);
    assert.equal(k.attributes['baggage.tenant'], undefined, 'baggage goes on the SERVER span');
    assert.deepEqual(
      s.events.map((e) => [e.name, e.attributes?.['http.response.status_code']]),
      [['http.response.interim', 100]],
    );
    assert.deepEqual(s.instrumentationScope, { name: 'wiretrace', version: '9.9.9-test' });
  });

  test('unknown methods are _OTHER with the original kept, and the span is named HTTP', () => {
    const conn = connection('10.0.0.1:40000', '10.0.0.2:80', 'purge');
    const { spans } = assemble([exchange({ conn, method: 'PURGE', target: '/cache/x', start: 0, end: 1 })]);
    const s = serverSpanOf(spans, conn);
    assert.equal(s.attributes['http.request.method'], '_OTHER');
    assert.equal(s.attributes['http.request.method_original'], 'PURGE');
    assert.equal(s.name, 'HTTP /cache/x');
  });

  test('configured routes name spans', () => {
    const conn = connection('10.0.0.1:40000', '10.0.0.2:80', 'routes');
    const { spans } = assemble([exchange({ conn, target: '/api/v1/users/alice', start: 0, end: 1 })], { routes: ['/api/v1/users/:name'] });
    assert.equal(serverSpanOf(spans, conn).name, 'GET /api/v1/users/:name');
  });

  test('service mappings name both ends (CIDR, IPv6)', () => {
    const conn = connection('[2001:db8::5]:40000', '[2001:db8:1::9]:443', 'v6');
    const { spans } = assemble([exchange({ conn, headers: { host: 'ignored.example' }, start: 0, end: 1 })], {
      services: {
        mappings: [
          { match: '2001:db8::/32', name: 'v6-clients' },
          { match: '[2001:db8:1::9]:443', name: 'edge' },
        ],
      },
    });
    assert.equal(serviceName(serverSpanOf(spans, conn)), 'edge');
    assert.equal(serviceName(clientSpanOf(spans, conn)), 'v6-clients');
    assert.equal(clientSpanOf(spans, conn).resource.attributes['wiretrace.service.kind'], undefined);
  });
});

describe('span assembly: secrets never leave', () => {
  test('no Authorization, Cookie or token value anywhere in the exported spans', () => {
    const conn = connection('10.0.0.1:40000', '10.0.0.2:80', 'secrets');
    const { spans } = assemble(
      [
        exchange({
          conn,
          target: '/callback?code=SECRET-Q1&state=ok&API_Key=SECRET-Q2',
          headers: {
            host: 'app',
            authorization: 'Bearer SECRET-A',
            'proxy-authorization': 'Basic SECRET-P',
            cookie: 'sid=SECRET-C',
            'x-tenant': 'acme',
          },
          responseHeaders: { 'set-cookie': 'sid=SECRET-S; HttpOnly' },
          start: 0,
          end: 1,
        }),
        exchange({
          conn,
          seq: 1,
          target: 'http://bob:SECRET-U@proxy.example/p?password=SECRET-Q3',
          start: 2,
          end: 3,
        }),
      ],
      {
        spans: {
          recordRequestHeaders: ['Authorization', 'cookie', 'proxy-authorization', 'x-tenant'],
          recordResponseHeaders: ['set-cookie'],
        },
      },
    );
    const json = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
    assert.doesNotMatch(json, /SECRET/);
    const s = serverSpanOf(spans, conn);
    assert.equal(s.attributes['url.query'], 'code=REDACTED&state=ok&API_Key=REDACTED');
    assert.deepEqual(s.attributes['http.request.header.x-tenant'], ['acme']);
    assert.equal(clientSpanOf(spans, conn).attributes['url.full'], 'http://app/callback?code=REDACTED&state=ok&API_Key=REDACTED');
    assert.equal(clientSpanOf(spans, conn, 1).attributes['url.full'], 'http://proxy.example/p?password=REDACTED');
  });
});

describe('span assembly: streaming and bounded memory', () => {
  test('trees are held until capture time passes their end + linkWindowSeconds, then emitted whole', () => {
    const { exchanges } = hostChain('-stream');
    const stats = new Stats();
    const batches: ReadableSpan[][] = [];
    const a = new TraceAssembler({ config: config({ spans: { linkWindowSeconds: 1 } }), stats, onSpans: (s) => batches.push(s), scopeVersion: 't' });
    for (const e of exchanges) a.onExchange(e);
    assert.equal(batches.length, 0);
    const rootEnd = at(100);
    a.onTick(rootEnd[0], rootEnd[1] + 900_000_000);
    assert.equal(batches.length, 0, 'still within the window of the root');
    a.onTick(rootEnd[0] + 1, rootEnd[1] + 200_000_000);
    assert.equal(batches.length, 1);
    assert.equal(batches[0].length, 6, 'the whole tree at once');
    assert.equal(a.heldCount, 0);
    a.finish();
    assert.equal(batches.length, 1, 'nothing left for finish');
  });

  test('an exchange arriving after capture time moved on is decided at once', () => {
    const stats = new Stats();
    const batches: ReadableSpan[][] = [];
    const a = new TraceAssembler({ config: config({ spans: { linkWindowSeconds: 1 } }), stats, onSpans: (s) => batches.push(s), scopeVersion: 't' });
    const late = connection('10.0.0.1:1', '10.0.0.2:2', 'late');
    const t = at(10_000);
    a.onTick(t[0], t[1]);
    a.onExchange(exchange({ conn: late, start: 0, end: 1 }));
    assert.equal(batches.flat().length, 2);
  });

  test('beyond maxHeldExchanges the oldest are emitted early and counted', () => {
    const stats = new Stats();
    const spans: ReadableSpan[] = [];
    const a = new TraceAssembler({ config: config({ limits: { maxHeldExchanges: 3 } }), stats, onSpans: (s) => spans.push(...s), scopeVersion: 't' });
    for (let i = 0; i < 10; i++) {
      const c = connection(`192.0.2.${i + 1}:40000`, `10.0.1.${i + 1}:80`, `bounded-${i}`);
      a.onExchange(exchange({ conn: c, start: i * 10, end: i * 10 + 5 }));
      assert.ok(a.heldCount <= 3, `held ${a.heldCount} after ${i + 1}`);
    }
    assert.equal(stats.drops.get('max-held-exchanges'), 7);
    assert.equal(spans.length, 14);
    a.finish();
    assert.equal(spans.length, 20);
    assert.equal(stats.spans.get('emitted'), 20);
    assert.equal(stats.traces, 10);
  });

  test('an early-emitted parent is still the parent of calls decided later', () => {
    const stats = new Stats();
    const spans: ReadableSpan[] = [];
    const a = new TraceAssembler({ config: config({ limits: { maxHeldExchanges: 2 } }), stats, onSpans: (s) => spans.push(...s), scopeVersion: 't' });
    const { c0, c1, exchanges } = hostChain('-early');
    for (const e of exchanges) a.onExchange(e);
    const filler = connection('198.51.100.1:1', '198.51.100.2:80', 'filler');
    a.onExchange(exchange({ conn: filler, start: 200, end: 210 }));
    a.finish();
    assert.ok(stats.drops.get('max-held-exchanges') > 0);
    assert.equal(parentId(clientSpanOf(spans, c1)), spanId(serverSpanOf(spans, c0)));
    assert.equal(traceId(clientSpanOf(spans, c1)), traceId(serverSpanOf(spans, c0)));
  });
});

describe('span assembly: OTLP', () => {
  test('spans serialise with the OpenTelemetry OTLP/JSON serializer', () => {
    const { c1, exchanges } = loopbackChain({ idSuffix: '-otlp' });
    const { spans } = assemble(exchanges);
    const json = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans))) as {
      resourceSpans: Array<{
        resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
        scopeSpans: Array<{
          scope: { name: string; version: string };
          spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; kind: number; name: string; startTimeUnixNano: string; endTimeUnixNano: string; attributes: unknown[] }>;
        }>;
      }>;
    };
    const services = json.resourceSpans.map((r) => r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue).sort();
    assert.deepEqual(services, ['127.0.0.1', 'localhost:3001', 'localhost:3002', 'localhost:3003']);
    const all = json.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    assert.equal(all.length, 6);
    for (const r of json.resourceSpans) for (const s of r.scopeSpans) assert.deepEqual(s.scope, { name: 'wiretrace', version: '9.9.9-test' });
    for (const s of all) {
      assert.match(s.traceId, /^[0-9a-f]{32}$/);
      assert.match(s.spanId, /^[0-9a-f]{16}$/);
      if (s.parentSpanId) assert.match(s.parentSpanId, /^[0-9a-f]{16}$/);
      assert.match(s.startTimeUnixNano, /^\d{19}$/);
      assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano));
      assert.ok(s.kind === 2 || s.kind === 3, 'SPAN_KIND_SERVER or SPAN_KIND_CLIENT');
    }
    const b = serverSpanOf(spans, c1);
    const wireB = all.find((s) => s.spanId === spanId(b));
    assert.equal(wireB?.parentSpanId, PA);
    assert.equal(wireB?.kind, 2);
    assert.equal(wireB?.startTimeUnixNano, '1700000000010000000');
    assert.equal(all.find((s) => s.spanId === PA)?.kind, 3);
  });
});
