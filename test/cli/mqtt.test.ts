import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUB_OPTIONS, splitLines } from '../../src/cli/commands/mqtt-pub.js';
import { isUtf8, jsonLine, SUB_OPTIONS } from '../../src/cli/commands/mqtt-sub.js';
import {
  fitWidth,
  formatBytes,
  formatDuration,
  formatStateChange,
  formatStatus,
  formatSummary,
} from '../../src/cli/status-line.js';
import { BIN, type CliResult, runCli } from '../helpers/cli.js';
import { ecKey, issue, makePki, opensslPkcs12, type Pki } from '../helpers/test-pki.js';
import { peer, which } from '../interop/harness/peers.js';
import { endProcessTree, guardUntilStopped } from '../interop/harness/proc.js';
import { type PtyGuest, startPtyGuest } from '../interop/harness/pty-guest.js';
import { umlProblem } from '../interop/harness/uml.js';

/**
 * `cellstack mqtt pub|sub` as a user runs them, without --device (this host's network), against
 * mosquitto on 127.0.0.1 started here with three listeners: plain and anonymous, plain with a
 * password file, and TLS requiring a client certificate from the test PKI.
 */

/** Nothing from the developer's environment leaks in (a device, a broker password). */
const ENV = { CELLSTACK_DEVICE: '', CELLSTACK_MQTT_PASSWORD: '', CELLSTACK_PASSPHRASE: '' };
const mqtt = (args: string[], o: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}) =>
  runCli(['mqtt', ...args], {
    env: { ...ENV, ...o.env },
    timeoutMs: o.timeoutMs ?? 20_000,
    ...(o.input === undefined ? {} : { input: o.input }),
  });
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('cellstack:'));
/** Unique per run: topics and client ids never meet another run's. */
const RUN = randomBytes(4).toString('hex');

describe('cellstack mqtt: help and usage', () => {
  it('mqtt --help lists pub and sub; each --help documents every option it takes', async () => {
    const top = await runCli(['--help']);
    expect(top.stdout).toMatch(/^ {2}mqtt +MQTT/m);
    const mq = await mqtt(['--help']);
    expect(mq.code).toBe(0);
    expect(mq.stdout).toMatch(/^Usage: cellstack mqtt <pub\|sub>/);
    expect(mq.stdout).toMatch(/^ {2}pub +publish/m);
    expect(mq.stdout).toMatch(/^ {2}sub +subscribe/m);
    const bare = await mqtt([]);
    expect(bare.code).toBe(2);
    for (const [name, spec] of [
      ['pub', PUB_OPTIONS],
      ['sub', SUB_OPTIONS],
    ] as const) {
      const r = await mqtt([name, '--help']);
      expect(r.code, name).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: cellstack mqtt ${name} `));
      for (const [option, o] of Object.entries(spec)) {
        const short = 'short' in o ? `-${o.short}, ` : '';
        expect(r.stdout, `${name} --${option}`).toContain(`${short}--${option}`);
      }
    }
  });

  it('usage mistakes exit 2 with one line and a hint', async () => {
    const url = ['--url', 'mqtt://127.0.0.1:1'];
    const cases: string[][] = [
      ['frob'],
      ['pub', '-t', 'a', '-m', 'x'],
      ['pub', ...url, '-m', 'x'],
      ['pub', ...url, '-t', 'a/#', '-m', 'x'],
      ['pub', ...url, '-t', 'a', '-t', 'b', '-m', 'x'],
      ['pub', ...url, '-t', 'a', '-m', 'x', '--qos', '3'],
      ['pub', ...url, '-t', 'a', '-m', 'x', '-f', 'y'],
      ['pub', ...url, '-t', 'a', '-m', 'x', '--store', '/tmp/nowhere'],
      ['pub', ...url, '-t', 'a', '-m', 'x', '--keepalive', 'soon'],
      ['pub', ...url, '-t', 'a', '-m', 'x', '--protocol', '6'],
      ['pub', ...url, '-t', 'a', '-m', 'x', '--ca', 'ca.pem'],
      ['pub', ...url, '-t', 'a', '-m', 'x', '--no-clean'],
      ['pub', ...url, '-t', 'a', '-m', 'x', '--colour'],
      ['pub', ...url, '-t', 'a', '-m', 'x', 'extra'],
      ['pub', '--url', 'http://127.0.0.1', '-t', 'a', '-m', 'x'],
      ['pub', '--url', '127.0.0.1', '-t', 'a', '-m', 'x'],
      ['pub', '--url', 'mqtts://127.0.0.1', '-t', 'a', '-m', 'x', '--cert', 'c.pem'],
      ['pub', '--url', 'mqtts://127.0.0.1', '-t', 'a', '-m', 'x', '--engine', 'rust'],
      ['pub', '--url', 'mqtts://h.example', '-t', 'a', '-m', 'x', '--profile', 'aws-iot', '-q', '2'],
      ['pub', '--url', 'mqtt://h.example', '-t', 'a', '-m', 'x', '--profile', 'aws-iot'],
      ['sub', ...url],
      ['sub', ...url, '-t', 'a/#/b'],
      ['sub', ...url, '-t', 'a', '--count', '0'],
      ['sub', ...url, '-t', 'a', '--session-expiry', '60'],
    ];
    const results = await Promise.all(cases.map((args) => mqtt(args)));
    cases.forEach((args, i) => {
      expect(results[i]?.code, args.join(' ')).toBe(2);
      expect(results[i]?.stderr, args.join(' ')).toMatch(/^cellstack: .+\n\(try --help\)\n$/);
    });
    // A password for MQTT 3.1.1 needs a user name (3.1.2.9); --password-env names a variable that must be set.
    const noUser = await mqtt(['pub', ...url, '-t', 'a', '-m', 'x'], {
      env: { CELLSTACK_MQTT_PASSWORD: 'hunter2-cli' },
    });
    expect(noUser.code).toBe(2);
    expect(noUser.stderr).toContain('needs --username');
    expect(noUser.stderr).not.toContain('hunter2-cli');
    const unset = await mqtt([
      'pub',
      ...url,
      '-t',
      'a',
      '-m',
      'x',
      '-u',
      'me',
      '--password-env',
      'NO_SUCH_VAR_X',
    ]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('$NO_SUCH_VAR_X is not set');
  });

  it('a bad --ca, --cert or --file path exits 1 naming the option, before connecting', async () => {
    const tls = ['pub', '--url', 'mqtts://127.0.0.1:1', '-t', 'a', '-m', 'x'];
    const ca = await mqtt([...tls, '--ca', '/nonexistent/ca.pem']);
    expect(ca.code).toBe(1);
    expect(errorLines(ca.stderr)).toEqual([
      "cellstack: ENOENT: --ca /nonexistent/ca.pem: no such file or directory, open '/nonexistent/ca.pem'",
    ]);
    expect(ca.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    const cert = await mqtt([...tls, '--cert', '/nonexistent/c.pem', '--key', '/nonexistent/k.pem']);
    expect(errorLines(cert.stderr)).toEqual([
      expect.stringMatching(/^cellstack: ENOENT: --cert \/nonexistent\/c\.pem: /),
    ]);
    const file = await mqtt(['pub', '--url', 'mqtt://127.0.0.1:1', '-t', 'a', '-f', '/nonexistent/msg']);
    expect(file.code).toBe(1);
    expect(errorLines(file.stderr)).toEqual([
      expect.stringMatching(/^cellstack: ENOENT: --file \/nonexistent\/msg: /),
    ]);
  });

  it('splits standard input into lines as bytes (CRLF, a last line without LF, lines across chunks)', async () => {
    const chunks = [
      Buffer.from('one\r\ntw'),
      Buffer.from('o\n\n'),
      Buffer.from([0xff, 0x0a, 0x41]),
      Buffer.from('B'),
    ];
    const lines: string[] = [];
    for await (const l of splitLines(Readable.from(chunks))) lines.push(l.toString('latin1'));
    expect(lines).toEqual(['one', 'two', '', '\xff', 'AB']);
  });

  it('--json: UTF-8 payloads as text (a BOM kept), anything else base64 with "encoding"', () => {
    expect(JSON.parse(jsonLine('a/b', Buffer.from('21.5 °C'), 1, false))).toEqual({
      topic: 'a/b',
      payload: '21.5 °C',
      qos: 1,
      retain: false,
    });
    expect(jsonLine('t', Buffer.from('\ufeffx'), 0, true)).toBe(
      '{"topic":"t","payload":"\ufeffx","qos":0,"retain":true}',
    );
    const binary = Buffer.from([0x00, 0xc3, 0x28, 0xff]);
    expect(isUtf8(binary)).toBe(false);
    expect(JSON.parse(jsonLine('t', binary, 2, false))).toEqual({
      topic: 't',
      payload: binary.toString('base64'),
      encoding: 'base64',
      qos: 2,
      retain: false,
    });
  });

  it('formats the status line, state lines and the summary', () => {
    expect(
      formatStatus({
        state: 'connected',
        detail: 'broker:8883',
        stats: {
          signal: { rssiDbm: -73, bars: 4 },
          ip: { local: '10.64.0.2', peer: '10.64.0.1', dns: [] },
          bytes: { up: 1300, down: 812 },
          rttMs: 85.4,
        },
        counts: 'acked 3 pending 0',
        elapsedMs: 4200,
      }),
    ).toBe(
      'connected broker:8883 | -73 dBm 4/5 | 10.64.0.2 | up 1.3 KiB down 812 B | rtt 85 ms | acked 3 pending 0 | 4.2 s',
    );
    expect(
      formatStatus({
        state: 'offline',
        failure: 'ECONNREFUSED',
        retryInMs: 2100,
        stats: { bytes: { up: 0, down: 0 } },
        counts: 'received 0',
        elapsedMs: 61_000,
      }),
    ).toBe('offline (ECONNREFUSED), retry in 2.1 s | up 0 B down 0 B | received 0 | 1:01 min');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883'), { code: 'ECONNREFUSED' });
    expect(
      formatStateChange({
        state: 'offline',
        reason: refused,
        recovery: 'transport',
        delayMs: 1234,
        attempt: 1,
      }),
    ).toBe('offline: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1883; retry from transport in 1.2 s');
    expect(formatStateChange({ state: 'registering', detail: 'home (lte)', attempt: 0 })).toBe(
      'registering: home (lte)',
    );
    expect(
      formatSummary({
        label: 'pub',
        messages: 1,
        acked: 1,
        fromStore: 2,
        reconnects: 1,
        bytes: { up: 2048, down: 5 },
        elapsedMs: 400,
      }),
    ).toBe('pub: 1 message, 1 acked, 2 from the store, 1 reconnect, up 2.0 KiB down 5 B, 0.4 s');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
    expect(formatDuration(3_725_000)).toBe('1:02:05 h');
    expect(fitWidth('abcdef', 4)).toBe('abc…');
  });
});

const MOSQUITTO = '/usr/sbin/mosquitto';
function missingMosquitto(): string | undefined {
  try {
    accessSync(MOSQUITTO, constants.X_OK);
    return undefined;
  } catch {
    return `${MOSQUITTO} is not installed (apt-get install mosquitto)`;
  }
}
const broker = peer('mosquitto', missingMosquitto());

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** mosquitto's password file line: `user:$6$salt$sha512(password || salt)`, both base64. */
function passwdLine(user: string, password: string): string {
  const salt = randomBytes(12);
  const hash = createHash('sha512').update(password).update(salt).digest();
  return `${user}:$6$${salt.toString('base64')}$${hash.toString('base64')}\n`;
}

/** A `cellstack mqtt` child whose output we watch while it runs; ended by its PID. */
interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Waits until standard error (or output) matches. */
  waitFor(re: RegExp, where?: 'stderr' | 'stdout', ms?: number): Promise<void>;
  exit(ms?: number): Promise<CliResult>;
}

const running: ChildProcess[] = [];

function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [BIN, 'mqtt', ...args], {
    env: { ...process.env, ...ENV, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: async (re, where = 'stderr', ms = 10_000) => {
      const until = Date.now() + ms;
      while (!re.test(where === 'stderr' ? err : out)) {
        if (Date.now() > until || child.exitCode !== null)
          throw new Error(`no ${re} from cellstack mqtt ${args.join(' ')}\nstdout: ${out}\nstderr: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    exit: async (ms = 15_000) => {
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        closed,
        new Promise<'late'>((r) => {
          timer = setTimeout(() => r('late'), ms);
        }),
      ]);
      clearTimeout(timer);
      if (code === 'late') {
        child.kill('SIGKILL');
        throw new Error(
          `cellstack mqtt ${args.join(' ')} did not exit in time\nstdout: ${out}\nstderr: ${err}`,
        );
      }
      return { code, stdout: out, stderr: err };
    },
  };
}

describe.skipIf(broker.skip)('cellstack mqtt against mosquitto on 127.0.0.1', () => {
  let dir: string;
  let pki: Pki;
  let proc: ChildProcess | undefined;
  let unguard: (() => void) | undefined;
  let brokerLog = '';
  let plain = '';
  let auth = '';
  let tlsUrl = '';
  let deadUrl = '';
  const files: Record<string, string> = {};
  const file = (name: string, content: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    chmodSync(p, 0o644);
    files[name] = p;
    return p;
  };

  /** Starts `sub` and waits for its SUBACK (--verbose prints "subscribed:"). */
  const subscriber = async (topic: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) => {
    const s = start(['sub', '--url', plain, '-t', topic, '-v', ...args], env);
    await s.waitFor(/^subscribed: /m);
    return s;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellstack-mqtt-cli-'));
    // mosquitto started as root drops to its own user: it must read these files as that user.
    chmodSync(dir, 0o755);
    pki = makePki('ec', 'mqtt-cli');
    const clientKey = ecKey('mqtt-cli-client');
    const client = issue({
      subject: { O: 'cellstack test', CN: 'mqtt cli client' },
      key: clientKey,
      issuer: pki.intermediate,
      ca: false,
      keyUsage: ['digitalSignature'],
      eku: ['clientAuth'],
    });
    file('ca.pem', pki.root.pem);
    file('server.pem', pki.leaf.pem + pki.intermediate.pem);
    file('server.key', pki.leaf.key.pem);
    file('client.pem', client.pem + pki.intermediate.pem);
    file('client.key', clientKey.pem);
    file(
      'client.p12',
      opensslPkcs12({ key: clientKey, cert: client, chain: [pki.intermediate], passphrase: 'sesame' }),
    );
    file('other-ca.pem', makePki('ec', 'mqtt-cli-other').root.pem);
    file('passwd', passwdLine('device-7', 'correct horse 7'));
    const [p1, p2, p3, p4] = [await freePort(), await freePort(), await freePort(), await freePort()];
    plain = `mqtt://127.0.0.1:${p1}`;
    auth = `mqtt://127.0.0.1:${p2}`;
    tlsUrl = `mqtts://127.0.0.1:${p3}`;
    deadUrl = `mqtt://127.0.0.1:${p4}`;
    const conf = file(
      'mosquitto.conf',
      [
        'per_listener_settings true',
        'persistence false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        'connection_messages true',
        `listener ${p1} 127.0.0.1`,
        'allow_anonymous true',
        `listener ${p2} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${files['passwd']}`,
        `listener ${p3} 127.0.0.1`,
        'allow_anonymous true',
        `cafile ${files['ca.pem']}`,
        `certfile ${files['server.pem']}`,
        `keyfile ${files['server.key']}`,
        'require_certificate true',
        '',
      ].join('\n'),
    );
    proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d: Buffer) => {
      brokerLog += d.toString();
    });
    if (proc.pid !== undefined) unguard = guardUntilStopped(proc.pid, () => {});
    const until = Date.now() + 10_000;
    for (const port of [p1, p2, p3]) {
      while (!(await reachable(port))) {
        if (Date.now() > until || proc.exitCode !== null)
          throw new Error(`mosquitto did not start:\n${brokerLog}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  afterAll(async () => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (proc) await endProcessTree(proc, { graceMs: 3000, group: false, order: 'root' });
    unguard?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const v of [4, 5] as const) {
    for (const qos of [0, 1, 2] as const) {
      it(`MQTT ${v === 4 ? '3.1.1' : '5.0'} QoS ${qos}: pub exits 0 once acknowledged, sub --json prints the message`, async () => {
        const topic = `rt/${RUN}/${v}/${qos}`;
        const version = v === 5 ? ['--mqtt5'] : [];
        const sub = await subscriber(topic, ['--json', '--count', '1', '-q', String(qos), ...version]);
        const pub = await mqtt([
          'pub',
          '--url',
          plain,
          '-t',
          topic,
          '-m',
          `hello ${qos}`,
          '-q',
          String(qos),
          ...version,
        ]);
        expect(pub.code, pub.stderr).toBe(0);
        expect(pub.stdout).toBe('');
        expect(pub.stderr).toMatch(
          /^pub: 1 message, 1 acked, 0 reconnects, up \d+ B down \d+ B, \d+\.\d s\n$/,
        );
        const r = await sub.exit();
        expect(r.code, r.stderr).toBe(0);
        expect(
          r.stdout
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as unknown),
        ).toEqual([{ topic, payload: `hello ${qos}`, qos, retain: false }]);
        expect(r.stderr).toMatch(/^sub: 1 message, 0 reconnects, /m);
      });
    }
  }

  it('standard input: one message per line, in order (CRLF, empty lines and a last line without LF)', async () => {
    const topic = `lines/${RUN}`;
    const sub = await subscriber(topic, ['--count', '3', '-q', '1']);
    const pub = await mqtt(['pub', '--url', plain, '-t', topic, '-q', '1'], {
      input: 'one\r\ntwo\n\n  three  ',
    });
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.stderr).toMatch(/^pub: 3 messages, 3 acked, /);
    const r = await sub.exit();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${topic} one\n${topic} two\n${topic}   three  \n`);
  });

  it('standard input: each line is published as it arrives, the exit comes at the end of input', async () => {
    const topic = `stream/${RUN}`;
    const sub = await subscriber(topic, ['--count', '2', '-q', '2']);
    const pub = start(['pub', '--url', plain, '-t', topic, '-q', '2']);
    pub.child.stdin?.write('first\n');
    await sub.waitFor(/first\n/, 'stdout');
    expect(pub.child.exitCode).toBeNull();
    pub.child.stdin?.end('second\n');
    const p = await pub.exit();
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/^pub: 2 messages, 2 acked, /);
    const r = await sub.exit();
    expect(r.stdout).toBe(`${topic} first\n${topic} second\n`);
  });

  it('--file: the bytes as one message (2 MiB at QoS 0 too); sub --json gives a binary payload in base64', async () => {
    const topic = `file/${RUN}`;
    const bytes = Buffer.from(Array.from({ length: 256 * 4 }, (_, i) => i & 0xff));
    const big = randomBytes(2 * 1024 * 1024);
    const bin = file('all-bytes.bin', bytes);
    const text = file('text.txt', 'line 1\nline 2\n');
    const large = file('large.bin', big);
    const sub = await subscriber(topic, ['--json', '--count', '3', '-q', '1']);
    for (const [f, qos] of [
      [bin, '1'],
      [text, '1'],
      // Larger than the manager's offline QoS 0 queue: held back until connected instead.
      [large, '0'],
    ] as const) {
      const pub = await mqtt(['pub', '--url', plain, '-t', topic, '-f', f, '-q', qos]);
      expect(pub.code, pub.stderr).toBe(0);
      expect(pub.stderr).toMatch(/^pub: 1 message, 1 acked, /);
    }
    const r = await sub.exit();
    expect(r.code, r.stderr).toBe(0);
    const [a, b, c] = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { payload: string; encoding?: string; qos: number });
    expect(a?.encoding).toBe('base64');
    expect(Buffer.from(a?.payload ?? '', 'base64').equals(bytes)).toBe(true);
    expect(b).toEqual({ topic, payload: 'line 1\nline 2\n', qos: 1, retain: false });
    expect(c?.qos).toBe(0);
    expect(Buffer.from(c?.payload ?? '', 'base64').equals(big)).toBe(true);
  });

  it('--count N exits after N messages of more; text lines are "topic payload"', async () => {
    const topic = `count/${RUN}`;
    const sub = await subscriber(`count/${RUN}/+`, ['--count', '2']);
    const pub = await mqtt(['pub', '--url', plain, '-t', `${topic}/x`], { input: 'a\nb\nc\nd\n' });
    expect(pub.code, pub.stderr).toBe(0);
    const r = await sub.exit();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${topic}/x a\n${topic}/x b\n`);
    expect(r.stderr).toMatch(/^sub: 2 messages, /m);
  });

  it('--retain: a later subscriber gets the message flagged retained; an empty retained message clears it', async () => {
    const topic = `retain/${RUN}`;
    const pub = await mqtt(['pub', '--url', plain, '-t', topic, '-m', 'kept', '-r', '-q', '1']);
    expect(pub.code, pub.stderr).toBe(0);
    const later = await mqtt(['sub', '--url', plain, '-t', topic, '--json', '-C', '1', '-w', '10000']);
    expect(later.code, later.stderr).toBe(0);
    expect(JSON.parse(later.stdout)).toEqual({ topic, payload: 'kept', qos: 0, retain: true });
    const clear = await mqtt(['pub', '--url', plain, '-t', topic, '-m', '', '-r', '-q', '1']);
    expect(clear.code, clear.stderr).toBe(0);
    const none = await mqtt(['sub', '--url', plain, '-t', topic, '-w', '700']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('');
  });

  it('mutual TLS: --ca with --cert/--key or --pfx (both engines); without a certificate the alert code after --timeout', async () => {
    const topic = `tls/${RUN}`;
    const ca = ['--ca', files['ca.pem']!];
    const sub = start(
      ['sub', '--url', tlsUrl, '-t', topic, '-C', '3', '-v', ...ca, '--pfx', files['client.p12']!],
      {
        CELLSTACK_PASSPHRASE: 'sesame',
      },
    );
    await sub.waitFor(/^subscribed: /m);
    const certKey = ['--cert', files['client.pem']!, '--key', files['client.key']!];
    for (const engine of ['own', 'node']) {
      const pub = await mqtt([
        'pub',
        '-v',
        '--url',
        tlsUrl,
        '-t',
        topic,
        '-m',
        `via ${engine}`,
        '-q',
        '1',
        ...ca,
        ...certKey,
        '--engine',
        engine,
      ]);
      expect(pub.code, `${engine}: ${pub.stderr}`).toBe(0);
      // --verbose names the TLS session once connected.
      expect(pub.stderr).toMatch(
        /^connected: 127\.0\.0\.1:\d+\ntls: TLSv1\.2 TLS_ECDHE_ECDSA_WITH_AES_\d+_GCM_SHA\d+\n/m,
      );
    }
    const pfx = await mqtt([
      'pub',
      '--url',
      tlsUrl,
      '-t',
      topic,
      '-m',
      'via pfx',
      '-q',
      '2',
      ...ca,
      '--pfx',
      files['client.p12']!,
      '--passphrase',
      'sesame',
    ]);
    expect(pfx.code, pfx.stderr).toBe(0);
    const r = await sub.exit();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${topic} via own\n${topic} via node\n${topic} via pfx\n`);

    const none = await mqtt(['pub', '--url', tlsUrl, '-t', topic, '-m', 'x', ...ca, '-w', '1500']);
    expect(none.code).toBe(1);
    expect(errorLines(none.stderr)).toEqual([
      expect.stringMatching(/^cellstack: ERR_SSL_\w+: .*\(gave up after 1500 ms, \d+ attempts?\)$/),
    ]);
    // A CA that did not issue the broker's certificate: the verification code, not a timeout.
    const wrongCa = await mqtt([
      'pub',
      '--url',
      tlsUrl,
      '-t',
      topic,
      '-m',
      'x',
      '--ca',
      files['other-ca.pem']!,
      ...certKey,
      '-w',
      '1500',
    ]);
    expect(wrongCa.code).toBe(1);
    expect(errorLines(wrongCa.stderr)).toEqual([
      expect.stringMatching(/^cellstack: [A-Z_]*(CERT|ISSUER)[A-Z_]*: /),
    ]);
  });

  it('--store: a run that cannot reach the broker exits 1 after --timeout and keeps the messages; the next run delivers them', async () => {
    const topic = `store/${RUN}`;
    const store = join(dir, 'store');
    const id = ['--store', store, '--client-id', `store-${RUN}`, '-q', '1', '-t', topic];
    const down1 = await mqtt(['pub', '--url', deadUrl, ...id, '-m', 'first', '-w', '1500']);
    expect(down1.code).toBe(1);
    expect(errorLines(down1.stderr)).toEqual([
      expect.stringMatching(
        /^cellstack: ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(gave up after 1500 ms, \d+ attempts?; 1 kept in the store .*\)$/,
      ),
    ]);
    expect(down1.stderr).toMatch(/^pub: 1 message, 0 acked, 0 reconnects, /m);
    const down2 = await mqtt(['pub', '--url', deadUrl, ...id, '-w', '1000'], { input: 'second\nthird\n' });
    expect(down2.code).toBe(1);
    expect(errorLines(down2.stderr)).toEqual([expect.stringMatching(/; 3 kept in the store /)]);

    const sub = await subscriber(topic, ['--count', '4', '-q', '1']);
    const up = await mqtt(['pub', '--url', plain, ...id, '-m', 'fourth']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/^pub: 1 message, 1 acked, 3 from the store, 0 reconnects, /m);
    const r = await sub.exit();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(['first', 'second', 'third', 'fourth'].map((m) => `${topic} ${m}\n`).join(''));
    // Nothing is left: a run without messages finds an empty store and exits 0.
    const empty = await mqtt(['pub', '--url', plain, ...id]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stderr).toMatch(/^pub: 0 messages, 0 acked, 0 reconnects, /m);
  });

  it('broker passwords come from $CELLSTACK_MQTT_PASSWORD or --password-env and never appear in the output', async () => {
    const secret = 'correct horse 7';
    const topic = `auth/${RUN}`;
    const ok = await mqtt(['pub', '--url', auth, '-t', topic, '-m', 'x', '-q', '1', '-u', 'device-7', '-v'], {
      env: { CELLSTACK_MQTT_PASSWORD: secret },
    });
    expect(ok.code, ok.stderr).toBe(0);
    const named = await mqtt(
      [
        'pub',
        '--url',
        auth,
        '-t',
        topic,
        '-m',
        'x',
        '-u',
        'device-7',
        '--password-env',
        'MY_BROKER_PW',
        '--mqtt5',
      ],
      {
        env: { MY_BROKER_PW: secret },
      },
    );
    expect(named.code, named.stderr).toBe(0);
    const wrong = 'wrong horse 8';
    const refused = await mqtt(
      ['pub', '--url', auth, '-t', topic, '-m', 'x', '-u', 'device-7', '-v', '-w', '1500'],
      {
        env: { CELLSTACK_MQTT_PASSWORD: wrong },
      },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^offline: CONNACK_REFUSED: /m);
    expect(errorLines(refused.stderr)).toEqual([
      expect.stringMatching(/^cellstack: CONNACK_REFUSED: .*reason code 0x05/),
    ]);
    const anonymous = await mqtt(['sub', '--url', auth, '-t', topic, '-w', '1500']);
    expect(anonymous.code).toBe(1);
    expect(errorLines(anonymous.stderr)).toEqual([expect.stringMatching(/^cellstack: CONNACK_REFUSED: /)]);
    for (const r of [ok, named, refused]) {
      expect(r.stdout + r.stderr).not.toContain(secret);
      expect(r.stdout + r.stderr).not.toContain(wrong);
      expect(r.stdout + r.stderr).not.toContain('horse');
    }
  });

  it('sub runs until SIGINT or SIGTERM, then sends DISCONNECT and exits 0 with its summary', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const id = `sig-${signal}-${RUN}`;
      const sub = await subscriber(`sig/${RUN}`, ['-i', id]);
      sub.child.kill(signal);
      const r = await sub.exit();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^sub: 0 messages, 0 reconnects, /m);
      const until = Date.now() + 5000;
      while (!brokerLog.includes(`Client ${id} disconnected.`) && Date.now() < until)
        await new Promise((res) => setTimeout(res, 20));
      expect(brokerLog).toContain(`Client ${id} disconnected.`);
      expect(brokerLog).not.toContain(`Client ${id} closed its connection`);
    }
    // pub reading standard input: Ctrl-C once all read is acknowledged is a normal end.
    const pub = start(['pub', '--url', plain, '-t', `sig/${RUN}`, '-q', '1', '-v']);
    pub.child.stdin?.write('only\n');
    await pub.waitFor(/^connected: /m);
    await new Promise((r) => setTimeout(r, 300));
    pub.child.kill('SIGINT');
    const p = await pub.exit();
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/^pub: 1 message, 1 acked, /m);
  });

  it('sub --timeout: ETIMEDOUT when --count was not reached, exit 0 without --count', async () => {
    const topic = `timeout/${RUN}`;
    const short = await mqtt(['sub', '--url', plain, '-t', topic, '-C', '2', '-w', '800']);
    expect(short.code).toBe(1);
    expect(errorLines(short.stderr)).toEqual(['cellstack: ETIMEDOUT: 0 of 2 messages within 800 ms']);
    const boxed = await mqtt(['sub', '--url', plain, '-t', topic, '-w', '500']);
    expect(boxed.code, boxed.stderr).toBe(0);
    const down = await mqtt(['sub', '--url', deadUrl, '-t', topic, '-w', '800']);
    expect(down.code).toBe(1);
    expect(errorLines(down.stderr)).toEqual([expect.stringMatching(/^cellstack: ECONNREFUSED: /)]);
  });

  it('not on a terminal: standard error has only the summary, or the state lines too with --verbose', async () => {
    const topic = `quiet/${RUN}`;
    const plainRun = await mqtt(['pub', '--url', plain, '-t', topic, '-m', 'x']);
    expect(plainRun.code, plainRun.stderr).toBe(0);
    expect(plainRun.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^pub: 1 message, 1 acked/),
    ]);
    expect(plainRun.stderr).not.toContain('\x1b');
    const quiet = await mqtt(['pub', '--url', plain, '-t', topic, '-m', 'x', '--quiet']);
    expect(quiet.stderr).toBe('');
    const verbose = await mqtt(['pub', '--url', plain, '-t', topic, '-m', 'x', '-v']);
    expect(verbose.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^connecting: 127\.0\.0\.1:\d+$/),
      expect.stringMatching(/^connected: 127\.0\.0\.1:\d+$/),
      expect.stringMatching(/^pub: 1 message, 1 acked/),
    ]);
  });

  const script = peer('script', which('script') ? undefined : 'util-linux `script` is not installed');
  it.skipIf(script.skip)(
    'on a terminal: a live status line, redrawn and erased before the summary',
    async () => {
      const topic = `tty/${RUN}`;
      // util-linux `script` gives the CLI a pseudo-terminal as standard input, output and error.
      const command = `${process.execPath} ${BIN} mqtt sub --url ${plain} -t ${topic} -C 1 -w 10000 -v`;
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        env: { ...process.env, ...ENV },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      running.push(child);
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const closed = new Promise<number | null>((r) => child.on('close', r));
      const until = Date.now() + 10_000;
      // --verbose: the state lines and "subscribed:" go above the status line.
      while (!/subscribed: [^\r\n]*\r\n/.test(out)) {
        if (Date.now() > until) throw new Error(`not subscribed: ${JSON.stringify(out)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(out).toMatch(
        /\r\x1b\[Kconnected 127\.0\.0\.1:\d+ \| up \d+ B down \d+ B \| received 0 \| \d+\.\d s/,
      );
      const pub = await mqtt(['pub', '--url', plain, '-t', topic, '-m', 'on the terminal', '-q', '1']);
      expect(pub.code, pub.stderr).toBe(0);
      // sub ends by itself: after the message, or by its --timeout.
      const code = await closed;
      expect(code).toBe(0);
      // The message is written over an erased status line; the summary follows an erase too.
      expect(out).toContain(`\r\x1b[K${topic} on the terminal\r\n`);
      expect(out).toMatch(/\r\x1b\[Ksub: 1 message, 0 reconnects, [^\r\n]*\r\n$/);
      // Redrawn while waiting (the clock moves), each time over the previous one.
      expect(out.match(/\r\x1b\[Kconnected /g)?.length ?? 0).toBeGreaterThan(1);
    },
  );
});

const uml = peer('uml', umlProblem());
const socat = peer('socat', which('socat') ? undefined : 'socat is not installed (apt-get install socat)');

/**
 * --device: the same commands over a PPP line (a pty, `--direct`) to pppd in the UML guest,
 * whose mosquitto listens on 1883; the broker's name goes through the link's DNS.
 */
describe.skipIf(uml.skip || socat.skip || broker.skip)(
  'cellstack mqtt --device over a PPP line to the guest',
  () => {
    let line: PtyGuest;
    let device: string;

    beforeAll(async () => {
      line = await startPtyGuest({ auth: 'none', services: ['mqtt', 'dns'] });
      ({ device } = line);
    });

    afterAll(async () => {
      await line?.stop();
    });

    it('pub over the link (retained, QoS 1), then sub over the link gets it; phases and bytes shown', async () => {
      const topic = `link/${RUN}`;
      const url = 'mqtt://broker.cellstack.test';
      const pub = await mqtt(
        [
          'pub',
          '--url',
          url,
          '-t',
          topic,
          '-m',
          'over ppp',
          '-q',
          '1',
          '-r',
          '-v',
          '--direct',
          '--device',
          device,
        ],
        {
          timeoutMs: 90_000,
        },
      );
      expect(pub.code, pub.stderr).toBe(0);
      const states = pub.stderr
        .split('\n')
        .map((l) => /^(\w[\w-]*)(:|$)/.exec(l)?.[1])
        .filter((s) => s !== undefined && s !== 'pub');
      expect(states).toEqual(['opening', 'dialing', 'ppp-up', 'connecting', 'connected']);
      expect(pub.stderr).toMatch(/^ppp-up: 10\.64\.0\.\d+ -> 10\.64\.0\.1/m);
      const summary = /^pub: 1 message, 1 acked, 0 reconnects, up (\d+) B down (\d+) B, /m.exec(pub.stderr);
      expect(summary, pub.stderr).not.toBeNull();
      // Bytes on the serial line: LCP, IPCP, DNS, TCP and MQTT.
      expect(Number(summary?.[1])).toBeGreaterThan(100);
      await line.nextSession();
      const sub = await mqtt(
        ['sub', '--url', url, '-t', topic, '-C', '1', '--json', '--direct', '--device', device],
        {
          timeoutMs: 90_000,
        },
      );
      expect(sub.code, sub.stderr).toBe(0);
      expect(JSON.parse(sub.stdout)).toEqual({ topic, payload: 'over ppp', qos: 0, retain: true });
    });
  },
);
