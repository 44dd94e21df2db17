import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAddress, hostKey, parseCidr, cidrContains, parseAddress } from '../../src/process/address.js';
import { hostServiceName, ResourceCache, ServiceNamer } from '../../src/process/services.js';
import type { HttpRequest } from '../../src/model/http.js';
import { isWiretraceError } from '../../src/errors.js';

function request(target: string, host?: string): HttpRequest {
  return {
    type: 'request',
    method: 'GET',
    target,
    version: 'HTTP/1.1',
    headers: host === undefined ? [] : [{ name: 'host', value: host }],
    bodySize: 0,
    headerSize: 0,
    startTime: [0, 0],
    endTime: [0, 0],
    truncated: false,
  };
}

describe('service naming', () => {
  const namer = new ServiceNamer([
    { match: '10.0.0.0/8', name: 'corp' },
    { match: '10.1.0.0/16', name: 'dc1' },
    { match: '10.1.2.3', name: 'billing-host' },
    { match: '10.1.2.3:8080', name: 'billing' },
    { match: '2001:db8::/32', name: 'v6-net' },
    { match: '2001:db8:0:0:0:0:0:7', name: 'v6-host' },
    { match: '[2001:db8::7]:443', name: 'v6-https' },
    { match: '::ffff:192.168.1.0/120', name: 'mapped-lan' },
  ]);

  test('address:port beats address beats the longest CIDR prefix', () => {
    assert.equal(namer.mapEndpoint({ address: '10.1.2.3', port: 8080 }), 'billing');
    assert.equal(namer.mapEndpoint({ address: '10.1.2.3', port: 9090 }), 'billing-host');
    assert.equal(namer.mapEndpoint({ address: '10.1.9.9', port: 80 }), 'dc1');
    assert.equal(namer.mapEndpoint({ address: '10.200.0.1', port: 80 }), 'corp');
    assert.equal(namer.mapEndpoint({ address: '192.0.2.1', port: 80 }), undefined);
  });

  test('IPv6: [addr]:port, exact address in any spelling, CIDR; IPv4-mapped folds to IPv4', () => {
    assert.equal(namer.mapEndpoint({ address: '2001:db8::7', port: 443 }), 'v6-https');
    assert.equal(namer.mapEndpoint({ address: '2001:db8::7', port: 80 }), 'v6-host');
    assert.equal(namer.mapEndpoint({ address: '2001:db8:ffff::1', port: 80 }), 'v6-net');
    assert.equal(namer.mapEndpoint({ address: '2001:db9::1', port: 80 }), undefined);
    assert.equal(namer.mapEndpoint({ address: '192.168.1.77', port: 80 }), 'mapped-lan');
  });

  test('a server without mapping is named by its Host header, lowercased, keeping a non-default port', () => {
    const server = { address: '127.0.0.1', port: 3001 };
    assert.equal(namer.serverService(server, request('/', 'LocalHost:3001')), 'localhost:3001');
    assert.equal(namer.serverService(server, request('/', 'api.example.com:80')), 'api.example.com');
    assert.equal(namer.serverService(server, request('/', 'user:pw@api.example.com')), 'api.example.com');
    assert.equal(namer.serverService(server, request('http://Proxy.Example:8080/x', 'ignored')), 'proxy.example:8080');
    assert.equal(namer.serverService({ address: '::1', port: 8080 }, request('/', '[::1]:8080')), '[::1]:8080');
  });

  test('a server with no mapping and no usable Host is address:port', () => {
    assert.equal(namer.serverService({ address: '127.0.0.1', port: 3001 }, request('/')), '127.0.0.1:3001');
    assert.equal(namer.serverService({ address: '127.0.0.1', port: 3001 }, request('/', 'bad host name')), '127.0.0.1:3001');
    assert.equal(namer.serverService({ address: '::1', port: 80 }, undefined), '[::1]:80');
  });

  test('a mapping beats the Host header', () => {
    assert.equal(namer.serverService({ address: '10.1.2.3', port: 8080 }, request('/', 'whatever:8080')), 'billing');
  });

  test('a client is its enclosing server span service, else a mapping, else its bare address (external)', () => {
    assert.deepEqual(namer.clientService({ address: '10.1.2.3', port: 51234 }, 'orders'), { name: 'orders', external: false });
    assert.deepEqual(namer.clientService({ address: '10.1.2.3', port: 51234 }, undefined), { name: 'billing-host', external: false });
    assert.deepEqual(namer.clientService({ address: '10.9.9.9', port: 51234 }, undefined), { name: 'corp', external: false });
    assert.deepEqual(namer.clientService({ address: '192.0.2.1', port: 51234 }, undefined), { name: '192.0.2.1', external: true });
  });

  test('a mapping that is not an address, address:port or CIDR is a config error', () => {
    assert.throws(
      () => new ServiceNamer([{ match: 'db.internal', name: 'x' }]),
      (e: unknown) => isWiretraceError(e) && e.code === 'WT_ERR_CONFIG',
    );
    assert.throws(() => new ServiceNamer([{ match: '10.0.0.0/33', name: 'x' }]));
  });

  test('resources are one object per service, external ones marked', () => {
    const cache = new ResourceCache('1.2.3');
    const a = cache.get({ name: 'orders', external: false });
    assert.equal(cache.get({ name: 'orders', external: false }), a);
    assert.equal(a.attributes['service.name'], 'orders');
    assert.equal(a.attributes['telemetry.distro.name'], 'wiretrace');
    assert.equal(a.attributes['telemetry.distro.version'], '1.2.3');
    assert.equal(a.attributes['wiretrace.service.kind'], undefined);
    const x = cache.get({ name: '192.0.2.1', external: true });
    assert.equal(x.attributes['wiretrace.service.kind'], 'external');
  });

  test('hostServiceName ignores implausible hosts', () => {
    assert.equal(hostServiceName(request('/', '')), undefined);
    assert.equal(hostServiceName(request('/', 'a:99999')), undefined);
    assert.equal(hostServiceName(request('/', '<script>')), undefined);
  });
});

describe('addresses', () => {
  test('canonical spellings', () => {
    assert.equal(canonicalAddress('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalAddress('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalAddress('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(canonicalAddress('fe80::1%eth0'), 'fe80::1');
    assert.equal(canonicalAddress('not-an-ip'), 'not-an-ip');
  });

  test('all loopback addresses are one host; others are themselves', () => {
    assert.equal(hostKey('127.0.0.1'), 'loopback');
    assert.equal(hostKey('127.0.0.53'), 'loopback');
    assert.equal(hostKey('::1'), 'loopback');
    assert.equal(hostKey('10.0.0.1'), '10.0.0.1');
  });

  test('CIDR edges', () => {
    const c = parseCidr('192.168.0.0/23');
    assert.ok(c);
    assert.ok(cidrContains(c, parseAddress('192.168.1.255')!));
    assert.ok(!cidrContains(c, parseAddress('192.168.2.0')!));
    assert.ok(cidrContains(parseCidr('0.0.0.0/0')!, parseAddress('8.8.8.8')!));
    assert.ok(!cidrContains(parseCidr('0.0.0.0/0')!, parseAddress('::1')!));
    assert.equal(parseAddress('1.2.3'), undefined);
    assert.equal(parseAddress('1::2::3'), undefined);
    assert.equal(parseAddress('256.1.1.1'), undefined);
  });
});
