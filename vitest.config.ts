import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs the sans-I/O cores, parsers, traces and property tests (fast, no
// external processes; also run under Node 24 by scripts/test.mjs), `integration` runs real
// peers, ptys, the built CLI and the packed package.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/interop/**', 'test/cli/**', 'test/package/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          globalSetup: ['test/build.global.ts'],
          include: ['test/interop/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/package/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      // Benchmarks against real peers (kernel-to-kernel anchor): `npm run bench:anchor`, never in `npm test`.
      ...(process.env['CELLSTACK_BENCH'] === '1'
        ? [
            {
              test: {
                name: 'bench',
                include: ['bench/**/*.bench.ts'],
                testTimeout: 900_000,
                hookTimeout: 180_000,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
});
