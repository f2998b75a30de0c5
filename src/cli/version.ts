import { readFileSync } from 'node:fs';

/** The package's version, from package.json (for --version and the User-Agent of `get`). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
