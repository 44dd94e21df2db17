/**
 * Owners of real sockets: the test opens them itself (a listener, a client
 * connected to it, the accepted end), so /proc must name this very process
 * for every end, and another process (a child) for the sockets it holds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { ProcFs, TcpState, derivedServiceName, parseProcNetTcp, serviceNameFromEnviron, type SocketEntry } from '../../src/process/procfs.js';
import { ProcfsProcessResolver } from '../../src/process/owners.js';
import { CommandLineRedactor } from '../../src/process/cmdline.js';
import { Stats } from '../../src/model/stats.js';
import fc from 'fast-check';

const hasProc = (() => {
  try {
    readFileSync('/proc/net/tcp');
    return true;
  } catch {
    return false;
  }
})();
const skip = !hasProc ? 'no /proc/net/tcp on this system: process enrichment is Linux-only' : false;
if (skip) console.log(`# SKIP ${skip}`);

async function listen(host: string): Promise<Server> {
  const server = createServer((s) => s.resume());
  server.listen(0, host);
  await once(server, 'listening');
  return server;
}

async function connectTo(host: string, port: number): Promise<{ client: Socket; accepted: Socket }> {
  return new Promise((resolve, reject) => {
    const client = connect(port, host);
    client.once('error', reject);
    client.once('connect', () => resolve({ client, accepted: client }));
  });
}

function resolver(stats = new Stats()): ProcfsProcessResolver {
  return new ProcfsProcessResolver({ stats, redaction: { queryParams: ['token', 'key'], replacement: 'REDACTED' }, hostName: true });
}

describe('socket owners from /proc', { skip }, () => {
  for (const host of ['127.0.0.1', '::1']) {
    test(`both ends of a connection on ${host} belong to this process`, async () => {
      const server = await listen(host);
      const port = (server.address() as AddressInfo).port;
      const { client } = await connectTo(host, port);
      try {
        const clientEnd = { address: host, port: client.localPort as number };
        const serverEnd = { address: host, port };
        const r = resolver();
        r.observe({ client: clientEnd, server: serverEnd });
        const clientOwner = r.ownerOf(clientEnd, serverEnd);
        const serverOwner = r.ownerOf(serverEnd, clientEnd);
        assert.equal(clientOwner?.pid, process.pid);
        assert.equal(serverOwner?.pid, process.pid);
        assert.equal(serverOwner?.executableName, 'node');
        assert.ok(r.counters().found >= 2);
      } finally {
        client.destroy();
        server.close();
      }
    });
  }

  test('the socket tables list the listener and the connection with their inodes', async () => {
    const server = await listen('127.0.0.1');
    const port = (server.address() as AddressInfo).port;
    const { client } = await connectTo('127.0.0.1', port);
    try {
      const sockets = new ProcFs().tcpSockets();
      const listener = sockets.find((s) => s.state === TcpState.LISTEN && s.local.port === port);
      const established = sockets.find((s) => s.local.port === client.localPort && s.remote.port === port);
      assert.ok(listener && listener.inode > 0, 'listener found');
      assert.equal(listener.local.address, '127.0.0.1');
      assert.ok(established && established.inode > 0 && established.state === TcpState.ESTABLISHED);
      const mine = new ProcFs().socketInodes(process.pid);
      assert.ok(mine.includes(listener.inode) && mine.includes(established.inode));
    } finally {
      client.destroy();
      server.close();
    }
  });

  test('a server in another process is named by its OTEL_SERVICE_NAME, its pid and its redacted command line', async () => {
    const script = "require('net').createServer((s)=>s.resume()).listen(0,'127.0.0.1',function(){console.log(this.address().port)})";
    const child = spawn(process.execPath, ['-e', script, '--', '--api-key=SECRET123', '--password', 'hunter2'], {
      env: { ...process.env, OTEL_SERVICE_NAME: 'inventory' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const port = Number(line.toString().trim());
      const { client } = await connectTo('127.0.0.1', port);
      await new Promise((r) => setTimeout(r, 50)); // the child's accept() has run
      const clientEnd = { address: '127.0.0.1', port: client.localPort as number };
      const serverEnd = { address: '127.0.0.1', port };
      const r = resolver();
      r.observe({ client: clientEnd, server: serverEnd });
      await r.settle(5000);
      const owner = r.ownerOf(serverEnd, clientEnd);
      assert.equal(owner?.pid, child.pid);
      assert.equal(owner?.serviceName, 'inventory');
      assert.equal(owner?.otelServiceName, 'inventory');
      assert.ok(owner?.commandLine.includes('--api-key=REDACTED'), owner?.commandLine);
      assert.ok(!owner?.commandLine.includes('SECRET123') && !owner?.commandLine.includes('hunter2'), owner?.commandLine);
      assert.equal(r.ownerOf(clientEnd, serverEnd)?.pid, process.pid);
      client.destroy();
    } finally {
      child.kill();
    }
  });

  test('remote addresses are not looked up; a socket nobody holds is counted as not found', () => {
    const r = resolver();
    assert.equal(r.isLocal('203.0.113.9'), false);
    assert.equal(r.isLocal('127.0.0.5'), true);
    assert.equal(r.isLocal('::1'), true);
    r.observe({ client: { address: '203.0.113.9', port: 40000 }, server: { address: '203.0.113.10', port: 80 } });
    assert.equal(r.counters().lookups, 0);
    r.observe({ client: { address: '127.0.0.1', port: 1 }, server: { address: '127.0.0.1', port: 2 } });
    assert.equal(r.counters().lookups, 2);
    assert.equal(r.counters().notFound, 2);
    assert.equal(r.ownerOf({ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 }), undefined);
  });

  test('the cache is bounded and counts what it forgets', async () => {
    const stats = new Stats();
    const r = new ProcfsProcessResolver({ stats, redaction: { queryParams: [], replacement: 'X' }, hostName: false, maxEntries: 4 });
    for (let p = 1; p <= 10; p++) r.observe({ client: { address: '127.0.0.1', port: 50000 + p }, server: { address: '127.0.0.1', port: 9 } });
    assert.ok(r.counters().evicted > 0);
    assert.equal(stats.drops.get('process-owner-cache'), r.counters().evicted);
    assert.equal(r.hostName, undefined);
  });
});

describe('/proc/net/tcp text', () => {
  test('addresses are host-order words: 0100007F is 127.0.0.1, IPv4-mapped IPv6 folds to IPv4', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0 100 0 0 10 0',
      '   1: 00000000000000000000000001000000:0050 0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0',
      '   2: 0000000000000000FFFF00000100007F:0050 00000000000000000000000001000000:C350 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0',
    ].join('\n');
    const out: SocketEntry[] = [];
    parseProcNetTcp(text, (e) => out.push(e));
    assert.deepEqual(out, [
      { local: { address: '127.0.0.1', port: 8080 }, remote: { address: '0.0.0.0', port: 0 }, state: 0x0a, inode: 12345 },
      { local: { address: '::1', port: 80 }, remote: { address: '127.0.0.1', port: 50000 }, state: 1, inode: 777 },
      { local: { address: '127.0.0.1', port: 80 }, remote: { address: '::1', port: 50000 }, state: 1, inode: 0 },
    ]);
  });

  test('garbage never throws and yields only well-formed entries', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.array(fc.string({ maxLength: 60 }), { maxLength: 20 }), (head, lines) => {
        parseProcNetTcp([head, ...lines].join('\n'), (e) => {
          assert.ok(Number.isInteger(e.local.port) && e.local.port >= 0 && e.local.port <= 65535);
          assert.ok(Number.isInteger(e.inode));
        });
      }),
    );
  });
});

describe('service names of processes', () => {
  test('OTEL_SERVICE_NAME first, then service.name in OTEL_RESOURCE_ATTRIBUTES', () => {
    assert.equal(serviceNameFromEnviron('A=1\0OTEL_RESOURCE_ATTRIBUTES=service.name=billing,x=y\0OTEL_SERVICE_NAME=checkout\0'), 'checkout');
    assert.equal(serviceNameFromEnviron('OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod,service.name=bill%20ing\0'), 'bill ing');
    assert.equal(serviceNameFromEnviron('OTEL_SERVICE_NAME=\0PATH=/bin'), undefined);
  });

  test('interpreters are named by their script, generic scripts by their folder', () => {
    assert.equal(derivedServiceName('nginx', ['nginx: master process']), 'nginx');
    assert.equal(derivedServiceName('node', ['node', '/srv/api/orders.mjs', '--port', '80']), 'orders');
    assert.equal(derivedServiceName('node', ['node', '--import', 'tsx', '/srv/payments/index.ts']), 'payments');
    assert.equal(derivedServiceName('node', ['node', '/srv/shop/src/server.js']), 'shop');
    assert.equal(derivedServiceName('node', ['node', '-e', 'require("http")']), 'node');
    assert.equal(derivedServiceName('python3.12', ['python3', '-m', 'billing.api']), 'billing.api');
    assert.equal(derivedServiceName('java', ['java', '-Xmx1g', '-jar', '/opt/shop.jar']), 'shop');
    assert.equal(derivedServiceName('node', ['node']), 'node');
  });
});

describe('command lines leave without secrets', () => {
  const r = new CommandLineRedactor({ needles: ['session'], replacement: 'REDACTED' });
  test('options, pairs, short -p, URL userinfo', () => {
    assert.deepEqual(
      r.redact(['server', '--api-key=abc', '--password', 'hunter2', '-p', 'pw', '-psecretpw', 'TOKEN=t0k', 'postgres://app:pw1@db:5432/x', 'https://h/?session=s1&page=2', '--port', '8080', 'plain']),
      ['server', '--api-key=REDACTED', '--password', 'REDACTED', '-p', 'REDACTED', '-pREDACTED', 'TOKEN=REDACTED', 'postgres://app:REDACTED@db:5432/x', 'https://h/?session=REDACTED&page=2', '--port', '8080', 'plain'],
    );
  });
  test('redaction never throws and keeps the argument count', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 12 }), (args) => {
        assert.equal(r.redact(args).length, args.length);
      }),
    );
  });
});
