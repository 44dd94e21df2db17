import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { exportersSchema } from '../../src/export/config.js';
import { createExporters } from '../../src/export/factory.js';
import { sdkSpans } from './receivers.js';

test('defaults: 512 spans per batch, 5 s batch delay, 2048 queued, 30 s export timeout; OTLP endpoints on localhost', () => {
  const [grpc, http, jaeger, zipkin] = exportersSchema.parse([{ type: 'otlp-grpc' }, { type: 'otlp-http' }, { type: 'jaeger' }, { type: 'zipkin' }]);
  assert.deepEqual(grpc.queue, { maxExportBatchSize: 512, scheduledDelayMillis: 5000, maxQueueSize: 2048, exportTimeoutMillis: 30_000 });
  assert.deepEqual(grpc.retry, { initialBackoffMs: 1000, maxBackoffMs: 30_000, maxAttempts: 5, maxElapsedMs: 120_000 });
  assert.deepEqual(grpc.type === 'otlp-grpc' && grpc.tls, { insecure: false, rejectUnauthorized: true });
  assert.equal(grpc.type === 'otlp-grpc' && grpc.endpoint, 'http://localhost:4317');
  assert.equal(http.type === 'otlp-http' && `${http.endpoint} ${http.protocol} ${http.compression}`, 'http://localhost:4318/v1/traces protobuf none');
  assert.equal(jaeger.type === 'jaeger' && jaeger.endpoint, 'http://localhost:14268/api/traces');
  assert.equal(zipkin.type === 'zipkin' && zipkin.endpoint, 'http://localhost:9411/api/v2/spans');
  assert.deepEqual(exportersSchema.parse(undefined), []);
});

test('invalid exporter settings are refused with the path that is wrong', () => {
  const issues = (input: unknown) => {
    const r = exportersSchema.safeParse(input);
    assert.equal(r.success, false, JSON.stringify(input));
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
  };
  assert.match(issues([{ type: 'splunk' }]), /0\.token/);
  assert.match(issues([{ type: 'kafka' }]), /0\.type/);
  assert.match(issues([{ type: 'otlp-http', protocol: 'xml' }]), /0\.protocol/);
  assert.match(issues([{ type: 'otlp-http', endpoint: 'not a url' }]), /0\.endpoint/);
  assert.match(issues([{ type: 'otlp-http', tlss: {} }]), /tlss/);
  assert.match(issues([{ type: 'zipkin', queue: { maxExportBatchSize: 100, maxQueueSize: 10 } }]), /maxExportBatchSize must not exceed maxQueueSize/);
  assert.match(issues([{ type: 'otlp-grpc', tls: { rejectUnauthorized: false } }]), /0\.tls\.rejectUnauthorized: otlp-grpc cannot skip/);
  assert.match(issues([{ type: 'jaeger', tls: { certFile: 'a.pem' } }]), /certFile and keyFile go together/);
  assert.match(issues([{ type: 'file' }]), /0\.path/);
});

test('several exporters at once: each span goes to every one; console prints trace trees, file writes OTLP/JSON lines; names count per type', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wt-export-'));
  try {
    const stdout = new PassThrough();
    let printed = '';
    stdout.on('data', (c: Buffer) => (printed += c.toString('utf8')));
    const path = join(dir, 'spans.jsonl');
    const { fanout, queues } = createExporters(
      exportersSchema.parse([
        { type: 'console', queue: { scheduledDelayMillis: 10 } },
        { type: 'file', path, queue: { scheduledDelayMillis: 10 } },
        { type: 'console', name: 'debug', stream: 'stderr' },
        { type: 'console' },
      ]),
      { stdout, stderr: new PassThrough() },
    );
    assert.deepEqual(
      queues.map((q) => q.name),
      ['console', 'file', 'debug', 'console-2'],
    );
    const spans = sdkSpans();
    fanout.offer(spans);
    await fanout.shutdown(2000);
    assert.match(printed, new RegExp(`trace ${spans[0].spanContext().traceId}  3 spans, 2 services`));
    assert.match(printed, /checkout {2}SERVER {2}GET \/api\/cart\/:id/);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    const request = JSON.parse(lines[0]) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
    assert.equal(request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).length, 3);
    for (const q of queues) assert.equal(q.counters.exported, 3, q.name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
