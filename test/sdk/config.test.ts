import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { isWiretraceError } from '../../src/errors.js';
import { createTracing, defaultConfig, exporterEntries, resolveSdkConfig, sdkConfigFromEnv } from '../../src/sdk/index.js';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(isWiretraceError(error), `a WiretraceError, got ${String(error)}`);
    assert.equal(error.code, 'WT_ERR_CONFIG');
    return error.message;
  }
  assert.fail('expected a configuration error');
}

describe('SDK configuration', () => {
  test('defaults: disabled, console, parent-based 100 %, the agent queue limits, W3C tracecontext and baggage', () => {
    const c = defaultConfig('checkout');
    assert.equal(c.enabled, false);
    assert.equal(c.serviceName, 'checkout');
    assert.equal(c.serviceVersion, '1.0.0');
    assert.equal(c.environment, 'development');
    assert.deepEqual(c.exporters, ['console']);
    assert.equal(c.samplingRate, 1);
    assert.equal(c.maxExportBatchSize, 512);
    assert.equal(c.maxQueueSize, 2048);
    assert.equal(c.exportTimeoutMillis, 30_000);
    assert.deepEqual(c.propagators, ['tracecontext', 'baggage']);
  });

  test('exporters by name become the agent exporter entries, with the agent schema defaults for endpoints and the SDK queue settings', () => {
    const c = resolveSdkConfig({ serviceName: 's', exporters: ['otlp-grpc', 'jaeger', 'otlp-http', 'zipkin', 'none'], maxQueueSize: 4096, maxExportBatchSize: 256 }, false);
    const entries = exporterEntries(c);
    assert.deepEqual(
      entries.map((e) => [e.type, 'endpoint' in e ? e.endpoint : '']),
      [
        ['otlp-grpc', 'http://localhost:4317'],
        ['jaeger', 'http://localhost:14268/api/traces'],
        ['otlp-http', 'http://localhost:4318/v1/traces'],
        ['zipkin', 'http://localhost:9411/api/v2/spans'],
      ],
    );
    for (const e of entries) {
      assert.equal(e.queue.maxQueueSize, 4096);
      assert.equal(e.queue.maxExportBatchSize, 256);
      assert.equal(e.queue.exportTimeoutMillis, 30_000);
    }
    const full = exporterEntries(resolveSdkConfig({ exporters: [{ type: 'splunk', token: 't', endpoint: 'https://hec.example:8088/services/collector' }] }, false));
    assert.equal(full[0].type, 'splunk');
  });

  test('invalid settings fail fast with one message naming each of them', () => {
    const message = configError(() => createTracing({ enabled: true, samplingRate: 1.5, exporters: ['kafka' as 'console'], maxExportBatchSize: 5000 }, { env: false }));
    assert.match(message, /^wiretrace sdk: invalid configuration:/);
    assert.match(message, /serviceName: is required when tracing is enabled/);
    assert.match(message, /samplingRate: .*1/);
    assert.match(message, /exporters/);
    assert.match(message, /maxExportBatchSize: must not exceed maxQueueSize/);
    assert.match(configError(() => resolveSdkConfig({ serviceName: 's', exporters: ['splunk'] }, false)), /splunkToken: is required by the splunk exporter/);
    assert.match(configError(() => resolveSdkConfig({ serviceName: 's', colour: 'blue' } as never, false)), /colour/);
  });

  test('a bad value from the environment names the variable it came from', () => {
    const message = configError(() => resolveSdkConfig({ serviceName: 's' }, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' }));
    assert.match(message, /samplingRate \(from OTEL_TRACES_SAMPLER_ARG\)/);
    assert.match(configError(() => resolveSdkConfig({}, { WIRETRACE_SDK_MAX_QUEUE_SIZE: '-3' })), /maxQueueSize \(from WIRETRACE_SDK_MAX_QUEUE_SIZE\)/);
  });

  test('the standard OTEL_* variables', () => {
    const c = resolveSdkConfig(
      { enabled: true },
      {
        OTEL_SERVICE_NAME: 'orders',
        OTEL_RESOURCE_ATTRIBUTES: 'service.version=2.3.4,deployment.environment.name=prod,team=core%20payments',
        OTEL_TRACES_EXPORTER: 'otlp,console',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_BSP_MAX_QUEUE_SIZE: '4096',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '128',
        OTEL_BSP_EXPORT_TIMEOUT: '5000',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_PROPAGATORS: 'b3multi,splunk',
      },
    );
    assert.equal(c.serviceName, 'orders');
    assert.equal(c.serviceVersion, '2.3.4');
    assert.equal(c.environment, 'prod');
    assert.deepEqual(c.resourceAttributes, { team: 'core payments' });
    assert.deepEqual(c.exporters, ['otlp-grpc', 'console']);
    assert.deepEqual(c.headers, { 'x-api-key': 'abc=' });
    assert.equal(c.samplingRate, 0.1);
    assert.deepEqual([c.maxQueueSize, c.maxExportBatchSize, c.exportTimeoutMillis, c.scheduledDelayMillis], [4096, 128, 5000, 100]);
    assert.deepEqual(c.propagators, ['b3multi', 'splunk']);
    const grpc = exporterEntries(c)[0];
    assert.equal(grpc.type === 'otlp-grpc' && grpc.endpoint, 'http://collector:4317');
    assert.deepEqual(grpc.type === 'otlp-grpc' && grpc.headers, { 'x-api-key': 'abc=' });

    // OTLP over HTTP (the specification's default protocol): the base endpoint gets the signal path.
    const http = exporterEntries(resolveSdkConfig({ serviceName: 's' }, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }))[0];
    assert.equal(http.type === 'otlp-http' && http.endpoint, 'http://collector:4318/v1/traces');
    const json = exporterEntries(resolveSdkConfig({ serviceName: 's' }, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' }))[0];
    assert.equal(json.type === 'otlp-http' && `${json.endpoint} ${json.protocol}`, 'http://c:4318/custom json');
    assert.equal(resolveSdkConfig({ serviceName: 's' }, { OTEL_TRACES_SAMPLER: 'always_off' }).samplingRate, 0);
  });

  test('WIRETRACE_SDK_* variables override OTEL_* and the given config; OTEL_SDK_DISABLED=true wins over everything', () => {
    const env = {
      OTEL_SERVICE_NAME: 'from-otel',
      WIRETRACE_SDK_SERVICE_NAME: 'from-wiretrace',
      WIRETRACE_SDK_ENABLED: 'true',
      WIRETRACE_SDK_EXPORTERS: 'splunk,jaeger',
      WIRETRACE_SDK_SPLUNK_TOKEN: 'tok',
      WIRETRACE_SDK_SPLUNK_ENDPOINT: 'https://hec:8088/services/collector',
      WIRETRACE_SDK_JAEGER_ENDPOINT: 'http://jaeger:14268/api/traces',
      WIRETRACE_SDK_SAMPLING_RATE: '0.25',
      WIRETRACE_SDK_ENVIRONMENT: 'staging',
      WIRETRACE_SDK_RESOURCE_ATTRIBUTES: 'region=eu-west-1',
    };
    const c = resolveSdkConfig({ serviceName: 'from-code', samplingRate: 1 }, env);
    assert.equal(c.enabled, true);
    assert.equal(c.serviceName, 'from-wiretrace');
    assert.equal(c.samplingRate, 0.25);
    assert.equal(c.environment, 'staging');
    assert.deepEqual(c.resourceAttributes, { region: 'eu-west-1' });
    const [splunk, jaeger] = exporterEntries(c);
    assert.equal(splunk.type === 'splunk' && `${splunk.endpoint} ${splunk.token}`, 'https://hec:8088/services/collector tok');
    assert.equal(jaeger.type === 'jaeger' && jaeger.endpoint, 'http://jaeger:14268/api/traces');
    assert.equal(resolveSdkConfig({ serviceName: 's', enabled: true }, { ...env, OTEL_SDK_DISABLED: 'true' }).enabled, false);
    assert.deepEqual(sdkConfigFromEnv({}).values, {});
  });

  test('disabled: a no-op tracer, nothing installed globally, helpers and middleware pass straight through', async () => {
    const before = trace.getTracerProvider();
    const tracing = createTracing({ ...defaultConfig('quiet') }, { env: false });
    assert.equal(tracing.isEnabled(), false);
    const span = tracing.tracer('x').startSpan('nothing');
    assert.equal(span.isRecording(), false);
    assert.equal(span.spanContext().traceId, '00000000000000000000000000000000');
    span.end();
    assert.equal(trace.getTracerProvider(), before);
    const headers: Record<string, string> = {};
    tracing.inject(headers);
    assert.deepEqual(headers, {});
    await tracing.forceFlush();
    await tracing.shutdown();
  });
});
