#!/usr/bin/env node
// Builds, then runs every benchmark in bench/ (each prints its figures and ratios). A .mjs
// whose first line says it is "the client/server half of bench/X.bench.ts" is a helper that
// bench starts itself (npm run bench:anchor runs those), not a benchmark of its own.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
  .filter((n) => !/half of bench\//.test(readFileSync(join(root, 'bench', n), 'utf8').split('\n')[0] ?? ''))
  .sort()) {
  process.stdout.write(`\n== bench/${f}\n`);
  const r = spawnSync(process.execPath, [join(root, 'bench', f)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
