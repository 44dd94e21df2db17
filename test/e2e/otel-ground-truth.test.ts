import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { analyzeFile, serviceOf, SERVER, CLIENT } from '../helpers/analyze.js';

/**
 * Services instrumented with the official OpenTelemetry JS SDK recorded
 * their own spans while tcpdump recorded the wire (examples/demo/record.sh,
 * test/fixtures/otel/record.sh). The spans wiretrace derives from the wire
 * must agree with the SDK's: same trace ids, CLIENT span ids equal to the
 * SDK's client span ids, and the same parent tree.
 */
interface SdkSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: 'SERVER' | 'CLIENT' | 'INTERNAL';
  serviceName: string;
  attributes: Record<string, unknown>;
}

interface Recording {
  services: Record<string, { port: number; host: string }>;
  entryContext?: string;
}

const recordings = [
  { name: 'demo (W3C)', base: '../../examples/demo/demo' },
  { name: 'B3 single and multi header', base: '../fixtures/otel/b3-mixed' },
  { name: 'Jaeger uber-trace-id', base: '../fixtures/otel/jaeger' },
  { name: 'W3C with a parent from outside', base: '../fixtures/otel/w3c-external-parent' },
].map((r) => ({ ...r, path: (ext: string) => fileURLToPath(new URL(`${r.base}${ext}`, import.meta.url)) }));

function readSdkSpans(path: string): SdkSpan[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SdkSpan);
}

for (const rec of recordings) {
  describe(`wire spans agree with the OpenTelemetry SDK: ${rec.name}`, { skip: !existsSync(rec.path('.pcap')) && 'recording missing' }, () => {
    const recording = JSON.parse(readFileSync(rec.path('.recording.json'), 'utf8')) as Recording;
    const sdk = readSdkSpans(rec.path('.sdk-spans.jsonl')).filter((s) => s.kind === 'SERVER' || s.kind === 'CLIENT');
    const sdkById = new Map(sdk.map((s) => [s.spanId, s]));
    // Name the services the way their SDKs do, so names can be compared too.
    const mappings = Object.entries(recording.services).map(([name, s]) => ({ match: `127.0.0.1:${s.port}`, name }));
    let wire: ReadableSpan[] = [];
    const byId = new Map<string, ReadableSpan>();

    test('analyse the capture', async () => {
      ({ spans: wire } = await analyzeFile(rec.path('.pcap'), { services: { mappings } }));
      for (const s of wire) byId.set(s.spanContext().spanId, s);
      assert.ok(wire.length > 0);
    });

    test('every SDK CLIENT span has a wire CLIENT span with the same id, trace and service', () => {
      const sdkClients = sdk.filter((s) => s.kind === 'CLIENT');
      assert.ok(sdkClients.length >= 4, 'the demo makes several client calls');
      for (const c of sdkClients) {
        const w = byId.get(c.spanId);
        assert.ok(w, `no wire span with the SDK client span id ${c.spanId} (${c.serviceName} ${c.name})`);
        assert.equal(w.kind, CLIENT);
        assert.equal(w.spanContext().traceId, c.traceId);
        assert.equal(serviceOf(w), c.serviceName);
      }
    });

    test('every SDK SERVER span has a wire SERVER span in the same trace, service and parent', () => {
      const wireServers = wire.filter((s) => s.kind === SERVER);
      for (const s of sdk.filter((x) => x.kind === 'SERVER')) {
        const candidates = wireServers.filter(
          (w) => w.spanContext().traceId === s.traceId && serviceOf(w) === s.serviceName && (w.parentSpanContext?.spanId ?? null) === s.parentSpanId,
        );
        if (s.parentSpanId !== null) {
          assert.equal(candidates.length, 1, `SDK server span ${s.serviceName} ${s.name} (parent ${s.parentSpanId}) ↔ ${candidates.length} wire spans`);
        } else {
          // An entry span the SDK made without context: on the wire its parent is the
          // uninstrumented caller's CLIENT span (curl), which the SDK never saw.
          const entry = wireServers.filter((w) => w.spanContext().traceId === s.traceId && serviceOf(w) === s.serviceName && !sdkById.has(w.parentSpanContext?.spanId ?? ''));
          assert.equal(entry.length, 1, `entry span ${s.serviceName} ${s.name} in trace ${s.traceId}`);
          const caller = byId.get(entry[0].parentSpanContext?.spanId ?? '');
          assert.ok(caller, 'the entry span is parented by the caller seen on the wire');
          assert.equal(caller.kind, CLIENT);
          assert.equal(caller.resource.attributes['wiretrace.service.kind'], 'external');
        }
      }
    });

    test('the parent tree is the same: each SDK client span hangs under the wire twin of its SDK parent', () => {
      for (const c of sdk.filter((s) => s.kind === 'CLIENT')) {
        const w = byId.get(c.spanId)!;
        const sdkParent = sdkById.get(c.parentSpanId ?? '');
        assert.ok(sdkParent, 'the SDK parent of a client span is its service\'s server span');
        const wireParent = byId.get(w.parentSpanContext?.spanId ?? '');
        assert.ok(wireParent, `wire client span ${c.spanId} has its parent on the wire`);
        assert.equal(wireParent.kind, SERVER);
        assert.equal(serviceOf(wireParent), sdkParent.serviceName);
        assert.equal(wireParent.spanContext().traceId, sdkParent.traceId);
        assert.notEqual(wireParent.attributes['wiretrace.link'], 'inferred');
      }
    });

    test('statuses and routes agree: HTTP errors where the SDK saw them', () => {
      for (const s of sdk) {
        const status = s.attributes['http.response.status_code'];
        if (s.kind !== 'CLIENT' || typeof status !== 'number') continue;
        assert.equal(byId.get(s.spanId)!.attributes['http.response.status_code'], status);
      }
    });

    test('the wire holds no trace the SDK did not make; traces sent unsampled keep traceFlags 0', () => {
      const sdkTraces = new Set(sdk.map((s) => s.traceId));
      for (const w of wire) {
        const { traceId, traceFlags } = w.spanContext();
        if (sdkTraces.has(traceId)) assert.equal(traceFlags & 1, 1, `sampled trace ${traceId} keeps its sampled flag`);
        else assert.equal(traceFlags & 1, 0, `unexpected sampled trace ${traceId} (${serviceOf(w)} ${w.name})`);
      }
    });
  });
}
