import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, WiretraceError } from '../src/errors.js';

/**
 * Error codes are part of the interface: scripts match them and exit
 * statuses. Changing one is a breaking change, so this table pins them.
 */
test('the error registry: stable codes and exit statuses', () => {
  const pinned = Object.fromEntries(Object.entries(ErrorCodes).map(([code, e]) => [code, e.exitCode]));
  assert.deepEqual(pinned, {
    WT_ERR_USAGE: 2,
    WT_ERR_FILE_NOT_FOUND: 2,
    WT_ERR_FILE_UNREADABLE: 2,
    WT_ERR_NOT_A_CAPTURE: 2,
    WT_ERR_CAPTURE_CORRUPT: 2,
    WT_ERR_CONFIG: 2,
    WT_ERR_CAPTURE_UNAVAILABLE: 2,
    WT_ERR_OUTPUT: 1,
    WT_ERR_INTERNAL: 1,
  });
  for (const [code, e] of Object.entries(ErrorCodes)) assert.ok(e.title.length > 0, `${code} has a title`);
});

test('a WiretraceError carries its code and exit status', () => {
  const err = new WiretraceError('WT_ERR_CONFIG', 'flag --x: bad');
  assert.equal(err.code, 'WT_ERR_CONFIG');
  assert.equal(err.exitCode, 2);
  assert.equal(err.message, 'flag --x: bad');
});
