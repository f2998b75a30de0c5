import { spawnSync } from 'node:child_process';

/**
 * Integration tests run the built CLI and pack the package: build once before them, unless
 * the caller (scripts/test.mjs) has just done so.
 */
export default function setup(): void {
  if (process.env['CELLSTACK_BUILT'] === '1') return;
  const r = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('the build failed');
}
