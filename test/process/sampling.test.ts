import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { configSchema } from '../../src/config/schema.js';
import { Stats } from '../../src/model/stats.js';
import { ATTR_WIRETRACE_CONTEXT_SOURCE } from '../../src/process/attributes.js';
import { WireSpan } from '../../src/process/spans.js';
import { ATTR_WIRETRACE_SAMPLING_RULE, TraceSampler, type SamplingConfig } from '../../src/process/sampling.js';
import { analyzeFile } from '../helpers/analyze.js';

const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url));

function sampling(input: Partial<SamplingConfig>): SamplingConfig {
  return configSchema.parse({ sampling: input }).sampling;
}

const resource = resourceFromAttributes({ 'service.name': 'svc' });

function span(traceId: string, options: { flags?: number; context?: boolean; error?: boolean; ms?: number; start?: number } = {}): WireSpan {
  const start = options.start ?? 1_700_000_000;
  const ms = options.ms ?? 1;
  return new WireSpan({
    name: 'GET /',
    kind: SpanKind.SERVER,
    traceId,
    spanId: randomBytes(8).toString('hex'),
    traceFlags: options.flags ?? TraceFlags.SAMPLED,
    startTime: [start, 0],
    endTime: [start + Math.floor(ms / 1000), (ms % 1000) * 1e6],
    status: { code: options.error ? SpanStatusCode.ERROR : SpanStatusCode.UNSET },
    attributes: options.context ? { [ATTR_WIRETRACE_CONTEXT_SOURCE]: 'w3c' } : {},
    events: [],
    resource,
    instrumentationScope: { name: 'test' },
  });
}

const traceIds = (spans: readonly ReadableSpan[]) => new Set(spans.map((s) => s.spanContext().traceId));

describe('traceidratio decides exactly as OpenTelemetry JS TraceIdRatioBasedSampler', () => {
  // 100k random ids, plus the edges: all zero (invalid), all f, uppercase hex.
  const ids = Array.from({ length: 100_000 }, () => randomBytes(16).toString('hex'));
  ids.push('00000000000000000000000000000000', 'ffffffffffffffffffffffffffffffff', '00000000000000000000000000000001', '0AF7651916CD43DD8448EB211C80319C');
  // Ids whose four 32-bit words XOR to values around each ratio's threshold, where an off-by-one would show.
  for (const ratio of [0.001, 0.1, 0.5, 0.999]) {
    const bound = ratio * 0xffffffff;
    for (const v of [Math.floor(bound) - 1, Math.floor(bound), Math.ceil(bound), Math.ceil(bound) + 1]) {
      ids.push(v.toString(16).padStart(8, '0') + '0'.repeat(24), '0'.repeat(8) + v.toString(16).padStart(8, '0') + '0000000100000001');
    }
  }
  const spans = ids.map((id) => span(id));

  for (const ratio of [0, 0.001, 0.1, 0.5, 0.999, 1]) {
    test(`ratio ${ratio}: the same trace ids kept on ${ids.length} ids`, () => {
      const sdk = new TraceIdRatioBasedSampler(ratio);
      const expected = new Set(ids.filter((id) => sdk.shouldSample(ROOT_CONTEXT, id).decision === SamplingDecision.RECORD_AND_SAMPLED));
      const stats = new Stats();
      const sampler = new TraceSampler(sampling({ sampler: 'traceidratio', ratio, keepErrors: false }), stats);
      const kept = new Set<string>();
      for (let i = 0; i < spans.length; i += 997) for (const s of sampler.filter(spans.slice(i, i + 997))) kept.add(s.spanContext().traceId);
      assert.equal(kept.size, expected.size);
      for (const id of expected) assert.ok(kept.has(id), `SDK samples ${id}, wiretrace does not`);
      assert.equal(stats.spans.get('sampled-out'), ids.length - expected.size);
      if (ratio > 0 && ratio < 1) {
        // Not a tautology check: the ids really were split.
        assert.ok(expected.size > 0 && expected.size < ids.length);
      }
    });
  }

  test('parentbased_traceidratio decides a root trace by the ratio, like the SDK', () => {
    const ids200 = ids.slice(0, 2000);
    const sdk = new TraceIdRatioBasedSampler(0.3);
    const kept = traceIds(new TraceSampler(sampling({ sampler: 'parentbased_traceidratio', ratio: 0.3 }), new Stats()).filter(ids200.map((id) => span(id))));
    assert.deepEqual(kept, new Set(ids200.filter((id) => sdk.shouldSample(ROOT_CONTEXT, id).decision === SamplingDecision.RECORD_AND_SAMPLED)));
  });
});

describe('parent-based sampling honours the propagated sampled flag', () => {
  test('context-headers capture: the b3 request with sampled=0 is dropped by parentbased_always_on, kept by always_on', async () => {
    const { spans } = await analyzeFile(fixture('http/context-headers.pcap'));
    const unsampled = '0000000000000000a3ce929d0e0e4736';
    assert.ok(traceIds(spans).has(unsampled), 'the capture yields the unsampled trace');

    const stats = new Stats();
    const parentBased = new TraceSampler(sampling({ sampler: 'parentbased_always_on' }), stats).filter(spans);
    assert.ok(!traceIds(parentBased).has(unsampled));
    assert.equal(stats.spans.get('sampled-out'), spans.filter((s) => s.spanContext().traceId === unsampled).length);
    assert.deepEqual(traceIds(parentBased), new Set([...traceIds(spans)].filter((t) => t !== unsampled)));

    assert.equal(new TraceSampler(sampling({ sampler: 'always_on' }), new Stats()).filter(spans).length, spans.length);
  });

  test('context-headers capture: parentbased_always_off keeps only traces a caller sampled; roots are dropped', async () => {
    const { spans } = await analyzeFile(fixture('http/context-headers.pcap'));
    const kept = new TraceSampler(sampling({ sampler: 'parentbased_always_off', keepErrors: false }), new Stats()).filter(spans);
    const expected = JSON.parse(readFileSync(fixture('http/context-headers.expected.json'), 'utf8')) as { exchanges: Array<{ expectedContext?: { traceId: string; sampled?: boolean } }> };
    // Splunk's headers carry no flag: the wire pipeline treats them as sampled, as the propagators do.
    const sampledByCaller = new Set(expected.exchanges.filter((e) => e.expectedContext && e.expectedContext.sampled !== false).map((e) => e.expectedContext!.traceId));
    assert.deepEqual(traceIds(kept), sampledByCaller);
  });

  test('w3c-external-parent capture: the traces kept are exactly those the instrumented services recorded', async () => {
    const { spans } = await analyzeFile(fixture('otel/w3c-external-parent.pcap'));
    const groundTruth = new Set(
      readFileSync(fixture('otel/w3c-external-parent.sdk-spans.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { traceId: string }).traceId),
    );
    assert.ok(traceIds(spans).has('0af7651916cd43dd8448eb211c803109'), 'the unsampled trace is on the wire');
    for (const sampler of ['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const) {
      const kept = new TraceSampler(sampling({ sampler, ratio: 0, keepErrors: false }), new Stats()).filter(spans);
      assert.deepEqual(traceIds(kept), groundTruth, sampler);
    }
  });

  test('a later batch of a trace without context spans gets the decision its propagated flag made', () => {
    const id = 'aa'.repeat(16);
    const sampler = new TraceSampler(sampling({ sampler: 'parentbased_always_on' }), new Stats());
    assert.equal(sampler.filter([span(id, { context: true, flags: TraceFlags.NONE })]).length, 0);
    assert.equal(sampler.filter([span(id), span(id)]).length, 0, 'children without context follow the remembered flag');
    assert.equal(sampler.filter([span('bb'.repeat(16))]).length, 1, 'a root trace is decided by the root sampler');
  });

  test('remembered traces are bounded; forgetting is counted', () => {
    const stats = new Stats();
    const sampler = new TraceSampler(sampling({ sampler: 'parentbased_always_on', maxRememberedTraces: 2 }), stats);
    for (const id of ['01', '02', '03'].map((p) => p.repeat(16))) sampler.filter([span(id, { context: true, flags: TraceFlags.NONE })]);
    assert.equal(stats.drops.get('sampling-memory'), 1);
    // The first trace was forgotten: its context-less batch is now a root.
    assert.equal(sampler.filter([span('01'.repeat(16))]).length, 1);
    assert.equal(sampler.filter([span('03'.repeat(16))]).length, 0);
  });
});

describe('keep rules keep error and slow traces whatever the sampler says', () => {
  test('always_off with keepErrors keeps exactly the traces holding an error span, marked "error" (node-framing capture, 5xx)', async () => {
    const { spans } = await analyzeFile(fixture('http/node-framing.pcap'));
    const errorTraces = new Set(spans.filter((s) => s.status.code === SpanStatusCode.ERROR).map((s) => s.spanContext().traceId));
    assert.ok(errorTraces.size > 0 && errorTraces.size < traceIds(spans).size, 'the capture has error and ok traces');
    const stats = new Stats();
    const kept = new TraceSampler(sampling({ sampler: 'always_off', keepErrors: true }), stats).filter(spans);
    assert.deepEqual(traceIds(kept), errorTraces);
    for (const s of kept) assert.equal(s.attributes[ATTR_WIRETRACE_SAMPLING_RULE], 'error');
    assert.equal(stats.spans.get('sampled-out'), spans.length - kept.length);

    const none = new TraceSampler(sampling({ sampler: 'always_off', keepErrors: false }), new Stats()).filter(spans);
    assert.equal(none.length, 0);
  });

  test('keepSlowerThanMs keeps the traces holding a span at least that slow, marked "slow"', () => {
    const fast = span('0f'.repeat(16), { ms: 20 });
    const slow = span('5e'.repeat(16), { ms: 250 });
    const slowSibling = span('5e'.repeat(16), { ms: 2 });
    const exactly = span('e1'.repeat(16), { ms: 100 });
    const kept = new TraceSampler(sampling({ sampler: 'traceidratio', ratio: 0, keepSlowerThanMs: 100 }), new Stats()).filter([fast, slow, slowSibling, exactly]);
    assert.deepEqual(kept, [slow, slowSibling, exactly]);
    for (const s of kept) assert.equal(s.attributes[ATTR_WIRETRACE_SAMPLING_RULE], 'slow');
    assert.equal(fast.attributes[ATTR_WIRETRACE_SAMPLING_RULE], undefined);
  });

  test('a trace kept by the sampler is not marked; a rule also keeps later batches of its trace', () => {
    const sampler = new TraceSampler(sampling({ sampler: 'always_off' }), new Stats());
    const id = 'c0'.repeat(16);
    assert.equal(sampler.filter([span(id)]).length, 0, 'before the error arrives the batch is dropped');
    assert.equal(sampler.filter([span(id, { error: true })]).length, 1);
    const later = sampler.filter([span(id)]);
    assert.equal(later.length, 1);
    assert.equal(later[0].attributes[ATTR_WIRETRACE_SAMPLING_RULE], 'error');

    const on = span('d0'.repeat(16), { error: true });
    new TraceSampler(sampling({ sampler: 'always_on' }), new Stats()).filter([on]);
    assert.equal(on.attributes[ATTR_WIRETRACE_SAMPLING_RULE], undefined);
  });
});
