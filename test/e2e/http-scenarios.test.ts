import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpanStatusCode } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { analyzeFile, serviceOf, SERVER, CLIENT } from '../helpers/analyze.js';

/** Scenario by scenario, on captures recorded from real programs (test/fixtures/http/record.sh). */
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/http/${name}`, import.meta.url));
const expectedOf = (name: string) =>
  JSON.parse(readFileSync(fixture(`${name}.expected.json`), 'utf8')) as {
    server: { address: string; port: number };
    exchanges: Array<{ method: string; path: string; status: number | null; responseBodyBytes?: number; label?: string; expectedContext?: null | { traceId: string; parentSpanId: string; sampled?: boolean; source: string; traceState?: string; baggage?: Record<string, string> } }>;
    properties: Record<string, unknown>;
  };
const servers = (spans: ReadableSpan[]) => spans.filter((s) => s.kind === SERVER);
// Pipelined requests share a start (one packet): their ends tell them apart.
const byStart = (a: ReadableSpan, b: ReadableSpan) =>
  a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1] || a.endTime[0] - b.endTime[0] || a.endTime[1] - b.endTime[1];

describe('secrets never leave (nginx-static: Authorization, Cookie, Set-Cookie, ?token=)', () => {
  test('no secret value appears anywhere in the exported OTLP, and the token is replaced', async () => {
    const { spans } = await analyzeFile(fixture('nginx-static.pcap'), {
      spans: { recordRequestHeaders: ['authorization', 'cookie', 'user-agent'], recordResponseHeaders: ['set-cookie', 'content-type'] },
    });
    const otlp = Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString();
    // The secrets as they are on the wire, read from the capture's raw bytes.
    const raw = readFileSync(fixture('nginx-static.pcap')).toString('latin1');
    const secrets = [...raw.matchAll(/^(?:authorization|cookie|set-cookie): *([^\r\n]+)/gim)].flatMap((m) => m[1].split(/[;,] */));
    secrets.push('abc123');
    assert.ok(secrets.length >= 4, `the capture holds secrets: ${secrets.join(' | ')}`);
    for (const secret of secrets.map((x) => x.replace(/^(Bearer|[\w-]+=)/, '').trim()).filter((x) => x.length >= 6)) {
      assert.ok(!otlp.includes(secret), `${secret} leaked into the export`);
    }
    assert.doesNotMatch(otlp, /http\.(request|response)\.header\.(authorization|cookie|set-cookie)/);
    const withQuery = servers(spans).find((s) => s.attributes['url.query'] !== undefined);
    assert.equal(withQuery?.attributes['url.query'], 'token=REDACTED&page=2');
  });
});

describe('HTTP/1.x framing on the wire', () => {
  test('expect-continue: the 100 interim response belongs to the one exchange', async () => {
    const { spans } = await analyzeFile(fixture('expect-continue.pcap'));
    const s = servers(spans);
    assert.equal(s.length, 1);
    assert.equal(s[0].attributes['http.response.status_code'], 200);
    assert.equal(s[0].attributes['http.request.body.size'], 4000);
  });

  test('pipelining: five requests in one write, responses matched in order', async () => {
    const { spans } = await analyzeFile(fixture('pipelining.pcap'));
    const expected = expectedOf('pipelining').exchanges;
    const found = servers(spans).sort(byStart);
    assert.deepEqual(
      found.map((s) => `${s.attributes['http.request.method']} ${s.attributes['url.path']} ${s.attributes['http.response.status_code']}`),
      expected.map((e) => `${e.method} ${e.path} ${e.status}`),
    );
    assert.equal(new Set(found.map((s) => s.attributes['wiretrace.connection.id'])).size, 1);
  });

  test('upgrade and CONNECT: exchanges up to the switch, nothing parsed after it', async () => {
    const { spans, stats } = await analyzeFile(fixture('upgrade-connect.pcap'));
    const found = servers(spans).map((s) => `${s.attributes['http.request.method']} ${s.attributes['http.response.status_code']}`).sort();
    assert.deepEqual(found, ['CONNECT 200', 'GET 101', 'GET 200']);
    assert.equal(stats.parseErrors.total(), 0, JSON.stringify(stats.parseErrors.toJSON()));
  });

  test('snaplen 96: what can be read is reported, truncation is counted, nothing is invented', async () => {
    const { spans, stats } = await analyzeFile(fixture('snaplen.pcap'));
    const truth = expectedOf('snaplen').exchanges;
    assert.ok(stats.truncatedMessages > 0, 'truncation is counted');
    assert.ok(stats.gapBytes > 0);
    const found = servers(spans);
    assert.ok(found.length > 0, 'request lines that fit in the snaplen still give spans');
    for (const s of found) {
      assert.equal(s.attributes['wiretrace.truncated'], true, `${s.name} is marked truncated`);
      const method = s.attributes['http.request.method'];
      const path = s.attributes['url.path'];
      if (method !== undefined && path !== undefined) {
        assert.ok(truth.some((e) => e.method === method && e.path.split('?')[0] === path), `${method} ${path} was really sent`);
      }
      const status = s.attributes['http.response.status_code'];
      if (status !== undefined) assert.ok(truth.some((e) => e.status === status), `status ${status} was really sent`);
    }
  });

  test('non-HTTP connections (Redis, PostgreSQL, TLS) are recognised, skipped and counted', async () => {
    const { spans, stats } = await analyzeFile(fixture('non-http.pcap'));
    const props = expectedOf('non-http').properties;
    assert.equal(spans.length, 0);
    assert.equal(stats.protocols.get('tls'), props.tlsConnections);
    assert.equal(stats.protocols.get('unknown'), Number(props.redisConnections) + Number(props.postgresConnections));
    assert.equal(stats.protocols.get('http1'), 0);
  });

  test('IPv6: addresses are reported in RFC 5952 form', async () => {
    const { spans } = await analyzeFile(fixture('ipv6.pcap'));
    assert.equal(servers(spans).length, expectedOf('ipv6').exchanges.length);
    for (const s of servers(spans)) {
      assert.equal(s.attributes['client.address'], '::1');
      assert.equal(s.attributes['network.peer.address'], '::1');
    }
  });

  test('reordered: real losses and late retransmissions reassemble into every exchange', async () => {
    const { spans, stats } = await analyzeFile(fixture('reordered.pcap'));
    const expected = expectedOf('reordered').exchanges.map((e) => `${e.method} ${e.path.split('?')[0]} ${e.status} ${e.responseBodyBytes}`).sort();
    const found = servers(spans).map((s) => `${s.attributes['http.request.method']} ${s.attributes['url.path']} ${s.attributes['http.response.status_code']} ${s.attributes['http.response.body.size']}`).sort();
    assert.deepEqual(found, expected);
    assert.ok(stats.tcp.get('retransmission') + stats.tcp.get('out-of-order') > 0, `TCP repair was needed: ${JSON.stringify(stats.tcp.toJSON())}`);
    assert.equal(stats.gapBytes, 0);
  });
});

describe('capture boundaries and time', () => {
  test('midstream: no handshake, capture starts inside a request body — roles inferred, the cut exchange is an orphan', async () => {
    const { spans } = await analyzeFile(fixture('midstream.pcap'));
    const truth = expectedOf('midstream');
    const partial = Number(truth.properties.partiallyVisibleExchangeIndex);
    const visible = truth.exchanges.slice(partial + 1);
    const found = servers(spans);
    const complete = found.filter((s) => s.attributes['wiretrace.outcome'] === 'complete').sort(byStart);
    assert.deepEqual(
      complete.map((s) => `${s.attributes['http.request.method']} ${s.attributes['url.path']} ${s.attributes['http.response.status_code']}`),
      visible.map((e) => `${e.method} ${e.path.split('?')[0]} ${e.status}`),
    );
    const orphans = found.filter((s) => s.attributes['wiretrace.outcome'] === 'orphan');
    assert.equal(orphans.length, 1);
    assert.equal(orphans[0].attributes['http.response.status_code'], truth.exchanges[partial].status);
    for (const s of found) assert.equal(s.attributes['server.port'], truth.server.port, 'the server side was inferred correctly');
  });

  test('midstream with dropOrphans: the orphan is dropped and counted', async () => {
    const { spans, stats } = await analyzeFile(fixture('midstream.pcap'), { spans: { dropOrphans: true } });
    assert.equal(servers(spans).filter((s) => s.attributes['wiretrace.outcome'] === 'orphan').length, 0);
    assert.ok(stats.spans.get('orphan-dropped') >= 1);
  });

  test('timeout: a 1 s span timeout turns the 3 s response into an error "timeout"; the late response is counted', async () => {
    const { spans, stats } = await analyzeFile(fixture('timeout.pcap'), { spans: { timeoutSeconds: 1 } });
    const slow = servers(spans).find((s) => s.attributes['url.path'] === '/slow');
    assert.ok(slow);
    assert.equal(slow.attributes['wiretrace.outcome'], 'timeout');
    assert.equal(slow.status.code, SpanStatusCode.ERROR);
    assert.equal(slow.status.message, 'timeout');
    assert.equal(slow.attributes['error.type'], 'timeout');
    const durationMs = (slow.endTime[0] - slow.startTime[0]) * 1e3 + (slow.endTime[1] - slow.startTime[1]) / 1e6;
    assert.ok(Math.abs(durationMs - 1000) < 1, `ends at the timeout (${durationMs} ms)`);
    assert.ok(stats.exchanges.get('late-response') >= 1);
    const client = spans.find((s) => s.kind === CLIENT && s.attributes['url.full'] !== undefined && String(s.attributes['url.full']).includes('/slow'));
    assert.equal(client?.status.code, SpanStatusCode.ERROR);
  });

  test('timeout: with the default 30 s the slow response completes and the unanswered request is incomplete', async () => {
    const { spans } = await analyzeFile(fixture('timeout.pcap'));
    const slow = servers(spans).find((s) => s.attributes['url.path'] === '/slow');
    assert.equal(slow?.attributes['http.response.status_code'], 200);
    const never = servers(spans).find((s) => s.attributes['url.path'] === '/never');
    assert.ok(never, 'a request open at the end of the capture is still emitted');
    assert.equal(never.attributes['wiretrace.outcome'], 'incomplete');
    assert.equal(never.attributes['wiretrace.incomplete'], true);
    assert.notEqual(never.status.code, SpanStatusCode.ERROR);
  });
});

describe('names, routes and trace context', () => {
  test('ids in paths are templated so span names have low cardinality', async () => {
    const { spans } = await analyzeFile(fixture('ids-in-paths.pcap'));
    const names = new Map<string, Set<string>>();
    for (const s of servers(spans)) {
      const set = names.get(s.name) ?? new Set<string>();
      set.add(String(s.attributes['url.path']));
      names.set(s.name, set);
    }
    const nameOf = (path: string) => servers(spans).find((s) => s.attributes['url.path'] === path)!.name;
    assert.equal(nameOf('/api/users/42'), nameOf('/api/users/17'));
    assert.equal(nameOf('/api/orders/3f2b1c9e-8d4a-4e7b-9c1f-2a6b5d8e0f13'), nameOf('/api/orders/a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'));
    assert.equal(nameOf('/blobs/9f86d081884c7d659a2feaa0c55ad015'), nameOf('/blobs/2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae'));
    assert.equal(nameOf('/s/AbCdEf123456789xYz_-QwE'), nameOf('/s/Zz9_-Yy8Xx7Ww6Vv5Uu4Tt3S'));
    for (const name of names.keys()) assert.doesNotMatch(name, /\d{2,}|[0-9a-f]{16,}/, `no id left in ${name}`);
    assert.ok(names.size <= 5, `few names: ${[...names.keys()].join(', ')}`);
  });

  test('configured route patterns win over templating', async () => {
    const { spans } = await analyzeFile(fixture('ids-in-paths.pcap'), { routes: ['/api/users/:userId', '/api/users/:userId/orders/:orderId'] });
    const s = servers(spans).find((x) => x.attributes['url.path'] === '/api/users/42/orders/1001')!;
    assert.equal(s.name, 'GET /api/users/:userId/orders/:orderId');
    assert.equal(s.attributes['http.route'], '/api/users/:userId/orders/:orderId');
  });

  test('every propagation format is read, in order of preference', async () => {
    const { spans } = await analyzeFile(fixture('context-headers.pcap'));
    const truth = expectedOf('context-headers').exchanges;
    const found = servers(spans).sort(byStart);
    assert.equal(found.length, truth.length);
    found.forEach((s, i) => {
      const ctx = truth[i].expectedContext;
      const label = truth[i].label;
      if (ctx) {
        assert.equal(s.spanContext().traceId, ctx.traceId, `${label}: trace id`);
        assert.equal(s.parentSpanContext?.spanId, ctx.parentSpanId, `${label}: parent`);
        assert.equal(s.attributes['wiretrace.context.source'], ctx.source, `${label}: source`);
        if (ctx.sampled !== undefined) assert.equal(s.spanContext().traceFlags & 1, ctx.sampled ? 1 : 0, `${label}: sampled flag`);
        if (ctx.traceState) assert.equal(s.spanContext().traceState?.serialize(), ctx.traceState, `${label}: tracestate`);
        for (const [k, v] of Object.entries(ctx.baggage ?? {})) assert.equal(s.attributes[`baggage.${k}`], v, `${label}: baggage ${k}`);
        const client = spans.find((c) => c.kind === CLIENT && c.spanContext().spanId === ctx.parentSpanId);
        assert.ok(client, `${label}: the CLIENT span's id is the propagated parent id`);
      } else {
        assert.equal(s.attributes['wiretrace.context.source'], undefined, `${label}: no context`);
        assert.notEqual(s.spanContext().traceId, '00000000000000000000000000000000');
      }
    });
  });

  test('the same capture analysed twice gives the same ids', async () => {
    const a = await analyzeFile(fixture('node-framing.pcap'));
    const b = await analyzeFile(fixture('node-framing.pcap'));
    const ids = (spans: ReadableSpan[]) => spans.map((s) => `${s.spanContext().traceId}/${s.spanContext().spanId}/${s.parentSpanContext?.spanId}`).sort();
    assert.deepEqual(ids(a.spans), ids(b.spans));
  });

  test('service names: Host header for servers, addresses (never ephemeral ports) for clients, mappings first', async () => {
    const plain = await analyzeFile(fixture('node-framing.pcap'));
    const port = expectedOf('node-framing').server.port;
    for (const s of plain.spans) {
      if (s.kind === SERVER) assert.equal(serviceOf(s), `127.0.0.1:${port}`);
      else {
        assert.equal(serviceOf(s), '127.0.0.1');
        assert.equal(s.resource.attributes['wiretrace.service.kind'], 'external');
      }
    }
    const mapped = await analyzeFile(fixture('node-framing.pcap'), { services: { mappings: [{ match: `127.0.0.1:${port}`, name: 'framing' }, { match: '127.0.0.0/8', name: 'loopback-clients' }] } });
    assert.deepEqual([...new Set(mapped.spans.map((s) => `${s.kind} ${serviceOf(s)}`))].sort(), [`${SERVER} framing`, `${CLIENT} loopback-clients`].sort());
  });

  test('filters: excluded paths and ports produce no spans and are counted', async () => {
    const port = expectedOf('node-framing').server.port;
    const paths = await analyzeFile(fixture('node-framing.pcap'), { filters: { excludePaths: ['/etag', '/items/*'] } });
    assert.ok(!servers(paths.spans).some((s) => ['/etag', '/items/7'].includes(String(s.attributes['url.path']))));
    assert.equal(paths.stats.spans.get('filtered'), 6, 'three exchanges, a SERVER and a CLIENT span each');
    const ports = await analyzeFile(fixture('node-framing.pcap'), { filters: { excludePorts: [port] } });
    assert.equal(ports.spans.length, 0);
    const included = await analyzeFile(fixture('node-framing.pcap'), { filters: { includePorts: [port] } });
    assert.equal(servers(included.spans).length, expectedOf('node-framing').exchanges.length);
  });

  test('--no-client-spans: only SERVER spans, parented by the propagated id where there is one', async () => {
    const { spans } = await analyzeFile(fixture('context-headers.pcap'), { spans: { clientSpans: false } });
    assert.ok(spans.length > 0);
    assert.ok(spans.every((s) => s.kind === SERVER));
    assert.ok(spans.some((s) => s.parentSpanContext?.spanId === '00f067aa0ba902b7'));
  });
});
