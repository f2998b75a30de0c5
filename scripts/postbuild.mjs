// After tsc: the CLI entry point must be executable where the bin link points at it.
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli/bin.js', import.meta.url), 0o755);
