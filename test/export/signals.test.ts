import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { LoopbackReceiver } from './receivers.js';

const child = fileURLToPath(new URL('./signal-child.ts', import.meta.url));

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`${signal} flushes the queued spans before the process exits (${code})`, async () => {
    const receiver = await LoopbackReceiver.start();
    const proc = spawn(process.execPath, ['--import', 'tsx', child, receiver.url('/v1/traces')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => (out += chunk));
    while (!out.includes('ready\n')) await once(proc.stdout, 'data');
    assert.equal(receiver.requests.length, 0, 'nothing sent before the signal: the batch delay is ten minutes');
    proc.kill(signal);
    const [exitCode] = (await once(proc, 'exit')) as [number | null];
    await receiver.stop();
    assert.equal(exitCode, code);
    assert.equal(receiver.requests.length, 1);
    const counters = JSON.parse(out.split('\n')[1]) as { exported: number };
    assert.equal(counters.exported, 3);
  });
}
