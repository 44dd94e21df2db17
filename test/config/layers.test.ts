import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { CONFIG_ENV, envToLayer } from '../../src/config/env.js';
import { CONFIG_FLAGS, flagsToLayer, registerConfigFlags } from '../../src/config/flags.js';
import { readConfigFile, resolveConfigWithOrigins, type ConfigLayer, type ResolvedConfig } from '../../src/config/load.js';
import { SETTINGS } from '../../src/config/settings.js';
import { WiretraceError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'wt-layers-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

interface Sources {
  yaml?: string;
  env?: Record<string, string>;
  argv?: string[];
}

/** Loads as the CLI does: the file, the environment over it, flags parsed by commander over both. */
function load({ yaml, env = {}, argv = [] }: Sources): ResolvedConfig {
  const layers: ConfigLayer[] = [];
  if (yaml !== undefined) {
    const path = join(dir, `c${fileCount++}.yaml`);
    writeFileSync(path, yaml);
    layers.push({ source: { kind: 'file', path: 'wt.yaml' }, values: readConfigFile(path) });
  }
  layers.push(envToLayer(env, layers));
  const cmd = registerConfigFlags(new Command('t').exitOverride().configureOutput({ writeErr: () => {} }));
  cmd.parse(['node', 't', ...argv]);
  layers.push(flagsToLayer(cmd.opts(), (o) => cmd.getOptionValueSource(o) === 'cli'));
  return resolveConfigWithOrigins(layers);
}

function problem(sources: Sources): string {
  try {
    load(sources);
  } catch (err) {
    assert.ok(err instanceof WiretraceError, String(err));
    assert.equal(err.code, 'WT_ERR_CONFIG');
    assert.equal(err.exitCode, 2);
    return err.message;
  }
  assert.fail('expected a configuration error');
}

describe('every setting has one environment variable and one flag', () => {
  test('names are systematic and unique', () => {
    assert.equal(CONFIG_ENV.length, SETTINGS.length);
    assert.equal(new Set(CONFIG_ENV.map((e) => e.name)).size, CONFIG_ENV.length);
    for (const row of CONFIG_ENV) assert.match(row.name, /^WIRETRACE_[A-Z0-9_]+$/);
    assert.equal(CONFIG_ENV.find((e) => e.path === 'spans.timeoutSeconds')?.name, 'WIRETRACE_SPANS_TIMEOUT_SECONDS');
    assert.equal(CONFIG_ENV.find((e) => e.path === 'services.mappings')?.name, 'WIRETRACE_SERVICES');
    assert.equal(CONFIG_ENV.find((e) => e.path === 'observe.metricsPort')?.name, 'WIRETRACE_OBSERVE_METRICS_PORT');
    for (const s of SETTINGS) assert.equal(CONFIG_FLAGS.filter((f) => f.path === s.path).length, 1, `one flag for ${s.path}`);
    assert.equal(new Set(CONFIG_FLAGS.map((f) => f.flag)).size, CONFIG_FLAGS.length);
  });
});

describe('precedence: default < config file < environment < flags', () => {
  const cases: Array<{ kind: string; path: string; yaml: string; env: Record<string, string>; argv: string[]; values: [unknown, unknown, unknown, unknown] }> = [
    { kind: 'number', path: 'spans.timeoutSeconds', yaml: 'spans: { timeoutSeconds: 5 }', env: { WIRETRACE_SPANS_TIMEOUT_SECONDS: '6' }, argv: ['--span-timeout', '7'], values: [30, 5, 6, 7] },
    { kind: 'integer (generated flag)', path: 'capture.snaplen', yaml: 'capture: { snaplen: 100 }', env: { WIRETRACE_CAPTURE_SNAPLEN: '200' }, argv: ['--capture-snaplen', '300'], values: [262_144, 100, 200, 300] },
    { kind: 'boolean', path: 'capture.processEnrichment', yaml: 'capture: { processEnrichment: false }', env: { WIRETRACE_CAPTURE_PROCESS_ENRICHMENT: 'true' }, argv: ['--no-capture-process-enrichment'], values: [true, false, true, false] },
    { kind: 'string', path: 'capture.interface', yaml: 'capture: { interface: eth0 }', env: { WIRETRACE_CAPTURE_INTERFACE: 'eth1' }, argv: ['--capture-interface', 'lo'], values: ['any', 'eth0', 'eth1', 'lo'] },
    { kind: 'enum', path: 'sampling.sampler', yaml: 'sampling: { sampler: always_off }', env: { OTEL_TRACES_SAMPLER: 'traceidratio' }, argv: ['--sampler', 'parentbased_always_on'], values: ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on'] },
    { kind: 'list', path: 'routes', yaml: 'routes: ["/a/:id"]', env: { WIRETRACE_ROUTES: '/b/:id, /c/*' }, argv: ['--route', '/d/:id'], values: [[], ['/a/:id'], ['/b/:id', '/c/*'], ['/d/:id']] },
    { kind: 'list of numbers', path: 'filters.excludePorts', yaml: 'filters: { excludePorts: [22] }', env: { WIRETRACE_FILTERS_EXCLUDE_PORTS: '23,24' }, argv: ['--exclude-port', '25'], values: [[], [22], [23, 24], [25]] },
    {
      kind: 'list of mappings',
      path: 'services.mappings',
      yaml: 'services: { mappings: [{ match: 10.0.0.1, name: a }] }',
      env: { WIRETRACE_SERVICES: '10.0.0.2=b,[::1]:80=c' },
      argv: ['--service', '10.0.0.0/8=d'],
      values: [[], [{ match: '10.0.0.1', name: 'a' }], [{ match: '10.0.0.2', name: 'b' }, { match: '[::1]:80', name: 'c' }], [{ match: '10.0.0.0/8', name: 'd' }]],
    },
  ];
  for (const c of cases) {
    test(`${c.kind}: ${c.path}`, () => {
      const get = (r: ResolvedConfig) => c.path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], r.config);
      assert.deepEqual(get(load({})), c.values[0]);
      assert.deepEqual(get(load({ yaml: c.yaml })), c.values[1]);
      assert.deepEqual(get(load({ yaml: c.yaml, env: c.env })), c.values[2]);
      assert.deepEqual(get(load({ yaml: c.yaml, env: c.env, argv: c.argv })), c.values[3]);
    });
  }

  test('origins name the layer each value came from', () => {
    const { origins } = load({ yaml: 'spans: { timeoutSeconds: 5 }\nroutes: ["/a"]', env: { WIRETRACE_ROUTES: '/b', OTEL_TRACES_SAMPLER_ARG: '0.5' }, argv: ['--capture-interface', 'lo'] });
    assert.equal(origins.get('spans.timeoutSeconds')?.short, 'file wt.yaml:spans.timeoutSeconds');
    assert.equal(origins.get('routes')?.short, 'env WIRETRACE_ROUTES');
    assert.equal(origins.get('sampling.ratio')?.short, 'env OTEL_TRACES_SAMPLER_ARG');
    assert.equal(origins.get('capture.interface')?.short, 'flag --capture-interface');
    assert.equal(origins.get('limits.maxConnections')?.short, 'default');
  });

  test("the SDK's WIRETRACE_SDK_* variables are not the agent's and do not trouble it", () => {
    const c = load({ env: { WIRETRACE_SDK_SERVICE_NAME: 'checkout', WIRETRACE_SDK_ENABLED: 'true', WIRETRACE_SPANS_TIMEOUT_SECONDS: '7' } });
    assert.equal(c.config.spans.timeoutSeconds, 7);
  });

  test('WIRETRACE_* wins over the OTEL_* variable for the same setting', () => {
    const c = load({ env: { OTEL_TRACES_SAMPLER: 'always_off', WIRETRACE_SAMPLING_SAMPLER: 'traceidratio' } });
    assert.equal(c.config.sampling.sampler, 'traceidratio');
    assert.equal(c.origins.get('sampling.sampler')?.short, 'env WIRETRACE_SAMPLING_SAMPLER');
  });

  test('resource attributes merge per key across layers', () => {
    const c = load({
      yaml: 'resource: { attributes: { team: core, region: eu } }',
      env: { OTEL_RESOURCE_ATTRIBUTES: 'region=us%2Ceast,deployment.environment=prod', OTEL_SERVICE_NAME: 'node-7' },
      argv: ['--resource-attribute', 'team=edge'],
    });
    assert.deepEqual(c.config.resource.attributes, { team: 'edge', region: 'us,east', 'deployment.environment': 'prod', 'wiretrace.agent.name': 'node-7' });
    assert.equal(c.origins.get('resource.attributes.region')?.short, 'env OTEL_RESOURCE_ATTRIBUTES');
    assert.equal(c.origins.get('resource.attributes.team')?.short, 'flag --resource-attribute');
  });
});

describe('OpenTelemetry exporter variables', () => {
  test('the generic endpoint gets /v1/traces for HTTP; the signal endpoint is used as is; protocol picks the exporter', () => {
    const http = load({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' } }).config.exporters;
    assert.equal(http.length, 1);
    assert.equal(http[0].type, 'otlp-http');
    assert.equal(http[0].type === 'otlp-http' && http[0].endpoint, 'http://collector:4318/v1/traces');
    assert.equal(http[0].type === 'otlp-http' && http[0].protocol, 'protobuf');

    const json = load({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } }).config.exporters[0];
    assert.equal(json.type === 'otlp-http' && `${json.endpoint} ${json.protocol}`, 'http://collector:4318/v1/traces json');

    const grpc = load({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } }).config.exporters[0];
    assert.equal(grpc.type === 'otlp-grpc' && grpc.endpoint, 'http://collector:4317');

    const specific = load({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom' } }).config.exporters[0];
    assert.equal(specific.type === 'otlp-http' && specific.endpoint, 'http://b:9999/custom');
  });

  test('headers, compression, timeout, certificates and insecure; traces-specific variables win', () => {
    const [e] = load({
      env: {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=generic,x-tenant=a%20b',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=traces',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_TIMEOUT: '1500',
        OTEL_EXPORTER_OTLP_CERTIFICATE: '/etc/ca.pem',
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/etc/c.pem',
        OTEL_EXPORTER_OTLP_CLIENT_KEY: '/etc/k.pem',
        OTEL_EXPORTER_OTLP_INSECURE: 'true',
      },
    }).config.exporters;
    assert.equal(e.type, 'otlp-grpc');
    if (e.type !== 'otlp-grpc') return;
    assert.deepEqual(e.headers, { 'api-key': 'traces', 'x-tenant': 'a b' });
    assert.equal(e.compression, 'gzip');
    assert.equal(e.queue.exportTimeoutMillis, 1500);
    assert.deepEqual(e.tls, { insecure: true, caFile: '/etc/ca.pem', certFile: '/etc/c.pem', keyFile: '/etc/k.pem', rejectUnauthorized: true });
  });

  test('OTLP variables overlay the file\'s OTLP exporter (credentials from the environment), leaving the others alone', () => {
    const c = load({
      yaml: 'exporters:\n  - { type: zipkin }\n  - { type: otlp-http, endpoint: "http://file:4318/v1/traces", headers: { x-team: a } }\n',
      env: { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20xyz' },
    });
    const [zipkin, otlp] = c.config.exporters;
    assert.equal(zipkin.type, 'zipkin');
    assert.equal(otlp.type === 'otlp-http' && otlp.endpoint, 'http://file:4318/v1/traces');
    assert.deepEqual(otlp.type === 'otlp-http' && otlp.headers, { 'x-team': 'a', authorization: 'Bearer xyz' });
    assert.equal(c.origins.get('exporters.1.endpoint')?.short, 'file wt.yaml:exporters.1.endpoint');
    assert.equal(c.origins.get('exporters.1.headers.authorization')?.short, 'env OTEL_EXPORTER_OTLP_HEADERS');
    assert.equal(c.origins.get('exporters.0.type')?.short, 'file wt.yaml:exporters.0.type');
  });

  test('OTEL_TRACES_EXPORTER replaces the list; none empties it; OTEL_BSP_* are defaults an exporter\'s own queue settings override', () => {
    const yaml = 'exporters:\n  - { type: jaeger, queue: { maxQueueSize: 100, maxExportBatchSize: 50 } }\n';
    const replaced = load({ yaml, env: { OTEL_TRACES_EXPORTER: 'otlp,console,zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://z:9411/api/v2/spans' } }).config.exporters;
    assert.deepEqual(
      replaced.map((e) => e.type),
      ['otlp-http', 'console', 'zipkin'],
    );
    assert.equal(replaced[2].type === 'zipkin' && replaced[2].endpoint, 'http://z:9411/api/v2/spans');
    assert.deepEqual(load({ yaml, env: { OTEL_TRACES_EXPORTER: 'none' } }).config.exporters, []);

    const bsp = load({ yaml, env: { OTEL_BSP_MAX_QUEUE_SIZE: '4096', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64', OTEL_BSP_EXPORT_TIMEOUT: '1000' } });
    assert.deepEqual(bsp.config.exporters[0].queue, { maxQueueSize: 100, maxExportBatchSize: 50, scheduledDelayMillis: 200, exportTimeoutMillis: 1000 });
    assert.equal(bsp.origins.get('exporters.0.queue.scheduledDelayMillis')?.short, 'env OTEL_BSP_SCHEDULE_DELAY');
    assert.equal(bsp.origins.get('exporters.0.queue.maxQueueSize')?.short, 'file wt.yaml:exporters.0.queue.maxQueueSize');
  });

  test('WIRETRACE_EXPORTERS and --exporter take short forms and JSON', () => {
    const env = load({ env: { WIRETRACE_EXPORTERS: 'otlp-grpc=http://c:4317,console=stderr,file=/tmp/spans.jsonl' } }).config.exporters;
    assert.deepEqual(
      env.map((e) => e.type),
      ['otlp-grpc', 'console', 'file'],
    );
    const flags = load({ env: { WIRETRACE_EXPORTERS: 'console' }, argv: ['--exporter', '{"type":"splunk","token":"t0k","index":"main"}', '--exporter', 'zipkin'] }).config.exporters;
    assert.deepEqual(
      flags.map((e) => e.type),
      ['splunk', 'zipkin'],
    );
  });
});

describe('every invalid value: one line naming the value, where it came from and what is allowed', () => {
  const cases: Array<[name: string, sources: Sources, line: string]> = [
    ['file: wrong type', { yaml: 'spans: { clientSpans: maybe }' }, 'config file wt.yaml, key spans.clientSpans: "maybe" is not true or false'],
    ['file: out of range', { yaml: 'capture: { snaplen: 10 }' }, 'config file wt.yaml, key capture.snaplen: 10 is not an integer from 64 to 262144'],
    ['file: not an integer', { yaml: 'limits: { maxConnections: 1.5 }' }, 'config file wt.yaml, key limits.maxConnections: 1.5 is not an integer greater than 0'],
    ['file: unknown enum', { yaml: 'observe: { logLevel: loud }' }, 'config file wt.yaml, key observe.logLevel: "loud" is not one of fatal, error, warn, info, debug, trace, silent'],
    ['file: sampler ratio above 1', { yaml: 'sampling: { ratio: 1.5 }' }, 'config file wt.yaml, key sampling.ratio: 1.5 is not a number from 0 to 1'],
    ['file: list item', { yaml: 'routes: ["/ok", "nope"]' }, 'config file wt.yaml, key routes.1: "nope" is not a string starting with "/"'],
    ['file: unknown exporter type', { yaml: 'exporters: [{ type: kafka }]' }, 'config file wt.yaml, key exporters.0.type: "kafka" is not one of otlp-grpc, otlp-http, jaeger, zipkin, splunk, console, file'],
    ['file: missing exporter field', { yaml: 'exporters: [{ type: file }]' }, 'config file wt.yaml, key exporters.0.path: missing; it must be a non-empty string'],
    ['file: malformed mapping', { yaml: 'services: { mappings: [{ match: 10.0.0.1 }] }' }, 'config file wt.yaml, key services.mappings.0.name: missing; it must be a non-empty string'],
    ['env: not a number', { env: { WIRETRACE_SPANS_TIMEOUT_SECONDS: 'soon' } }, 'environment variable WIRETRACE_SPANS_TIMEOUT_SECONDS: "soon" is not a number greater than 0'],
    ['env: out of range', { env: { WIRETRACE_OBSERVE_METRICS_PORT: '70000' } }, 'environment variable WIRETRACE_OBSERVE_METRICS_PORT: "70000" is not an integer from 0 to 65535'],
    ['env: wrong boolean', { env: { WIRETRACE_SPANS_CLIENT_SPANS: 'sure' } }, 'environment variable WIRETRACE_SPANS_CLIENT_SPANS: "sure" is not true or false (also 1/0, yes/no, on/off)'],
    ['env: unknown enum', { env: { WIRETRACE_OBSERVE_LOG_FORMAT: 'xml' } }, 'environment variable WIRETRACE_OBSERVE_LOG_FORMAT: "xml" is not one of auto, json, pretty'],
    ['env: malformed mapping list', { env: { WIRETRACE_SERVICES: '10.0.0.1=a,10.0.0.2' } }, 'environment variable WIRETRACE_SERVICES: "10.0.0.1=a,10.0.0.2" is not a comma-separated list of match=name pairs (match: address, address:port or CIDR)'],
    ['env: malformed number list', { env: { WIRETRACE_FILTERS_INCLUDE_PORTS: '80,http' } }, 'environment variable WIRETRACE_FILTERS_INCLUDE_PORTS: "80,http" is not a comma-separated list of integers from 1 to 65535'],
    ['env: list item out of range', { env: { WIRETRACE_FILTERS_INCLUDE_PORTS: '80,0' } }, 'environment variable WIRETRACE_FILTERS_INCLUDE_PORTS: 0 is not an integer from 1 to 65535'],
    ['env: unknown variable', { env: { WIRETRACE_SPAN_TIMEOUT: '3' } }, 'environment variable WIRETRACE_SPAN_TIMEOUT: unknown setting (did you mean WIRETRACE_SPANS_TIMEOUT_SECONDS?); `wiretrace config --settings` lists them'],
    ['OTEL: sampler ratio below 0', { env: { OTEL_TRACES_SAMPLER_ARG: '-0.1' } }, 'environment variable OTEL_TRACES_SAMPLER_ARG: "-0.1" is not a number from 0 to 1'],
    ['OTEL: sampler ratio not a number', { env: { OTEL_TRACES_SAMPLER_ARG: 'half' } }, 'environment variable OTEL_TRACES_SAMPLER_ARG: "half" is not a number from 0 to 1'],
    ['OTEL: unknown sampler', { env: { OTEL_TRACES_SAMPLER: 'jaeger_remote' } }, 'environment variable OTEL_TRACES_SAMPLER: "jaeger_remote" is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio'],
    ['OTEL: unknown protocol', { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' } }, 'environment variable OTEL_EXPORTER_OTLP_PROTOCOL: "http/xml" is not one of grpc, http/protobuf, http/json'],
    ['OTEL: bad endpoint', { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' } }, 'environment variable OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" is not a URL such as http://host:port/path'],
    ['OTEL: unknown compression', { env: { OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' } }, 'environment variable OTEL_EXPORTER_OTLP_COMPRESSION: "zstd" is not one of none, gzip'],
    ['OTEL: unknown exporter', { env: { OTEL_TRACES_EXPORTER: 'otlp,prometheus' } }, 'environment variable OTEL_TRACES_EXPORTER: "otlp,prometheus" is not a comma-separated list of otlp, zipkin, jaeger, console, or none alone'],
    ['OTEL: malformed resource attributes', { env: { OTEL_RESOURCE_ATTRIBUTES: 'team' } }, 'environment variable OTEL_RESOURCE_ATTRIBUTES: "team" is not a comma-separated list of key=value pairs (W3C Baggage format, percent-encoded)'],
    ['OTEL: BSP not a number', { env: { OTEL_BSP_MAX_QUEUE_SIZE: 'lots' } }, 'environment variable OTEL_BSP_MAX_QUEUE_SIZE: "lots" is not a whole number of milliseconds or spans'],
    ['OTEL: BSP batch above queue', { env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20' } }, 'environment variable OTEL_TRACES_EXPORTER: maxExportBatchSize must not exceed maxQueueSize'],
    ['flag: not a number', { argv: ['--sample-ratio', 'most'] }, 'flag --sample-ratio: "most" is not a number from 0 to 1'],
    ['flag: sampler ratio above 1', { argv: ['--sample-ratio', '2'] }, 'flag --sample-ratio: "2" is not a number from 0 to 1'],
    ['flag: unknown enum', { argv: ['--sampler', 'sometimes'] }, 'flag --sampler: "sometimes" is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio'],
    ['flag: out of range (generated flag)', { argv: ['--observe-max-awaiting-requests', '0'] }, 'flag --observe-max-awaiting-requests: "0" is not an integer greater than 0'],
    ['flag: port not a number', { argv: ['--include-port', 'http'] }, 'flag --include-port: "http" is not an integer from 1 to 65535'],
    ['flag: malformed pair', { argv: ['--resource-attribute', 'team'] }, 'flag --resource-attribute: "team" is not of the form <key>=<value> (percent-encoded)'],
    ['flag: unknown exporter', { argv: ['--exporter', 'kafka=http://k:1'] }, 'flag --exporter: "kafka=http://k:1" is not an exporter: JSON, or otlp-grpc|otlp-http|jaeger|zipkin|splunk|console|file[=endpoint] (file=path, console=stdout|stderr)'],
  ];
  for (const [name, sources, line] of cases) {
    test(name, () => assert.equal(problem(sources), line));
  }

  test('a value from a lower layer that a higher one replaces is not reported', () => {
    assert.equal(load({ yaml: 'sampling: { ratio: 7 }', env: { WIRETRACE_SAMPLING_RATIO: '0.5' } }).config.sampling.ratio, 0.5);
  });

  test('several problems: one line each, all at once', () => {
    const lines = problem({ yaml: 'sampling: { ratio: -1 }', env: { WIRETRACE_CAPTURE_SNAPLEN: 'big' }, argv: ['--max-connections', '0'] }).split('\n');
    assert.equal(lines.length, 3);
    assert.ok(lines.some((l) => l.startsWith('config file wt.yaml, key sampling.ratio: -1 is not')));
    assert.ok(lines.some((l) => l.startsWith('environment variable WIRETRACE_CAPTURE_SNAPLEN: "big" is not')));
    assert.ok(lines.some((l) => l.startsWith('flag --max-connections: "0" is not')));
  });

  test('secrets are never quoted back in errors', () => {
    const header = problem({ env: { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer SUPERSECRET;x' } });
    assert.doesNotMatch(header, /SUPERSECRET/);
    assert.match(header, /^environment variable OTEL_EXPORTER_OTLP_HEADERS: \(hidden value\) is not/);
    const json = problem({ argv: ['--exporter', '{"type":"splunk","token":"SUPERSECRET","bogus":1}'] });
    assert.doesNotMatch(json, /SUPERSECRET/);
    assert.match(json, /^flag --exporter: unknown setting exporters\.0\.bogus/);
    const inFile = problem({ yaml: 'exporters: [{ type: otlp-http, headers: { authorization: 12345 } }]' });
    assert.equal(inFile, 'config file wt.yaml, key exporters.0.headers.authorization: (hidden value) is not a string');
  });
});
