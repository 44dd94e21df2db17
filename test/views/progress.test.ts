import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, ProgressBar, type ProgressStream } from '../../src/views/progress.js';

function fakeStream(isTTY: boolean, columns = 100): ProgressStream & { writes: string[] } {
  const writes: string[] = [];
  return { isTTY, columns, writes, write: (chunk: string) => (writes.push(chunk), true) };
}

describe('progress bar', () => {
  test('writes nothing at all when the stream is not a terminal', () => {
    const stream = fakeStream(false);
    const progress = createProgress(stream, { total: 1000 });
    progress.update(10);
    progress.update(1000);
    progress.finish();
    assert.deepEqual(stream.writes, []);
  });

  test('shows bytes read of the total, the rate and the time left, on one redrawn line', () => {
    let now = 0;
    const stream = fakeStream(true);
    const progress = createProgress(stream, { total: 100e6, now: () => now });
    now = 2000;
    progress.update(25e6);
    assert.equal(stream.writes.length, 1);
    const line = stream.writes[0];
    assert.ok(line.startsWith('\r') && line.endsWith('\x1b[K'), JSON.stringify(line));
    assert.match(line, /23\.8 MiB \/ 95\.4 MiB · 12\.5 MB\/s · 25% · 6\.00 s left/);
    assert.match(line, /\[#+-+\]/);
  });

  test('redraws at most ten times a second, and clears its line at the end', () => {
    let now = 0;
    const stream = fakeStream(true);
    const progress = createProgress(stream, { total: 1000, now: () => now });
    for (let i = 1; i <= 100; i++) {
      now = i * 20; // 50 updates a second for two seconds
      progress.update(i * 10);
    }
    assert.ok(stream.writes.length <= 21 && stream.writes.length >= 19, `${stream.writes.length} redraws`);
    progress.finish();
    assert.equal(stream.writes.at(-1), '\r\x1b[K');
    progress.update(1000);
    progress.finish();
    assert.equal(stream.writes.at(-1), '\r\x1b[K', 'nothing after finish');
  });

  test('without a total (a pipe) it shows bytes and rate only; lines never pass the terminal width', () => {
    const bar = new ProgressBar(fakeStream(true, 30), { now: () => 0 });
    const line = bar.line(5e6, 1000);
    assert.ok(line.length < 30);
    assert.match(new ProgressBar(fakeStream(true, 200), { now: () => 0 }).line(5e6, 1000), /^reading 4\.8 MiB · 5\.0 MB\/s$/);
  });

  test('finish without any update writes nothing', () => {
    const stream = fakeStream(true);
    createProgress(stream, { total: 10 }).finish();
    assert.deepEqual(stream.writes, []);
  });
});
