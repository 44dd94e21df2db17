import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OtlpJsonLinesExporter } from '../../src/export/otlp-json-file.js';
import { WiretraceError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'wt-export-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function realSpans() {
  // Spans made by the OpenTelemetry SDK itself, so the file format is checked on what the SDK produces.
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('wiretrace-test');
  const span = tracer.startSpan('GET /api/users/:id', { kind: SpanKind.SERVER, attributes: { 'http.response.status_code': 503, 'url.path': '/api/users/7', retry: true } });
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
  return memory.getFinishedSpans();
}

test('each export call writes one line holding one ExportTraceServiceRequest in the Collector file exporter encoding', async () => {
  const path = join(dir, 'out.jsonl');
  const exporter = new OtlpJsonLinesExporter(path);
  const spans = realSpans();
  exporter.export(spans, (r) => assert.equal(r.code, 0));
  exporter.export(spans, (r) => assert.equal(r.code, 0));
  await exporter.shutdown();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  const req = JSON.parse(lines[0]);
  const rs = req.resourceSpans[0];
  assert.deepEqual(rs.resource.attributes.find((a: { key: string }) => a.key === 'service.name'), { key: 'service.name', value: { stringValue: 'checkout' } });
  const s = rs.scopeSpans[0].spans[0];
  const ctx = spans[0].spanContext();
  assert.equal(s.traceId, ctx.traceId);
  assert.match(s.traceId, /^[0-9a-f]{32}$/);
  assert.match(s.spanId, /^[0-9a-f]{16}$/);
  assert.equal(typeof s.startTimeUnixNano, 'string');
  assert.match(s.endTimeUnixNano, /^\d{19}$/);
  assert.equal(s.kind, 2, 'SERVER is OTLP enum 2');
  assert.equal(s.status.code, 2, 'ERROR is OTLP enum 2');
  const attrs = Object.fromEntries(s.attributes.map((a: { key: string; value: unknown }) => [a.key, a.value]));
  assert.deepEqual(attrs['http.response.status_code'], { intValue: 503 });
  assert.deepEqual(attrs['url.path'], { stringValue: '/api/users/7' });
  assert.deepEqual(attrs.retry, { boolValue: true });
  assert.equal(exporter.written, 2);
});

test('an unwritable destination fails before anything is read, with a clear error', () => {
  assert.throws(() => new OtlpJsonLinesExporter(join(dir, 'no-such-dir', 'out.jsonl')), (err: unknown) => {
    assert.ok(err instanceof WiretraceError);
    assert.equal(err.code, 'WT_ERR_OUTPUT');
    assert.match(err.message, /ENOENT/);
    return true;
  });
});

test('spans offered after shutdown are refused and counted, not lost silently', async () => {
  const exporter = new OtlpJsonLinesExporter(join(dir, 'closed.jsonl'));
  await exporter.shutdown();
  let code = -1;
  exporter.export(realSpans(), (r) => (code = r.code));
  assert.equal(code, 1);
  assert.equal(exporter.refused, 1);
});
