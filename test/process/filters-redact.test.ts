import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathGlob, ExchangeFilter } from '../../src/process/filters.js';
import { Redactor } from '../../src/process/redact.js';
import { parseRequestTarget } from '../../src/process/target.js';
import { defaultConfig } from '../../src/config/schema.js';
import { connection, exchange } from '../correlate/exchange-factory.js';

describe('filters', () => {
  test('path globs: * within a segment, ** across segments', () => {
    assert.ok(compilePathGlob('/health*').test('/healthz'));
    assert.ok(!compilePathGlob('/health*').test('/health/live'));
    assert.ok(compilePathGlob('/api/*/status').test('/api/v1/status'));
    assert.ok(!compilePathGlob('/api/*/status').test('/api/v1/x/status'));
    assert.ok(compilePathGlob('/api/**/status').test('/api/v1/x/status'));
    assert.ok(compilePathGlob('/api/**/status').test('/api/status'));
    assert.ok(compilePathGlob('**.js').test('/static/app/main.js'));
    assert.ok(!compilePathGlob('/a.b').test('/aXb'), 'dots are literal');
  });

  const conn = connection('10.0.0.1:50000', '10.0.0.2:8080', 'filters');
  const other = connection('10.0.0.1:50001', '10.0.0.3:5432', 'filters-db');

  test('excludePaths over the URL path, query ignored, "/x/**" covering "/x"', () => {
    const f = new ExchangeFilter({ ...defaultConfig().filters, excludePaths: ['/health', '/metrics/**'] });
    assert.ok(f.excludes(exchange({ conn, target: '/health?verbose=1', start: 0, end: 1 })));
    assert.ok(f.excludes(exchange({ conn, target: '/metrics', start: 0, end: 1 })));
    assert.ok(f.excludes(exchange({ conn, target: '/metrics/node/cpu', start: 0, end: 1 })));
    assert.ok(!f.excludes(exchange({ conn, target: '/healthz', start: 0, end: 1 })));
    assert.ok(f.excludes(exchange({ conn, target: 'http://h:8080/health', start: 0, end: 1 })));
    assert.ok(!f.excludes(exchange({ conn, outcome: 'orphan', start: 0, end: 1 })), 'no path known: kept');
  });

  test('includePorts / excludePorts match either end', () => {
    const only8080 = new ExchangeFilter({ ...defaultConfig().filters, includePorts: [8080] });
    assert.ok(!only8080.excludes(exchange({ conn, start: 0, end: 1 })));
    assert.ok(only8080.excludes(exchange({ conn: other, start: 0, end: 1 })));
    const clientPort = new ExchangeFilter({ ...defaultConfig().filters, includePorts: [50001] });
    assert.ok(!clientPort.excludes(exchange({ conn: other, start: 0, end: 1 })));
    const no5432 = new ExchangeFilter({ ...defaultConfig().filters, excludePorts: [5432] });
    assert.ok(no5432.excludes(exchange({ conn: other, start: 0, end: 1 })));
    assert.ok(!no5432.excludes(exchange({ conn, start: 0, end: 1 })));
  });
});

describe('redaction', () => {
  const r = new Redactor(defaultConfig().redaction);

  test('values of parameters whose names contain a configured substring are replaced', () => {
    assert.equal(r.redactQuery('q=shoes&access_token=abc123&page=2'), 'q=shoes&access_token=REDACTED&page=2');
    assert.equal(r.redactQuery('API_KEY=x&Password=y'), 'API_KEY=REDACTED&Password=REDACTED');
    assert.equal(r.redactQuery('my%5Ftoken=x'), 'my%5Ftoken=REDACTED', 'names are compared percent-decoded');
    assert.equal(r.redactQuery('token'), 'token', 'a name without value has nothing to hide');
    assert.equal(r.redactQuery('a=1&&b=2'), 'a=1&&b=2');
  });

  test('replacement and list are configurable', () => {
    const custom = new Redactor({ queryParams: ['ssn'], replacement: '***' });
    assert.equal(custom.redactQuery('ssn=123&token=abc'), 'ssn=***&token=abc');
  });

  test('userinfo in absolute-form targets is dropped', () => {
    const t = parseRequestTarget('http://alice:s3cret@example.com:8080/p?q=1#frag');
    assert.deepEqual(t, { form: 'absolute', scheme: 'http', authority: 'example.com:8080', path: '/p', query: 'q=1' });
  });

  test('target forms', () => {
    assert.deepEqual(parseRequestTarget('/a/b?c=d'), { form: 'origin', path: '/a/b', query: 'c=d' });
    assert.deepEqual(parseRequestTarget('*'), { form: 'asterisk' });
    assert.deepEqual(parseRequestTarget('example.com:443'), { form: 'authority', authority: 'example.com:443' });
    assert.deepEqual(parseRequestTarget('HTTP://h'), { form: 'absolute', scheme: 'http', authority: 'h', path: '/' });
  });
});
