#!/usr/bin/env node
// Builds, then runs every benchmark in bench/ (each prints its figures and ratios).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const build = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(1);
let failed = 0;
for (const f of readdirSync(join(root, 'bench'))
  .filter((n) => n.endsWith('.mjs'))
  .sort()) {
  process.stdout.write(`\n== bench/${f}\n`);
  const r = spawnSync(process.execPath, [join(root, 'bench', f)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
