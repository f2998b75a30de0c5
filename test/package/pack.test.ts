import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFO_KEYS } from '../helpers/info.js';

/**
 * What users get from the registry: `npm pack` makes the tarball, a separate project in a
 * temporary folder installs it and uses it (import, types, the CLI).
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
let dir = '';
let tarball = '';
let files: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cellstack-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir, '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
  });
  const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  tarball = join(dir, info[0]!.filename);
  files = info[0]!.files.map((f) => f.path);
  const app = join(dir, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball],
    {
      cwd: app,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the built JavaScript, declarations, the CLI and the README, and no tests or sources', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/cli/bin.js',
        'dist/sim/index.js',
      ]),
    );
    expect(
      files.filter((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('bench/')),
    ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('imports by name in another project', () => {
    const app = join(dir, 'app');
    const script = `
      import * as cs from 'cellstack';
      import { createSimPair } from 'cellstack/sim';
      const names = ['openModem', 'Modem', 'ModemError', 'AtChannel', 'parseCsq', 'parseRegistration', 'discoverModems', 'ReplayPort', 'recordPort'];
      const missing = names.filter((n) => typeof cs[n] !== 'function');
      if (missing.length) throw new Error('missing exports: ' + missing.join(','));
      if (typeof createSimPair !== 'function') throw new Error('no createSimPair');
      const m = await cs.openModem({ path: 'sim' });
      const info = await m.info();
      await m.close();
      console.log(JSON.stringify({ csq: cs.parseCsq('+CSQ: 21,99').rssiDbm, model: info.model }));
    `;
    writeFileSync(join(app, 'use.mjs'), script);
    const out = execFileSync(process.execPath, ['use.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    const r = JSON.parse(out) as { csq: number; model: string };
    expect(r.csq).toBe(-71);
    expect(r.model).toBeTruthy();
  });

  it('type-checks a TypeScript consumer against the published declarations', () => {
    const app = join(dir, 'app');
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { openModem, type ModemInfo, type RegistrationSummary, ModemError } from 'cellstack';
       export async function main(): Promise<ModemInfo> {
         const modem = await openModem({ path: 'sim', baudRate: 115200 });
         const reg: RegistrationSummary = await modem.waitForRegistration({ timeoutMs: 1000 });
         if (reg.state === 'denied') throw new ModemError('REGISTRATION_DENIED', 'no');
         return modem.info();
       }
       // @ts-expect-error: not an option
       openModem({ path: 'sim', bogus: 1 });
      `,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const r = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs the demo from the installed package, with the in-process broker (a fresh machine has no mosquitto)', () => {
    const app = join(dir, 'app');
    const out = execFileSync(
      join(app, 'node_modules', '.bin', 'cellstack'),
      ['demo', '--broker', 'aedes', '--json'],
      {
        cwd: app,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const demo = JSON.parse(out) as { ok: boolean; broker: string; phases: Array<{ state: string }> };
    expect(demo.ok).toBe(true);
    expect(demo.broker).toBe('aedes');
    expect(demo.phases.at(-1)?.state).toBe('connected');
  });

  it('runs the installed CLI', () => {
    const app = join(dir, 'app');
    const out = execFileSync(
      join(app, 'node_modules', '.bin', 'cellstack'),
      ['info', '--device', 'sim', '--json'],
      {
        cwd: app,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const info = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(info).sort()).toEqual([...INFO_KEYS].sort());
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'cellstack', 'package.json'), 'utf8')) as {
      version: string;
    };
    const v = execFileSync(join(app, 'node_modules', '.bin', 'cellstack'), ['--version'], {
      encoding: 'utf8',
    }).trim();
    expect(v).toBe(pkg.version);
  });
});
