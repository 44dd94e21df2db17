// A shop of seven services, a database, a cache and a payment API nobody
// instruments, as the wire (and, for the peers, an SDK) would report it.
// Deterministic: the same spans on every run.
import { SpanKind, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanFactory } from './spans.js';

/** Park–Miller: a tiny seeded generator so the scenario never changes. */
export function seeded(seed: number): () => number {
  let s = seed % 2147483647;
  if (s <= 0) s += 2147483646;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

export interface Scenario {
  /** One batch per trace, in start order. */
  batches: ReadableSpan[][];
  /** Exchanges made on each edge "from -> to", and how many of them failed. */
  expected: Map<string, { requests: number; errors: number }>;
}

export function shopScenario(traces = 60, seed = 7): Scenario {
  const f = new SpanFactory();
  const rand = seeded(seed);
  const expected = new Map<string, { requests: number; errors: number }>();
  const note = (from: string, to: string, failed: boolean) => {
    const key = `${from} -> ${to}`;
    const e = expected.get(key) ?? { requests: 0, errors: 0 };
    e.requests++;
    if (failed) e.errors++;
    expected.set(key, e);
  };
  const batches: ReadableSpan[][] = [];
  for (let t = 0; t < traces; t++) {
    const start = t * 500 + Math.floor(rand() * 200);
    const checkout = t % 3 === 0;
    const paymentFails = checkout && rand() < 0.3;
    const searchMs = rand() < 0.1 ? 900 + rand() * 600 : 40 + rand() * 60;
    const total = checkout ? 260 + searchMs : 60 + searchMs;
    const root = f.call({ from: '127.0.0.1', fromExternal: true, to: 'frontend', startMs: start, durationMs: total, route: checkout ? '/checkout' : '/product/:id', method: checkout ? 'POST' : 'GET', status: paymentFails ? 502 : 200, requestBytes: checkout ? 512 : 0, responseBytes: 4096 });
    note('127.0.0.1', 'frontend', paymentFails);
    const catalog = f.call({ from: 'frontend', to: 'catalog', parent: root, startMs: start + 2, durationMs: searchMs + 30, route: '/items/:id', responseBytes: 2048 });
    note('frontend', 'catalog', false);
    f.call({ from: 'catalog', to: 'search', parent: catalog, startMs: start + 4, durationMs: searchMs, route: '/query', responseBytes: 900 });
    note('catalog', 'search', false);
    peerCall(f, catalog, 'catalog', start + searchMs + 6, 1.5 + rand(), { 'server.address': '127.0.0.1', 'server.port': 6379, 'db.operation.name': 'GET' }, 'GET');
    note('catalog', '127.0.0.1:6379', false);
    const cart = f.call({ from: 'frontend', to: 'cart', parent: root, startMs: start + searchMs + 34, durationMs: 20 + rand() * 10, route: '/cart/:id', responseBytes: 300 });
    note('frontend', 'cart', false);
    peerCall(f, cart, 'cart', start + searchMs + 36, 3 + rand() * 4, { 'db.system.name': 'postgresql', 'server.address': 'db.internal', 'server.port': 5432, 'db.query.summary': 'SELECT carts' }, 'SELECT carts');
    note('cart', 'postgresql@db.internal', false);
    if (checkout) {
      const co = f.call({ from: 'frontend', to: 'checkout', parent: root, startMs: start + searchMs + 58, durationMs: 190, method: 'POST', route: '/orders', status: paymentFails ? 502 : 201, requestBytes: 512, responseBytes: 128 });
      note('frontend', 'checkout', paymentFails);
      const pay = f.call({ from: 'checkout', to: 'payments', parent: co, startMs: start + searchMs + 60, durationMs: 170, method: 'POST', route: '/charge', status: paymentFails ? 503 : 200, requestBytes: 256, responseBytes: 64 });
      note('checkout', 'payments', paymentFails);
      peerCall(f, pay, 'payments', start + searchMs + 62, paymentFails ? 150 : 120 + rand() * 30, { 'server.address': 'api.payments.example', 'server.port': 443, 'http.request.method': 'POST', 'http.response.status_code': paymentFails ? 503 : 200 }, 'POST', paymentFails ? '503' : undefined);
      note('payments', 'api.payments.example:443', paymentFails);
    }
    batches.push(f.take());
  }
  return { batches, expected };
}

function peerCall(f: SpanFactory, parent: SpanContext, service: string, startMs: number, durationMs: number, attributes: Record<string, string | number>, name: string, error?: string): void {
  f.span({ service, kind: SpanKind.CLIENT, name, parent, startMs, durationMs, attributes, error });
}
