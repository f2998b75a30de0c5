import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tls } from '../src/index.js';
import {
  ecKey,
  issue,
  makePki,
  type Pki,
  rsaKey,
  type TestCert,
  type TestKey,
} from '../test/helpers/test-pki.js';

/**
 * cellstack's TLS 1.2 client ("own") next to node:tls ("node", OpenSSL) in one run, over the
 * same transport: node:net on 127.0.0.1 to node:tls servers in a child process
 * (tls-server.mjs), so this process's CPU time (process.cpuUsage) is the client's alone.
 *  - full handshake: client CPU per handshake, ECDHE-RSA and ECDHE-ECDSA (AES-128-GCM,
 *    X25519), without and with a client certificate; target own <= 2x node.
 *  - record throughput: 64 MiB of application data up (to a sink) and down (from a source),
 *    AES-128-GCM and ChaCha20-Poly1305; target own >= 0.3x node (MB/s).
 *  - bytes on the wire, both ways on the client's socket until secureConnect: a full
 *    handshake, and one resumed by ticket and by session ID; target resumed <= 25% of full.
 * Run: CELLSTACK_BENCH=1 npx vitest run --project bench bench/tls.bench.ts
 * CELLSTACK_TLS_PROF=DIR writes V8 CPU profiles of the own engine's handshakes and transfers
 * there (.cpuprofile, Chrome DevTools opens them) and prints where the time goes.
 * CELLSTACK_TLS_MIB=N changes the transfer size, CELLSTACK_TLS_HANDSHAKES=N the handshakes per round.
 */

type Engine = 'own' | 'node';
const ENGINES: Engine[] = ['own', 'node'];
const HANDSHAKES = Number(process.env['CELLSTACK_TLS_HANDSHAKES'] ?? 50);
const ROUNDS = 3;
const MIB = Number(process.env['CELLSTACK_TLS_MIB'] ?? 64);
const PROF_DIR = process.env['CELLSTACK_TLS_PROF'];
const SERVER = fileURLToPath(new URL('./tls-server.mjs', import.meta.url));

interface ServerSpec {
  name: string;
  role: 'handshake' | 'sink' | 'source';
  key: string;
  cert: string;
  ca?: string;
  requestCert?: boolean;
  noTickets?: boolean;
}

interface Creds {
  rsa: Pki;
  ec: Pki;
  clientRsa: { cert: string; key: string };
  clientEc: { cert: string; key: string };
}

function clientCert(pki: Pki, key: TestKey, cn: string): { cert: string; key: string } {
  const leaf: TestCert = issue({
    subject: { O: 'cellstack bench', CN: cn },
    key,
    issuer: pki.intermediate,
    ca: false,
    keyUsage: ['digitalSignature'],
    eku: ['clientAuth'],
  });
  return { cert: leaf.pem + pki.intermediate.pem, key: key.pem };
}

function makeCreds(): Creds {
  const rsa = makePki('rsa', 'bench-rsa');
  const ec = makePki('ec', 'bench-ec');
  return {
    rsa,
    ec,
    clientRsa: clientCert(rsa, rsaKey('bench-client'), 'bench client rsa'),
    clientEc: clientCert(ec, ecKey('bench-client'), 'bench client ec'),
  };
}

function serverSpecs(c: Creds): ServerSpec[] {
  const rsa = { key: c.rsa.leaf.key.pem, cert: c.rsa.leaf.pem + c.rsa.intermediate.pem };
  const ec = { key: c.ec.leaf.key.pem, cert: c.ec.leaf.pem + c.ec.intermediate.pem };
  return [
    { name: 'hs-rsa', role: 'handshake', ...rsa },
    { name: 'hs-rsa-mtls', role: 'handshake', ...rsa, ca: c.rsa.root.pem, requestCert: true },
    { name: 'hs-ec', role: 'handshake', ...ec },
    { name: 'hs-ec-mtls', role: 'handshake', ...ec, ca: c.ec.root.pem, requestCert: true },
    { name: 'resume-ticket', role: 'handshake', ...rsa },
    { name: 'resume-id', role: 'handshake', ...rsa, noTickets: true },
    { name: 'sink', role: 'sink', ...rsa },
    { name: 'source', role: 'source', ...rsa },
  ];
}

interface Servers {
  ports: Record<string, number>;
  stop(): Promise<void>;
}

async function startServers(specs: ServerSpec[], dir: string): Promise<Servers> {
  const config = join(dir, 'servers.json');
  writeFileSync(config, JSON.stringify({ servers: specs }));
  const child: ChildProcess = spawn(process.execPath, [SERVER, config], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    process.kill(child.pid, 'SIGTERM');
    const t = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(child.pid, 'SIGKILL');
    }, 2000);
    await exited;
    clearTimeout(t);
  };
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the TLS servers did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      resolve((JSON.parse(out.slice(0, nl)) as { ports: Record<string, number> }).ports);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the TLS servers exited (${code}): ${out}`));
    });
  });
  return { ports, stop };
}

// ---- the client side ----------------------------------------------------------------------

interface Conn {
  tls: tls.SecureSocket;
  raw: Socket;
  /** Resolves with the session the server gave (or undefined after 2 s). */
  session: Promise<Buffer | undefined>;
}

function open(port: number, engine: Engine, options: Partial<tls.TlsConnectOptions>): Promise<Conn> {
  const raw = netConnect({ host: '127.0.0.1', port });
  raw.setNoDelay(true);
  const s = tls.connect({ socket: raw, servername: 'localhost', engine, ...options });
  const session = new Promise<Buffer | undefined>((resolve) => {
    const t = setTimeout(() => resolve(undefined), 2000);
    s.once('session', (b: Buffer) => {
      clearTimeout(t);
      resolve(b);
    });
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => s.destroy(new Error('no handshake within 10 s')), 10_000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      s.off('error', reject);
      s.on('error', () => {});
      resolve({ tls: s, raw, session });
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function close(c: Conn): Promise<void> {
  return new Promise((resolve) => {
    if (c.raw.destroyed) {
      resolve();
      return;
    }
    c.raw.once('close', () => resolve());
    c.tls.destroy();
  });
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

interface HandshakeCase {
  label: string;
  port: string;
  ciphers: string;
  client?: { cert: string; key: string };
  ca: string;
}

interface Measured {
  cpuMs: number;
  wallMs: number;
  suite: string;
}

async function handshakes(
  c: HandshakeCase,
  engine: Engine,
  ports: Record<string, number>,
  n: number,
): Promise<Measured> {
  const options: Partial<tls.TlsConnectOptions> = {
    ca: c.ca,
    ciphers: c.ciphers,
    ...(c.client ? { cert: c.client.cert, key: c.client.key } : {}),
  };
  let suite = '';
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const conn = await open(ports[c.port]!, engine, options);
    if (!conn.tls.authorized)
      throw new Error(`${engine}: not authorized: ${String(conn.tls.authorizationError)}`);
    suite = conn.tls.getCipher()?.name ?? '?';
    await close(conn);
  }
  const wall = performance.now() - t0;
  return { cpuMs: cpuMs(process.cpuUsage(cpu0)) / n, wallMs: wall / n, suite };
}

interface Transfer {
  mbPerSec: number;
  cpuSecPerGb: number;
  suite: string;
}

async function transfer(
  engine: Engine,
  dir: 'up' | 'down',
  ciphers: string,
  ports: Record<string, number>,
  ca: string,
  bytes: number,
): Promise<Transfer> {
  const conn = await open(ports[dir === 'up' ? 'sink' : 'source']!, engine, { ca, ciphers });
  const s = conn.tls;
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(bytes));
  const chunk = Buffer.alloc(64 * 1024, 0xa5);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    const timer = setTimeout(() => reject(new Error(`${engine} ${dir}: no end within 120 s`)), 120_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    if (dir === 'up') {
      let answer = '';
      s.on('data', (d: Buffer) => {
        answer += d.toString();
        if (answer.includes('ok\n')) done();
      });
      s.write(head);
      let left = bytes;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            s.once('drain', pump);
            return;
          }
        }
      };
      pump();
    } else {
      let got = 0;
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= bytes) done();
      });
      s.write(head);
    }
  });
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuMs(process.cpuUsage(cpu0)) / 1000;
  const suite = s.getCipher()?.name ?? '?';
  await close(conn);
  return { mbPerSec: bytes / 1e6 / secs, cpuSecPerGb: cpu / (bytes / 1e9), suite };
}

interface Wire {
  up: number;
  down: number;
  reused: boolean;
}

/** Bytes both ways on the client's TCP socket once the handshake is done (nothing else flows). */
async function wireBytes(
  port: number,
  engine: Engine,
  ca: string,
  session: Buffer | undefined,
): Promise<{ wire: Wire; session: Buffer | undefined }> {
  const conn = await open(port, engine, { ca, ...(session ? { session } : {}) });
  // A resumed handshake may bring no new session: wait for one only after a full handshake.
  const next = session ? undefined : await conn.session;
  await new Promise((r) => setTimeout(r, 30));
  const wire = { up: conn.raw.bytesWritten, down: conn.raw.bytesRead, reused: conn.tls.isSessionReused() };
  await close(conn);
  return { wire, session: next };
}

// ---- profiles -----------------------------------------------------------------------------

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

function post<T>(session: Session, method: string): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, (err, result) => (err ? reject(err) : resolve(result as T))),
  );
}

/** Runs `fn` under the V8 sampling profiler; writes DIR/name.cpuprofile and returns the top self-time lines. */
async function profiled(name: string, fn: () => Promise<unknown>): Promise<string> {
  if (!PROF_DIR) {
    await fn();
    return '';
  }
  mkdirSync(PROF_DIR, { recursive: true });
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.start');
  await fn();
  const { profile } = await post<{ profile: { nodes: ProfileNode[] } }>(session, 'Profiler.stop');
  session.disconnect();
  writeFileSync(join(PROF_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
  // Self time by function, by file, and by the nearest cellstack function on the stack (so
  // native work such as a cipher call or an X509Certificate parse is charged to its caller).
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byOurs = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const fileOf = (url: string) => basename(url.replace(/\?.*$/, ''));
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    const f = n.callFrame;
    if (hits === 0 || f.functionName === '(idle)') continue;
    total += hits;
    const file = f.url ? fileOf(f.url) : `(${f.functionName || 'native'})`;
    add(byFn, `${f.functionName || '(anonymous)'} ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`, hits);
    add(byFile, file, hits);
    let a: ProfileNode | undefined = n;
    while (a && !a.callFrame.url.includes('/src/')) a = parent.get(a.id);
    add(
      byOurs,
      a
        ? `${a.callFrame.functionName || '(anonymous)'} ${fileOf(a.callFrame.url)}:${a.callFrame.lineNumber + 1}`
        : '(outside src/)',
      hits,
    );
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([key, hits]) => `  ${((100 * hits) / total).toFixed(1).padStart(5)}%  ${key}`)
      .join('\n');
  return `profile ${name} (${PROF_DIR}/${name}.cpuprofile), % of busy samples (idle left out); self time by function:\n${top(byFn, 15)}\nby file:\n${top(byFile, 8)}\nby the nearest src/ function on the stack (inclusive of the natives it calls):\n${top(byOurs, 12)}\n`;
}

// ---- the bench ----------------------------------------------------------------------------

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

describe('TLS 1.2 client: own engine vs node:tls', () => {
  it('handshake CPU, record throughput, handshake bytes on the wire', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellstack-tls-bench-'));
    const creds = makeCreds();
    const servers = await startServers(serverSpecs(creds), dir);
    const { ports } = servers;
    const out: string[] = [];
    const profiles: string[] = [];
    const say = (line: string) => {
      out.push(line);
      console.log(line);
    };
    try {
      // -- full handshakes --
      const cases: HandshakeCase[] = [
        {
          label: 'ECDHE-RSA',
          port: 'hs-rsa',
          ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
          ca: creds.rsa.root.pem,
        },
        {
          label: 'ECDHE-RSA + client cert',
          port: 'hs-rsa-mtls',
          ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
          ca: creds.rsa.root.pem,
          client: creds.clientRsa,
        },
        {
          label: 'ECDHE-ECDSA',
          port: 'hs-ec',
          ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
          ca: creds.ec.root.pem,
        },
        {
          label: 'ECDHE-ECDSA + client cert',
          port: 'hs-ec-mtls',
          ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
          ca: creds.ec.root.pem,
          client: creds.clientEc,
        },
      ];
      say(
        `full handshake, client CPU per handshake (median of ${ROUNDS} rounds of ${HANDSHAKES}; RSA 2048 / P-256 chains of 2, X25519)`,
      );
      say(
        `${'case'.padEnd(26)} ${'suite'.padEnd(30)} ${'own ms'.padStart(7)} ${'node ms'.padStart(8)} ${'ratio'.padStart(6)} ${'wall own/node ms'.padStart(17)}  target <= 2x`,
      );
      const hsRatios: number[] = [];
      for (const c of cases) {
        for (const e of ENGINES) await handshakes(c, e, ports, 5); // warm up
        const cpu: Record<Engine, number[]> = { own: [], node: [] };
        const wall: Record<Engine, number[]> = { own: [], node: [] };
        let suite = '';
        for (let r = 0; r < ROUNDS; r++) {
          for (const e of ENGINES) {
            const m = await handshakes(c, e, ports, HANDSHAKES);
            cpu[e].push(m.cpuMs);
            wall[e].push(m.wallMs);
            if (e === 'own') suite = m.suite;
            expect(m.suite).toBe(c.ciphers);
          }
        }
        const own = median(cpu.own);
        const node = median(cpu.node);
        const ratio = own / node;
        hsRatios.push(ratio);
        say(
          `${c.label.padEnd(26)} ${suite.padEnd(30)} ${own.toFixed(2).padStart(7)} ${node.toFixed(2).padStart(8)} ${ratio.toFixed(2).padStart(6)} ${`${median(wall.own).toFixed(2)}/${median(wall.node).toFixed(2)}`.padStart(17)}  ${verdict(ratio <= 2)}`,
        );
      }
      if (PROF_DIR) {
        const c = cases[0]!;
        profiles.push(await profiled('handshake-own-ecdhe-rsa', () => handshakes(c, 'own', ports, 200)));
        profiles.push(await profiled('handshake-node-ecdhe-rsa', () => handshakes(c, 'node', ports, 200)));
      }

      // -- throughput --
      const bytes = MIB * 1024 * 1024;
      say('');
      say(`record throughput, ${MIB} MiB of application data (best of 3; cpu = client CPU s per GB)`);
      say(
        `${'case'.padEnd(32)} ${'own MB/s'.padStart(9)} ${'node MB/s'.padStart(10)} ${'ratio'.padStart(6)} ${'cpu s/GB own/node'.padStart(18)}  target >= 0.3x`,
      );
      const suites = [
        { label: 'AES-128-GCM', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' },
        { label: 'ChaCha20-Poly1305', ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' },
      ];
      for (const su of suites) {
        for (const d of ['up', 'down'] as const) {
          const best: Record<Engine, Transfer | undefined> = { own: undefined, node: undefined };
          for (let r = 0; r < 3; r++) {
            for (const e of ENGINES) {
              const t = await transfer(e, d, su.ciphers, ports, creds.rsa.root.pem, bytes);
              expect(t.suite).toBe(su.ciphers);
              if (!best[e] || t.mbPerSec > best[e].mbPerSec) best[e] = t;
            }
          }
          const own = best.own!;
          const node = best.node!;
          const ratio = own.mbPerSec / node.mbPerSec;
          const label = `${su.label} ${d === 'up' ? 'up (encrypt)' : 'down (decrypt)'}`;
          say(
            `${label.padEnd(32)} ${own.mbPerSec.toFixed(1).padStart(9)} ${node.mbPerSec.toFixed(1).padStart(10)} ${ratio.toFixed(2).padStart(6)} ${`${own.cpuSecPerGb.toFixed(2)}/${node.cpuSecPerGb.toFixed(2)}`.padStart(18)}  ${verdict(ratio >= 0.3)}`,
          );
        }
      }
      if (PROF_DIR) {
        const ca = creds.rsa.root.pem;
        profiles.push(
          await profiled('up-own-aes128gcm', () =>
            transfer('own', 'up', suites[0]!.ciphers, ports, ca, bytes),
          ),
        );
        profiles.push(
          await profiled('down-own-aes128gcm', () =>
            transfer('own', 'down', suites[0]!.ciphers, ports, ca, bytes),
          ),
        );
      }

      // -- bytes on the wire --
      say('');
      say(
        'bytes on the wire, client socket, both ways until secureConnect (RSA 2048 chain of 2: leaf + intermediate)',
      );
      say(
        `${'engine'.padEnd(8)} ${'full up/down'.padStart(14)} ${'total'.padStart(6)} ${'ticket up/down'.padStart(15)} ${'total'.padStart(6)} ${'%full'.padStart(6)} ${'id up/down'.padStart(11)} ${'total'.padStart(6)} ${'%full'.padStart(6)} ${'(full)'.padStart(6)}  target <= 25%`,
      );
      for (const e of ENGINES) {
        const ca = creds.rsa.root.pem;
        const fullT = await wireBytes(ports['resume-ticket']!, e, ca, undefined);
        const ticket = await wireBytes(ports['resume-ticket']!, e, ca, fullT.session);
        const fullI = await wireBytes(ports['resume-id']!, e, ca, undefined);
        const byId = await wireBytes(ports['resume-id']!, e, ca, fullI.session);
        expect(ticket.wire.reused, `${e} resumed by ticket`).toBe(true);
        expect(byId.wire.reused, `${e} resumed by session ID`).toBe(true);
        const total = (w: Wire) => w.up + w.down;
        const full = total(fullT.wire);
        const pt = total(ticket.wire) / full;
        const pi = total(byId.wire) / total(fullI.wire);
        say(
          `${e.padEnd(8)} ${`${fullT.wire.up}/${fullT.wire.down}`.padStart(14)} ${String(full).padStart(6)} ${`${ticket.wire.up}/${ticket.wire.down}`.padStart(15)} ${String(total(ticket.wire)).padStart(6)} ${(100 * pt).toFixed(1).padStart(6)} ${`${byId.wire.up}/${byId.wire.down}`.padStart(11)} ${String(total(byId.wire)).padStart(6)} ${(100 * pi).toFixed(1).padStart(6)} ${`(${total(fullI.wire)})`.padStart(6)}  ${e === 'own' ? verdict(pt <= 0.25 && pi <= 0.25) : '(reference)'}`,
        );
      }
      expect(hsRatios.length).toBe(cases.length);
    } finally {
      await servers.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(
      `\ncellstack TLS client vs node:tls (same process, same loopback servers)\n${out.join('\n')}`,
    );
    if (profiles.length > 0) console.log(`\n${profiles.join('\n')}`);
  }, 900_000);
});
