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
