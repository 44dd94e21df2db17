import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hrAddNanos, hrCompare, hrDiffNanos, hrToNanosString } from '../../src/model/time.js';

test('hrAddNanos carries across the second boundary both ways', () => {
  assert.deepEqual(hrAddNanos([10, 999_999_999], 2), [11, 1]);
  assert.deepEqual(hrAddNanos([10, 1], -2), [9, 999_999_999]);
  assert.deepEqual(hrAddNanos([10, 0], 30e9), [40, 0]);
});

test('differences and comparisons are exact to the nanosecond', () => {
  assert.equal(hrDiffNanos([1_700_000_001, 5], [1_700_000_000, 999_999_999]), 6);
  assert.ok(hrCompare([5, 1], [5, 2]) < 0);
  assert.equal(hrToNanosString([1_700_000_000, 123]), '1700000000000000123');
});
