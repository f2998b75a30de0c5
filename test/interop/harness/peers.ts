import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * Real peers (socat, user-mode Linux, slirp, mosquitto, ...) are optional on a developer's
 * machine: a test file whose peer is missing is skipped with a one-line reason. In CI
 * (`CELLSTACK_REQUIRE_PEERS=1`) a missing peer is a failure, not a skip.
 */
export const REQUIRE_PEERS = process.env['CELLSTACK_REQUIRE_PEERS'] === '1';

/** The absolute path of an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface PeerCheck {
  /** Pass to `describe.skipIf`. */
  skip: boolean;
  /** Why the peer is missing, if it is. */
  missing?: string;
}

/**
 * Checks for a peer. `problem` is the reason it is missing (undefined when present). When
 * missing and not required, prints the reason once and skips; when required, the tests run
 * and `beforeAll` fails with the reason.
 */
export function peer(name: string, problem: string | undefined): PeerCheck {
  if (problem === undefined) return { skip: false };
  if (!REQUIRE_PEERS) {
    process.stderr.write(`skipping ${name} tests: ${problem}\n`);
    return { skip: true, missing: problem };
  }
  beforeAll(() => {
    throw new Error(`peer ${name} is required (CELLSTACK_REQUIRE_PEERS=1) but missing: ${problem}`);
  });
  return { skip: false, missing: problem };
}

/** Registers `fn` to run after all tests of the file (stopping peers by PID). */
export function cleanup(fn: () => Promise<void> | void): void {
  afterAll(fn);
}
