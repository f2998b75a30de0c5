import { randomBytes } from 'node:crypto';
import { type Connection, connect, type StateChange } from '../../index.js';
import {
  type DemoBroker,
  LINK_PROFILES,
  type LinkProfileName,
  makeDemoPki,
  SimService,
  startDemoBroker,
} from '../../sim/index.js';
import { CellstackError } from '../../util/errors.js';
import { COMMON_OPTIONS, parse, UsageError } from '../args.js';
import type { Io } from '../output.js';

export const summary = 'the main job end to end on the built-in virtual modem and a local TLS broker';

export const help = `Usage: cellstack demo [--profile NAME] [--broker auto|mosquitto|aedes] [options]

Runs what a device in the field runs, with nothing attached: the built-in virtual modem (SIM
PIN, registration, ATD*99#, CONNECT), PPP with CHAP to the network behind it (address and
DNS from IPCP), DNS for the broker's name, TCP, TLS 1.2 with a client certificate, and MQTT:
it subscribes to a topic of its own, publishes a QoS 1 message to it and waits for it to come
back. Each phase is printed with its time and the bytes on the line so far; exit 0 when the
message has made the round trip.

The broker is mosquitto when it is installed, otherwise aedes in this process; both listen on
127.0.0.1 with a throwaway CA, server and client certificate made for this run. The virtual
network reaches 127.0.0.1 only, and its DNS answers broker.sim and nothing else.

Options:
      --profile NAME   the radio between the modem and the network: ${Object.keys(LINK_PROFILES).join(', ')}
                       (default: none, an ideal line)
      --broker KIND    auto (default), mosquitto or aedes
      --mqtt5          MQTT 5.0 instead of 3.1.1 (with mosquitto; aedes speaks 3.1.1)
  -w, --timeout MS     give up after MS (default 60000; 180000 with gprs or lossy)
      --json           one JSON object with the phases and counters on stdout
  -h, --help           this help`;

const DEMO_OPTIONS = {
  profile: { type: 'string' },
  broker: { type: 'string' },
  mqtt5: { type: 'boolean' },
  timeout: { type: 'string', short: 'w' },
} as const;

interface Phase {
  state: string;
  detail: string;
  atMs: number;
  bytesUp: number;
  bytesDown: number;
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...DEMO_OPTIONS });
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const profile = typeof values['profile'] === 'string' ? values['profile'] : undefined;
  if (profile !== undefined && !(profile in LINK_PROFILES))
    throw new UsageError(`--profile: one of ${Object.keys(LINK_PROFILES).join(', ')}, not "${profile}"`);
  const prefer = typeof values['broker'] === 'string' ? values['broker'] : 'auto';
  if (prefer !== 'auto' && prefer !== 'mosquitto' && prefer !== 'aedes')
    throw new UsageError(`--broker: auto, mosquitto or aedes, not "${prefer}"`);
  const slow = profile === 'gprs' || profile === 'lossy';
  const timeoutMs =
    typeof values['timeout'] === 'string' ? Number(values['timeout']) : slow ? 180_000 : 60_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout: not a duration');
  const json = values['json'] === true;
  const say = (line: string): void => {
    if (!json) io.stdout.write(`${line}\n`);
  };

  const t0 = performance.now();
  const pki = makeDemoPki();
  const broker: DemoBroker = await startDemoBroker(pki, { prefer });
  if (broker.kind === 'aedes' && values['mqtt5'] === true) {
    await broker.stop();
    throw new CellstackError(
      'EBROKER',
      '--mqtt5 needs mosquitto: aedes, the in-process broker, speaks MQTT 3.1.1',
    );
  }
  say(`broker      ${broker.kind} on 127.0.0.1:${broker.port} (TLS, client certificate required)`);
  const credentials = { user: 'demo', password: randomBytes(6).toString('hex') };
  const service = new SimService({
    modem: { sim: { pin: '1234' }, network: { registerAfterMs: 400 }, connectDelayMs: 200 },
    network: {
      ppp: {
        auth: 'chap-md5',
        credentials: [credentials],
        localAddress: '10.0.0.1',
        peerAddress: '10.0.0.2',
        dns: ['10.0.0.1'],
      },
      ...(profile ? { profile: profile as LinkProfileName } : {}),
    },
    gateway: { address: '10.0.0.1', allow: ['127.0.0.1/32'], dns: { 'broker.sim': '127.0.0.1' } },
  });
  const phases: Phase[] = [];
  let conn: Connection | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    conn = connect({
      modem: {
        path: 'sim',
        openPort: async () => service.port(),
        pin: '1234',
        apn: 'internet',
        user: credentials.user,
        password: credentials.password,
      },
      mqtt: {
        url: `mqtts://broker.sim:${broker.port}`,
        clientId: `cellstack-demo-${randomBytes(3).toString('hex')}`,
        protocolVersion: values['mqtt5'] === true ? 5 : 4,
        ca: pki.ca,
        cert: pki.clientCert,
        key: pki.clientKey,
        connectTimeoutMs: Math.min(timeoutMs, slow ? 120_000 : 30_000),
      },
      reconnect: { initialDelayMs: 500, maxDelayMs: 2000, maxAttempts: 3 },
    });
    const c = conn;
    let last = performance.now();
    let finished = false;
    c.on('state', (s: StateChange) => {
      if (finished) return;
      const now = performance.now();
      const b = c.stats().bytes;
      const detail =
        s.state === 'offline'
          ? `${(s.reason as { code?: string })?.code ?? ''} ${s.reason?.message ?? ''}`
          : (s.detail ?? '');
      phases.push({ state: s.state, detail, atMs: Math.round(now - t0), bytesUp: b.up, bytesDown: b.down });
      say(
        `${s.state.padEnd(11)} ${detail.padEnd(44)} ${`+${Math.round(now - last)} ms`.padStart(10)}  ${String(b.up).padStart(6)} B up ${String(b.down).padStart(6)} B down`,
      );
      last = now;
    });
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CellstackError('ETIMEDOUT', `the demo did not finish within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const topic = `cellstack/demo/${randomBytes(4).toString('hex')}`;
    const message = `hello from cellstack over ${profile ?? 'an ideal line'} at ${new Date().toISOString()}`;
    const roundTrip = (async () => {
      await c.ready();
      const got = new Promise<string>((resolve) => {
        void c.subscribe(topic, { qos: 1 }, (_t, payload) => resolve(String(payload)));
      });
      const sentAt = performance.now();
      const pub = c.publish(topic, message, { qos: 1 });
      await pub.acked;
      const ackMs = performance.now() - sentAt;
      const back = await got;
      return { ackMs, backMs: performance.now() - sentAt, back };
    })();
    const r = await Promise.race([roundTrip, deadline]);
    if (r.back !== message) throw new CellstackError('EDEMO', 'the message came back changed');
    finished = true;
    const s = c.stats();
    say(
      `publish     QoS 1 on ${topic}: PUBACK after ${Math.round(r.ackMs)} ms, back to our subscription after ${Math.round(r.backMs)} ms`,
    );
    say(`tls         ${s.tls?.protocol ?? '?'} ${s.tls?.cipher ?? ''}`);
    say(
      `done        ${Math.round(performance.now() - t0)} ms; ${s.bytes.up} B up, ${s.bytes.down} B down on the line; ${s.ip ? `device ${s.ip.local}` : ''}`,
    );
    if (json)
      io.stdout.write(
        `${JSON.stringify({ ok: true, broker: broker.kind, profile: profile ?? null, phases, publish: { topic, ackMs: Math.round(r.ackMs), roundTripMs: Math.round(r.backMs) }, stats: { bytes: s.bytes, tls: s.tls ?? null, ip: s.ip ?? null, mqtt: s.mqtt } })}\n`,
      );
    return 0;
  } finally {
    clearTimeout(timer);
    await conn?.end().catch(() => undefined);
    service.close();
    await broker.stop();
  }
}
