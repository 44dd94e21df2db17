import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUCKET_COUNT, LogHistogram, MAX_VALUE, MIN_VALUE, RELATIVE_ACCURACY } from '../../src/graph/histogram.js';

/** The nearest-rank quantile of the exact values, the definition the histogram approximates. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

const latency = fc.oneof(
  fc.double({ min: 0.001, max: 100, noNaN: true }),
  fc.double({ min: 100, max: 60_000, noNaN: true }),
  fc.integer({ min: 1, max: 5000 }).map((n) => n / 7),
);

describe('LogHistogram', () => {
  test('every quantile is within the relative accuracy (1%, the graph promises 2%) of the exact nearest-rank value', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 2000 }), fc.constantFrom(0, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1), (values, q) => {
        const h = new LogHistogram();
        for (const v of values) h.record(v);
        const exact = exactQuantile([...values].sort((a, b) => a - b), q);
        const got = h.quantile(q);
        assert.ok(Math.abs(got - exact) <= exact * RELATIVE_ACCURACY * 1.000001, `q=${q}: got ${got}, exact ${exact}`);
      }),
      { numRuns: 300 },
    );
  });

  test('min, max, count and sum are exact; an empty histogram answers 0', () => {
    const h = new LogHistogram();
    assert.equal(h.quantile(0.5), 0);
    for (const v of [3, 1, 2, 10]) h.record(v);
    assert.deepEqual([h.count, h.sum, h.min, h.max], [4, 16, 1, 10]);
    assert.equal(h.quantile(0), 1);
    assert.equal(h.quantile(1), 10);
  });

  test('memory stays within the fixed bucket range however wide the values', () => {
    const h = new LogHistogram();
    for (let v = MIN_VALUE; v < MAX_VALUE * 100; v *= 1.001) h.record(v);
    h.record(0);
    h.record(Number.MAX_VALUE);
    assert.ok(h.bucketBytes <= BUCKET_COUNT * 4, `${h.bucketBytes} bytes for ${BUCKET_COUNT} buckets`);
    assert.equal(h.max, Number.MAX_VALUE);
  });

  test('merging two histograms answers as one histogram of all the values', () => {
    fc.assert(
      fc.property(fc.array(latency, { maxLength: 300 }), fc.array(latency, { maxLength: 300 }), (a, b) => {
        const ha = new LogHistogram();
        const hb = new LogHistogram();
        const all = new LogHistogram();
        for (const v of a) {
          ha.record(v);
          all.record(v);
        }
        for (const v of b) {
          hb.record(v);
          all.record(v);
        }
        ha.merge(hb);
        for (const q of [0.1, 0.5, 0.9, 0.99]) assert.equal(ha.quantile(q), all.quantile(q));
        assert.equal(ha.count, all.count);
      }),
      { numRuns: 100 },
    );
  });

  test('zero, negative and NaN durations never corrupt the answer', () => {
    const h = new LogHistogram();
    h.record(0);
    h.record(-5);
    h.record(Number.NaN);
    h.record(7);
    assert.equal(h.count, 3);
    assert.equal(h.quantile(1), 7);
    assert.equal(h.quantile(0), -5);
  });
});
