import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfigFile, resolveConfig } from '../../src/config/load.js';
import { flagsToLayer } from '../../src/config/flags.js';
import { WiretraceError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'wt-config-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function configError(fn: () => unknown): WiretraceError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WiretraceError, `expected a WiretraceError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

describe('configuration', () => {
  test('YAML and JSON files give the same validated configuration, defaults filled in', () => {
    const yaml = readConfigFile(file('a.yaml', 'spans:\n  timeoutSeconds: 5\nroutes: ["/api/users/:id"]\n'));
    const json = readConfigFile(file('a.json', '{"spans": {"timeoutSeconds": 5}, "routes": ["/api/users/:id"]}'));
    const a = resolveConfig([{ source: { kind: 'file', path: 'a.yaml' }, values: yaml }]);
    const b = resolveConfig([{ source: { kind: 'file', path: 'a.json' }, values: json }]);
    assert.deepEqual(a, b);
    assert.equal(a.spans.timeoutSeconds, 5);
    assert.equal(a.spans.clientSpans, true);
    assert.equal(a.limits.maxConnections, 100_000);
  });

  test('flags win over the file, and only flags given on the command line count', () => {
    const fromFile = readConfigFile(file('b.yaml', 'spans:\n  timeoutSeconds: 5\n  clientSpans: true\n'));
    const flags = flagsToLayer({ spanTimeout: '7', clientSpans: false, route: ['/x/:id'] }, (o) => o !== 'route');
    const c = resolveConfig([{ source: { kind: 'file', path: 'b.yaml' }, values: fromFile }, flags]);
    assert.equal(c.spans.timeoutSeconds, 7);
    assert.equal(c.spans.clientSpans, false);
    assert.deepEqual(c.routes, []);
  });

  test('an invalid value names the file and key it came from', () => {
    const values = readConfigFile(file('bad.yaml', 'spans:\n  timeoutSeconds: soon\n'));
    const err = configError(() => resolveConfig([{ source: { kind: 'file', path: 'bad.yaml' }, values }]));
    assert.equal(err.code, 'WT_ERR_CONFIG');
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /config file bad\.yaml, key spans\.timeoutSeconds: .*number/i);
  });

  test('an invalid flag value names the flag', () => {
    const flags = flagsToLayer({ spanTimeout: '-3' }, (o) => o === 'spanTimeout');
    const err = configError(() => resolveConfig([flags]));
    assert.equal(err.message, 'flag --span-timeout: "-3" is not a number greater than 0');
    const notNumber = configError(() => resolveConfig([flagsToLayer({ spanTimeout: 'abc' }, (o) => o === 'spanTimeout')]));
    assert.equal(notNumber.code, 'WT_ERR_CONFIG');
    assert.equal(notNumber.exitCode, 2);
    assert.equal(notNumber.message, 'flag --span-timeout: "abc" is not a number greater than 0');
  });

  test('unknown settings are rejected by name', () => {
    const values = readConfigFile(file('unknown.yaml', 'spans:\n  timeoutSecs: 3\n'));
    const err = configError(() => resolveConfig([{ source: { kind: 'file', path: 'unknown.yaml' }, values }]));
    assert.equal(
      err.message,
      'config file unknown.yaml, key spans.timeoutSecs: unknown setting spans.timeoutSecs (settings here: timeoutSeconds, clientSpans, dropOrphans, linkWindowSeconds, recordRequestHeaders, recordResponseHeaders)',
    );
  });

  test('a missing file, a malformed file and a non-mapping are clear errors', () => {
    assert.equal(configError(() => readConfigFile(join(dir, 'nope.yaml'))).code, 'WT_ERR_FILE_NOT_FOUND');
    assert.match(configError(() => readConfigFile(file('broken.json', '{"spans": '))).message, /not valid JSON/);
    assert.match(configError(() => readConfigFile(file('list.yaml', '- a\n- b\n'))).message, /top level must be a mapping/);
  });

  test('--service mappings parse address, address:port, IPv6 and CIDR forms', () => {
    const layer = flagsToLayer({ service: ['10.0.0.0/8=internal', '[::1]:8080=api', '127.0.0.1:5432=postgres'] }, (o) => o === 'service');
    const c = resolveConfig([layer]);
    assert.deepEqual(c.services.mappings, [
      { match: '10.0.0.0/8', name: 'internal' },
      { match: '[::1]:8080', name: 'api' },
      { match: '127.0.0.1:5432', name: 'postgres' },
    ]);
    assert.equal(
      configError(() => resolveConfig([flagsToLayer({ service: ['noequals'] }, (o) => o === 'service')])).message,
      'flag --service: "noequals" is not of the form <address|address:port|cidr>=<name>',
    );
  });
});
