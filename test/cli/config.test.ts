import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { publicCapture, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'wt-config-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// The environment of the test run must not leak into what the CLI sees.
const clean: NodeJS.ProcessEnv = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('OTEL_') || k.startsWith('WIRETRACE_')).map((k) => [k, undefined]));

const SECRETS = ['FILE-HONEYCOMB-KEY-1', 'ENV-BEARER-TOKEN-2', 'SPLUNK-TOKEN-3', 'URL-PASSWORD-4', 'FLAG-SECRET-5'];

const configFile = join(dir, 'wiretrace.yaml');
writeFileSync(
  configFile,
  `spans:
  timeoutSeconds: 5
sampling:
  sampler: traceidratio
  ratio: 0.5
exporters:
  - type: otlp-http
    endpoint: http://agent:${SECRETS[3]}@collector:4318/v1/traces
    headers: { x-honeycomb-team: ${SECRETS[0]} }
  - type: splunk
    token: ${SECRETS[2]}
`,
);

describe('wiretrace config', () => {
  test('prints the merged configuration with the origin of every value, secrets masked', async () => {
    const r = await runCli(['config', '--config', configFile, '--sample-ratio', '0.25', '--exporter', `{"type":"otlp-grpc","headers":{"authorization":"${SECRETS[4]}"}}`, '--exporter', 'zipkin'], {
      env: { ...clean, OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${SECRETS[1]}`, WIRETRACE_CAPTURE_INTERFACE: 'eth7', OTEL_SERVICE_NAME: 'node-a' },
    });
    assert.equal(r.code, 0, r.stderr);
    for (const secret of SECRETS) assert.ok(!r.stdout.includes(secret), `${secret} must not be printed`);
    const lines = r.stdout.split('\n');
    const line = (re: RegExp) => lines.find((l) => re.test(l)) ?? assert.fail(`no line ${re} in\n${r.stdout}`);
    assert.match(line(/^ {2}timeoutSeconds:/), /timeoutSeconds: 5 # file .*wiretrace\.yaml:spans\.timeoutSeconds$/);
    assert.match(line(/^ {2}ratio:/), /ratio: 0\.25 # flag --sample-ratio$/);
    assert.match(line(/^ {2}sampler:/), /sampler: traceidratio # file .*:sampling\.sampler$/);
    assert.match(line(/^ {2}interface:/), /interface: eth7 # env WIRETRACE_CAPTURE_INTERFACE$/);
    assert.match(line(/wiretrace\.agent\.name/), /node-a # env OTEL_SERVICE_NAME$/);
    assert.match(line(/^ {2}maxConnections:/), /100000 # default$/);
    // The flags replaced the exporters of the file, which the OTLP variables had overlaid: flags win.
    assert.match(line(/authorization:/), /authorization: "\*\*\*" # flag --exporter$/);
    assert.match(line(/^ {2}- type: otlp-grpc/), /# flag --exporter$/);
    assert.match(line(/^ {2}- type: zipkin/), /# flag --exporter$/);
    // And it is YAML: it reads back, masks included.
    const parsed = parseYaml(r.stdout) as { spans: { timeoutSeconds: number }; exporters: Array<{ type: string }> };
    assert.equal(parsed.spans.timeoutSeconds, 5);
    assert.deepEqual(
      parsed.exporters.map((e) => e.type),
      ['otlp-grpc', 'zipkin'],
    );
  });

  test('secrets of the file are masked too, including a password in a URL', async () => {
    const r = await runCli(['config', '--config', configFile, '--json'], { env: { ...clean, OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${SECRETS[1]}` } });
    assert.equal(r.code, 0, r.stderr);
    for (const secret of SECRETS) assert.ok(!r.stdout.includes(secret), `${secret} must not be printed`);
    const out = JSON.parse(r.stdout) as { config: { exporters: Array<Record<string, unknown>> }; origins: Record<string, string> };
    assert.equal(out.config.exporters[0].endpoint, 'http://agent:***@collector:4318/v1/traces');
    assert.deepEqual(out.config.exporters[0].headers, { 'x-honeycomb-team': '***', authorization: '***' });
    assert.equal(out.origins['exporters.0.headers.authorization'], 'env OTEL_EXPORTER_OTLP_HEADERS');
    assert.equal(out.config.exporters[1].token, '***');
    assert.match(out.origins['exporters.1.token'], /^file .*:exporters\.1\.token$/);
    assert.equal(out.origins['exporters.1.queue.maxQueueSize'], 'default');
    assert.equal(out.origins['spans.clientSpans'], 'default');
  });

  test('--settings lists every setting with its flag, variable and what it allows', async () => {
    const r = await runCli(['config', '--settings'], { env: clean });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sampling\.ratio\n.*\n {4}flag --sample-ratio <0\.\.1> {3}env WIRETRACE_SAMPLING_RATIO\n {4}a number from 0 to 1; default 1$/m);
    assert.match(r.stdout, /flag --capture-process-enrichment \/ --no-capture-process-enrichment {3}env WIRETRACE_CAPTURE_PROCESS_ENRICHMENT/);
    assert.match(r.stdout, /^OTEL_EXPORTER_OTLP_ENDPOINT$/m);
  });

  test('an invalid value exits 2 with one line naming the value, its source and what is allowed', async () => {
    const env = await runCli(['config'], { env: { ...clean, OTEL_TRACES_SAMPLER_ARG: '1.5' } });
    assert.equal(env.code, 2);
    assert.equal(env.stderr, 'wiretrace: environment variable OTEL_TRACES_SAMPLER_ARG: "1.5" is not a number from 0 to 1 [WT_ERR_CONFIG]\n');
    const flag = await runCli(['config', '--sampler', 'xray'], { env: clean });
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /^wiretrace: flag --sampler: "xray" is not one of always_on, always_off, traceidratio, /);
    assert.equal(flag.stdout, '');
  });

  test('analyze takes the environment layer too, and its sampler drops what it must', async () => {
    const out = join(dir, 'spans.jsonl');
    const r = await runCli(['analyze', publicCapture('simple_http.pcap'), '-o', out, '--summary', 'json'], { env: { ...clean, OTEL_TRACES_SAMPLER: 'always_off', WIRETRACE_SAMPLING_KEEP_ERRORS: 'false' } });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stderr.trim().split('\n').pop() as string) as { spans?: Record<string, number> };
    assert.ok(JSON.stringify(summary).includes('"sampled-out"'), r.stderr);
    const bad = await runCli(['analyze', publicCapture('simple_http.pcap')], { env: { ...clean, WIRETRACE_SAMPLING_RATIO: '-1' } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /environment variable WIRETRACE_SAMPLING_RATIO: "-1" is not a number from 0 to 1/);
  });
});
