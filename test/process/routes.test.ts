import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { placeholderFor, RouteTemplater, templatePath } from '../../src/process/routes.js';

describe('route templates', () => {
  test('configured patterns: :param matches one segment, first match wins', () => {
    const r = new RouteTemplater(['/api/users/:id/orders', '/api/users/:id', '/api/users/me']);
    assert.equal(r.route('/api/users/alice'), '/api/users/:id');
    assert.equal(r.route('/api/users/me'), '/api/users/:id', 'an earlier pattern wins over a more literal later one');
    assert.equal(r.route('/api/users/42/orders'), '/api/users/:id/orders');
    assert.equal(r.route('/api/users/42/'), '/api/users/:id', 'one trailing slash is ignored');
  });

  test('* is exactly one segment, ** any tail (including none)', () => {
    const r = new RouteTemplater(['/files/*', '/static/**', '/img/*.png']);
    assert.equal(r.route('/files/report.pdf'), '/files/*');
    assert.equal(r.route('/static/css/site/main.css'), '/static/**');
    assert.equal(r.route('/static'), '/static/**');
    assert.equal(r.route('/img/logo.png'), '/img/*.png');
    // Not matched by "/files/*": two segments; falls back to templating.
    assert.equal(r.route('/files/2024/12345'), '/files/:id/:id');
    assert.equal(r.route('/img/logo.gif'), '/img/logo.gif');
  });

  test('the query string is never part of a route', () => {
    const r = new RouteTemplater(['/search']);
    assert.equal(r.route('/search?q=secret'), '/search');
    assert.equal(new RouteTemplater([]).route('/items/17?color=red'), '/items/:id');
  });

  test('identifiers in paths are templated by kind', () => {
    assert.equal(templatePath('/orders/1234/items/7'), '/orders/:id/items/:id');
    assert.equal(templatePath('/users/3F2504E0-4F89-11D3-9A0C-0305E82C3301/profile'), '/users/:uuid/profile');
    assert.equal(templatePath('/blobs/9f86d081884c7d659a2feaa0c55ad015'), '/blobs/:hex');
    assert.equal(templatePath('/objects/507f1f77bcf86cd799439011'), '/objects/:hex');
    assert.equal(templatePath('/reports/2024-05-01'), '/reports/:date');
    assert.equal(templatePath('/events/2024-05-01T10:20:30Z'), '/events/:date');
    assert.equal(templatePath('/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0'), '/reset/:token');
    assert.equal(templatePath('/s/k7x9q2m4v8b1n3c5z6w0'), '/s/:token');
  });

  test('segments that name things are kept', () => {
    for (const p of [
      '/api/v2/users',
      '/api/v2/authentication-service/health',
      '/blog/my-long-article-slug-2024-edition',
      '/static/bundle.min.js',
      '/deadbeef',
      '/',
    ]) {
      assert.equal(templatePath(p), p);
    }
  });

  test('placeholders are one per kind', () => {
    assert.equal(placeholderFor('0'), ':id');
    assert.equal(placeholderFor('abc'), undefined);
  });

  test('property: templating is idempotent and never throws', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 8 }), (segments) => {
        const path = `/${segments.map((s) => s.replace(/\//g, '')).join('/')}`;
        const once = templatePath(path);
        assert.equal(templatePath(once), once);
        assert.equal(once.split('/').length, path.split('/').length);
      }),
    );
  });
});
