import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/** Whether a system tool answers. */
export function hasTool(name: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(name, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/**
 * A test that needs a tool skips with a visible message where it is absent,
 * except under CI=true, where the absence is a failure.
 */
export function requireTool(t: TestContext, name: string, args?: string[]): boolean {
  if (hasTool(name, args)) return true;
  if (process.env.CI === 'true') throw new Error(`${name} is required under CI=true but is not installed`);
  t.skip(`${name} is not installed`);
  return false;
}

/**
 * Whether this machine can capture live on loopback; under CI=true it must.
 * Returns the skip message, or false when capture works.
 */
export function liveCaptureSkip(): string | false {
  const r = spawnSync('tcpdump', ['-i', 'lo', '-c', '1', '-w', '/dev/null', 'tcp port 1'], { timeout: 1500, encoding: 'utf8' });
  let problem: string | undefined;
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') problem = 'tcpdump is not installed';
  else if (/permission|not permitted/i.test(r.stderr ?? '')) problem = 'not permitted to capture (needs root or CAP_NET_RAW)';
  if (problem === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`live capture is required under CI=true: ${problem}`);
  const skip = `live capture skipped: ${problem}`;
  console.log(`# SKIP ${skip}`);
  return skip;
}
