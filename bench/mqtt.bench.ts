import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tls } from '../src/index.js';
import { NetStack } from '../src/ip/stack.js';
import { MqttClient } from '../src/mqtt/client.js';
import { MemoryStore } from '../src/mqtt/store/memory-store.js';
import { PppLink } from '../src/ppp/link.js';
import { makePki } from '../test/helpers/test-pki.js';
import { LineBridge } from '../test/interop/harness/line.js';
import { peer } from '../test/interop/harness/peers.js';
import { endProcessTree, guardUntilStopped } from '../test/interop/harness/proc.js';
import { startUmlPeer, type UmlPeer, umlProblem } from '../test/interop/harness/uml.js';
import {
  aeadOverhead,
  certificateLengths,
  type DialMinimum,
  dialMinimum,
  FrameLog,
  HS,
  hsName,
  isTcpFrame,
  type LoggedFrame,
  type MinControl,
  type MinFrame,
  MQTT_CONNACK,
  MQTT_PUBACK,
  type MqttSizes,
  minFrameBytes,
  mqttConnect,
  mqttPublish1,
  parseRecords,
  rebuildStreams,
  roundMinimum,
  type TlsRecord,
} from './mqtt-wire.js';

/**
 * The MQTT client's bench targets (issue 8), each printed next to its anchor from the same run:
 * (a) Bytes on the serial wire against the protocols' minimum (mqtt-wire.ts and bench/README.md
 *     say how the minimum is counted); target <= 1.10x. One UML peer (pppd with its defaults,
 *     mosquitto's `mqtts-mutual` listener on 10.64.0.1:8884 requiring a client certificate),
 *     three PPP sessions of it: our defaults (the target row; then the steady state: 200
 *     publishes one at a time and 200 with 10 in flight), `sessionTickets: false`, and a
 *     resumption with the first session's ticket. The line is direct PPP (no AT dial): bytes
 *     count from the first LCP octet to the frame that completes the first PUBACK, on a
 *     LineBridge tap (checked against PppLink's own HDLC counters). The line is unpaced with
 *     netem delay 50 ms on the guest's ppp0 both ways (an LTE-like round trip of >= 100 ms;
 *     CELLSTACK_MQTT_NETEM, '' for none; CELLSTACK_MQTT_BAUD paces the line).
 * (b) RSS of a fresh `node --expose-gc` process (mqtt-load.mjs, on dist/) over 10,000 QoS 1
 *     publishes to mosquitto on 127.0.0.1 over node:tls, after a forced GC at start and every
 *     2,000: ours with a FileStore (the realistic case), ours with a MemoryStore, MQTT.js.
 *     Target: growth <= 15 MB and flat.
 * (c) Publishes per second to the same mosquitto over node:tls: QoS 1, 32-byte payloads, at
 *     most `window` unacknowledged (1 and 100), from the first publish to the last PUBACK, our
 *     MqttClient (MemoryStore) and MQTT.js v5 taking turns in one process, median of 7 rounds
 *     (CELLSTACK_MQTT_RATE_ROUNDS); ours with the FileStore for reference. Target >= 1.0x.
 * Asserted: everything completed, the tap agrees with PppLink's HDLC counters, the steady-state
 * wire targets; loosely, the dial's ratio (< 2) and no leak (RSS outside V8's young generation).
 * The other targets are printed with their verdicts.
 * Run: CELLSTACK_BENCH=1 npx vitest run --project bench bench/mqtt.bench.ts (-t wire / -t mosquitto
 * for one half). CELLSTACK_MQTT_PROF=DIR adds CPU profiles of each client alone in (c);
 * CELLSTACK_MQTT_NODE_FLAGS passes node flags to the load child; CELLSTACK_MQTT_DUMP=N prints
 * the first N frames of the first session.
 */

const uml = peer('uml', umlProblem());

const TOPIC = 'cellstack/bench';
const PAYLOAD = 32;
const CLIENT_ID = 'cellstack-bench';
const SERVER_NAME = 'broker.cellstack.test';
const ROUNDS = Number(process.env['CELLSTACK_MQTT_WIRE_ROUNDS'] ?? 200);
const WINDOW = 10;
/** The serial line's pace (8N1); 0 = unpaced. */
const BAUD = Number(process.env['CELLSTACK_MQTT_BAUD'] ?? 0);
/** netem on the guest's ppp0, both ways: an LTE-like round trip (the line itself is a fast USB link). */
const NETEM = process.env['CELLSTACK_MQTT_NETEM'] ?? 'delay 50ms';
/** Print the first N frames of the first session. */
const DUMP = Number(process.env['CELLSTACK_MQTT_DUMP'] ?? 0);

const payload = (i: number) => Buffer.from(`${String(i).padStart(8, '0')}${'x'.repeat(PAYLOAD - 8)}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

/** Reads and drops what the guest's pppd sent before we start (its passive ConfReqs), until `quietMs` of silence. */
async function drain(s: Duplex, quietMs: number): Promise<number> {
  let n = 0;
  let last = performance.now();
  const on = (d: Buffer) => {
    n += d.length;
    last = performance.now();
  };
  s.on('data', on);
  while (performance.now() - last < quietMs) await sleep(quietMs / 4);
  s.off('data', on);
  return n;
}

/** Runs `n` QoS 1 publishes keeping at most `window` unacknowledged. */
async function publishWindow(c: MqttClient, n: number, window: number, from: number): Promise<void> {
  let next = 0;
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    const start = () => {
      const i = next++;
      c.publish(TOPIC, payload(from + i), { qos: 1 }).acked.then(() => {
        done++;
        if (done === n) resolve();
        else if (next < n) start();
      }, reject);
    };
    for (let k = 0; k < Math.min(window, n); k++) start();
  });
}

// ---- (a) wire bytes ----------------------------------------------------------------------------

interface Phase {
  frames: number;
  bytes: number;
  escapes: number;
  /** Milliseconds from the first frame of the dial to this phase's last frame. */
  untilMs: number;
}

const PHASES = [
  'LCP',
  'IPCP',
  'other control',
  'TCP handshake',
  'TLS handshake',
  'MQTT CONNECT/CONNACK',
  'MQTT PUBLISH/PUBACK',
  'TCP pure ACK',
  'TCP retransmission',
];

function phaseOf(
  f: LoggedFrame,
  records: Record<'up' | 'down', TlsRecord[]>,
  spans: Map<number, [number, number]>,
  firstData: number,
): string {
  if (f.kind === 'control') {
    const code = f.code ?? 0;
    if (f.protocol === 0xc021 && code >= 1 && code <= 4) return 'LCP';
    if (f.protocol === 0x8021 && code >= 1 && code <= 4) return 'IPCP';
    return 'other control';
  }
  if (!isTcpFrame(f)) return `other (${f.kind})`;
  if (f.retransmit) return 'TCP retransmission';
  if (f.syn) return 'TCP handshake';
  const span = spans.get(f.seq);
  if (!span || span[0] === span[1]) return f.seq < firstData ? 'TCP handshake' : 'TCP pure ACK';
  const rec = records[f.dir].find((r) => span[0] >= r.offset && span[0] < r.offset + 5 + r.length);
  if (!rec) return 'TCP data (unparsed)';
  if (rec.type !== 23) return 'TLS handshake';
  const app = records[f.dir].filter((r) => r.type === 23);
  return app.indexOf(rec) === 0 ? 'MQTT CONNECT/CONNACK' : 'MQTT PUBLISH/PUBACK';
}

const PROTO_NAMES = new Map<number, string>([
  [0xc021, 'LCP'],
  [0x8021, 'IPCP'],
  [0x8057, 'IPV6CP'],
  [0x80fd, 'CCP'],
]);
const CODE_NAMES: Record<number, string> = {
  1: 'ConfReq',
  2: 'ConfAck',
  3: 'ConfNak',
  4: 'ConfRej',
  5: 'TermReq',
  6: 'TermAck',
  7: 'CodeRej',
  8: 'ProtRej',
  9: 'EchoReq',
  10: 'EchoRep',
};
const controlName = (f: LoggedFrame) =>
  `${PROTO_NAMES.get(f.protocol) ?? `0x${f.protocol.toString(16)}`} ${CODE_NAMES[f.code ?? 0] ?? f.code}`;

const infoOf = (f: LoggedFrame) => f.content.subarray(f.pppHeader);
const packetLength = (f: LoggedFrame) => {
  const i = infoOf(f);
  return (i[2]! << 8) | i[3]!;
};

/** The control packets of the minimum, from what was negotiated (see mqtt-wire.ts). */
function controlMinimum(frames: readonly LoggedFrame[]): MinControl[] {
  const out: MinControl[] = [];
  const lastAck = (proto: number, dir: 'up' | 'down') =>
    frames
      .filter((f) => f.kind === 'control' && f.protocol === proto && f.code === 2 && f.dir === dir)
      .at(-1);
  // LCP: each side's acked request and its ack.
  for (const dir of ['up', 'down'] as const) {
    const ack = lastAck(0xc021, dir === 'up' ? 'down' : 'up');
    if (!ack) throw new Error(`no LCP ConfAck of the ${dir} side's request`);
    out.push({ dir, phase: 'LCP', length: packetLength(ack), lcp: true });
    out.push({ dir: ack.dir, phase: 'LCP', length: packetLength(ack), lcp: true });
  }
  // IPCP: ours with the Nak round (address and DNS options named by the peer), then the peer's.
  const ourAck = lastAck(0x8021, 'down');
  const theirAck = lastAck(0x8021, 'up');
  if (!ourAck || !theirAck) throw new Error('IPCP did not finish both ways');
  const opts = infoOf(ourAck).subarray(4);
  let named = 0;
  for (let i = 0; i + 2 <= opts.length; i += Math.max(2, opts[i + 1]!))
    if ([3, 129, 131].includes(opts[i]!)) named += opts[i + 1]!;
  const ours = packetLength(ourAck);
  const theirs = packetLength(theirAck);
  out.push({ dir: 'up', phase: 'IPCP', length: ours, lcp: false });
  out.push({ dir: 'down', phase: 'IPCP', length: 4 + named, lcp: false });
  out.push({ dir: 'up', phase: 'IPCP', length: ours, lcp: false });
  out.push({ dir: 'down', phase: 'IPCP', length: ours, lcp: false });
  out.push({ dir: 'down', phase: 'IPCP', length: theirs, lcp: false });
  out.push({ dir: 'up', phase: 'IPCP', length: theirs, lcp: false });
  return out;
}

const EXT_NAMES = new Map<number, string>([
  [0, 'server_name'],
  [10, 'supported_groups'],
  [11, 'ec_point_formats'],
  [13, 'signature_algorithms'],
  [16, 'alpn'],
  [22, 'encrypt_then_mac'],
  [23, 'extended_master_secret'],
  [35, 'session_ticket'],
  [0xff01, 'renegotiation_info'],
]);

/** A Client/ServerHello's session id, suites and extensions (name and octets with their 4-octet headers). */
function helloSummary(type: number, body: Buffer): string {
  let i = 2 + 32;
  const sid = body[i]!;
  i += 1 + sid;
  let suites = 1;
  if (type === HS.ClientHello) {
    suites = body.readUInt16BE(i) / 2;
    i += 2 + suites * 2;
    i += 1 + body[i]!;
  } else i += 2 + 1;
  const exts: string[] = [];
  if (i + 2 <= body.length) {
    const end = i + 2 + body.readUInt16BE(i);
    i += 2;
    while (i + 4 <= end) {
      const t = body.readUInt16BE(i);
      const n = body.readUInt16BE(i + 2);
      exts.push(`${EXT_NAMES.get(t) ?? t} ${4 + n}`);
      i += 4 + n;
    }
  }
  return `session id ${sid}, ${type === HS.ClientHello ? `${suites} suites (2 octets each), ` : ''}extensions ${exts.join(', ')}`;
}

/** Signature length in a ServerKeyExchange (ECDHE) or CertificateVerify body. */
function signatureBytes(type: number, body: Buffer): number {
  const i = type === HS.ServerKeyExchange ? 3 + 1 + body[3]! : 0;
  return body.readUInt16BE(i + 2);
}

/** The certificates of a Certificate message: DER size, and whether it is a self-signed root (RFC 5246 7.4.2: MAY be left out). */
function chain(body: Buffer): { bytes: number; root: boolean; subject: string }[] {
  const out: { bytes: number; root: boolean; subject: string }[] = [];
  let j = 3;
  for (const n of certificateLengths(body)) {
    const x = new X509Certificate(body.subarray(j + 3, j + 3 + n));
    out.push({
      bytes: n,
      root: x.subject === x.issuer && x.checkIssued(x),
      subject: x.subject.replace(/\n/g, ', '),
    });
    j += 3 + n;
  }
  return out;
}

interface SessionCapture {
  label: string;
  frames: LoggedFrame[];
  stale: number;
  suite: string;
  vjBoth: boolean;
  retransmits: number;
  resumed: boolean;
  /** Wire octets by the link's HDLC counters and by the tap, at the end of the session (before LCP Terminate). */
  counters: { linkOut: number; linkIn: number; tapUp: number; tapDown: number };
  /** Frame indexes: after warm-up, after the one-at-a-time run, after the windowed run. */
  marks?: [number, number, number];
  session?: Buffer;
}

/** Sessions of the peer's pppd: the n-th has opened ttyS0. */
async function waitSession(p: UmlPeer, n: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((p.pppdLog().match(/^Connect: ppp\d+ <--> \/dev\/ttyS0/gm) ?? []).length < n) {
    if (Date.now() > deadline) throw new Error(`the peer's pppd session ${n} did not start`);
    await sleep(50);
  }
}

/**
 * One PPP session from LCP to the first PUBACK (and, with `steady`, the steady-state runs), then
 * DISCONNECT, LCP Terminate and the peer's pppd restarting for the next session.
 */
async function runSession(
  p: UmlPeer,
  n: number,
  label: string,
  o: { steady?: boolean; sessionTickets?: boolean; session?: Buffer },
): Promise<SessionCapture> {
  await waitSession(p, n);
  const stale = await drain(p.serial, 400);
  const logMark = p.logMark();
  const log = new FrameLog();
  const line = new LineBridge({ guest: p.serial, baud: BAUD, tap: (d, c) => log.push(d, c) });
  const link = new PppLink(line.client).open();
  let stack: NetStack | undefined;
  let client: MqttClient | undefined;
  try {
    await link.waitUp(20_000);
    // The guest's kernel drops what arrives before pppd has set ppp0 up (a race of this peer,
    // not of the protocol): wait for pppd's report. Time passes, no byte is sent.
    await p.waitForLog(/^remote IP address/, 10_000, logMark).catch(() => undefined);
    stack = new NetStack(link);
    const certs = p.certs!;
    const tcp = stack.connect({ host: p.peerAddress, port: 8884 });
    const sock = tls.connect({
      socket: tcp,
      servername: SERVER_NAME,
      ca: readFileSync(certs.ca),
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
      ...(o.sessionTickets === undefined ? {} : { sessionTickets: o.sessionTickets }),
      ...(o.session ? { session: o.session } : {}),
    });
    const ticket = new Promise<Buffer | undefined>((resolve) => {
      sock.once('session', (b: Buffer) => resolve(b));
      sock.once('close', () => resolve(undefined));
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', () => resolve());
      sock.once('error', reject);
    });
    const suite = sock.getCipher()?.name ?? '?';
    const resumed = sock.isSessionReused();
    client = new MqttClient({ store: new MemoryStore() });
    client.on('error', () => {});
    await client.connect(sock, { clientId: CLIENT_ID, keepalive: 60 });
    await client.publish(TOPIC, payload(0), { qos: 1 }).acked;
    let marks: [number, number, number] | undefined;
    if (o.steady) {
      for (let i = 1; i <= 20; i++) await client.publish(TOPIC, payload(i), { qos: 1 }).acked;
      await sleep(500);
      const m0 = log.frames.length;
      for (let i = 0; i < ROUNDS; i++) await client.publish(TOPIC, payload(100 + i), { qos: 1 }).acked;
      await sleep(500);
      const m1 = log.frames.length;
      await publishWindow(client, ROUNDS, WINDOW, 1000);
      await sleep(500);
      marks = [m0, m1, log.frames.length];
    }
    const session =
      o.sessionTickets === false
        ? undefined
        : await Promise.race([ticket, sleep(2000).then(() => undefined)]);
    const retransmits = stack.tcp.connections.reduce((s, c) => s + c.tcb.stats.retransmits, 0);
    const vj = link.vj;
    await client.end();
    client = undefined;
    await sleep(200);
    // Cross-check of the instrument: the link's own HDLC counters against the tap.
    const st = link.stats();
    const tapped = (dir: 'up' | 'down') =>
      log.frames.filter((f) => f.dir === dir).reduce((s, f) => s + f.wireBytes, 0);
    const counters = {
      linkOut: st.hdlcOut.bytesOut,
      linkIn: st.hdlc.bytesIn,
      tapUp: tapped('up'),
      tapDown: tapped('down'),
    };
    const out: SessionCapture = {
      label,
      frames: log.frames,
      stale,
      suite,
      vjBoth: vj?.send !== undefined && vj?.receive !== undefined,
      retransmits,
      resumed,
      counters,
    };
    if (marks) out.marks = marks;
    if (session) out.session = session;
    return out;
  } finally {
    if (client) await client.end().catch(() => undefined);
    stack?.close();
    await link.close().catch(() => undefined);
    line.close();
  }
}

interface Cause {
  owner: 'ours' | 'broker' | 'peer kernel' | 'pppd' | 'stuffing' | 'rest';
  what: string;
  bytes: number;
}

interface DialAnalysis {
  causes: Cause[];
  measured: number;
  frames: number;
  ms: number;
  escapes: number;
  phases: Map<string, Phase>;
  /** Null for a resumed session (the minimum is that of a full handshake). */
  min: DialMinimum | undefined;
  minPlain: DialMinimum | undefined;
  ratio: number;
  detail: string[];
}

function analyzeDial(c: SessionCapture): DialAnalysis {
  const frames = c.frames;
  const streams = rebuildStreams(frames);
  const records = { up: parseRecords(streams.up), down: parseRecords(streams.down) };
  const pubackRec = records.down.filter((r) => r.type === 23)[1];
  if (!pubackRec) throw new Error(`${c.label}: no PUBACK record seen`);
  const pubackEnd = pubackRec.offset + 5 + pubackRec.length;
  const endFrame = frames.find((f) => {
    const s = streams.spans.get(f.seq);
    return f.dir === 'down' && !f.retransmit && s !== undefined && s[1] >= pubackEnd;
  });
  if (!endFrame) throw new Error(`${c.label}: no frame ends the first PUBACK`);
  const dial = frames.filter((f) => f.seq <= endFrame.seq);
  const upEnd = Math.max(
    0,
    ...dial.filter((f) => f.dir === 'up').map((f) => streams.spans.get(f.seq)?.[1] ?? 0),
  );
  const dialRecords = {
    up: records.up.filter((r) => r.offset + 5 + r.length <= upEnd),
    down: records.down.filter((r) => r.offset + 5 + r.length <= pubackEnd),
  };
  const phases = new Map<string, Phase>();
  const firstData = frames.find((f) => (f.payload?.length ?? 0) > 0)?.seq ?? Number.POSITIVE_INFINITY;
  for (const f of dial) {
    const name = phaseOf(f, records, streams.spans, firstData);
    const ph = phases.get(name) ?? { frames: 0, bytes: 0, escapes: 0, untilMs: 0 };
    ph.frames++;
    ph.bytes += f.wireBytes;
    ph.escapes += f.escapes;
    ph.untilMs = f.atMs - frames[0]!.atMs;
    phases.set(name, ph);
  }
  const measured = dial.reduce((s, f) => s + f.wireBytes, 0);
  const escapes = dial.reduce((s, f) => s + f.escapes, 0);
  const detail: string[] = [];
  const side = (dir: 'up' | 'down') => (dir === 'up' ? '>' : '<');
  detail.push(
    `  control frames (wire bytes): ${dial
      .filter((f) => f.kind === 'control')
      .map((f) => `${side(f.dir)}${controlName(f)} ${f.wireBytes}`)
      .join(', ')}`,
  );
  const msgs = (dir: 'up' | 'down') => dialRecords[dir].flatMap((r) => r.messages);
  const find = (dir: 'up' | 'down', type: number) => msgs(dir).find((x) => x.type === type);
  const m: MqttSizes = { clientId: CLIENT_ID, topic: TOPIC, payload: PAYLOAD };
  let min: DialMinimum | undefined;
  let minPlain: DialMinimum | undefined;
  const serverCert = find('down', HS.Certificate);
  const clientCert = find('up', HS.Certificate);
  const ske = find('down', HS.ServerKeyExchange);
  const cv = find('up', HS.CertificateVerify);
  if (serverCert && clientCert && ske && cv) {
    // The chain the client needs: what the server sent, less a self-signed root (RFC 5246 7.4.2).
    const serverChain = chain(serverCert.body);
    const clientChain = chain(clientCert.body);
    const tlsIn = {
      serverName: SERVER_NAME,
      serverCerts: serverChain.filter((x) => !x.root).map((x) => x.bytes),
      clientCerts: clientChain.filter((x) => !x.root).map((x) => x.bytes),
      serverSigBytes: signatureBytes(HS.ServerKeyExchange, ske.body),
      clientSigBytes: signatureBytes(HS.CertificateVerify, cv.body),
      suite: c.suite,
    };
    const control = controlMinimum(dial);
    min = dialMinimum(control, tlsIn, m, c.vjBoth);
    minPlain = dialMinimum(control, tlsIn, m, false);
    const show = (ch: typeof serverChain) =>
      ch
        .map((x) => `${x.bytes} B${x.root ? ' (self-signed root: not needed, not in the minimum)' : ''}`)
        .join(' + ');
    detail.push(`  server chain: ${show(serverChain)}; client chain: ${show(clientChain)}`);
  }
  const hello = (dir: 'up' | 'down', type: number) => {
    const m = find(dir, type);
    return m ? helloSummary(type, m.body) : '?';
  };
  detail.push(`  ClientHello: ${hello('up', HS.ClientHello)}`);
  detail.push(`  ServerHello: ${hello('down', HS.ServerHello)}`);
  detail.push('  TLS handshake messages (octets with their 4-octet headers), minimum, difference:');
  for (const dir of ['up', 'down'] as const) {
    for (const r of dialRecords[dir]) {
      const rows: [string, number, number][] = [];
      if (r.type === 22 && !r.protected)
        for (const x of r.messages) {
          const name =
            x.type === HS.Certificate
              ? `Certificate (${dir === 'up' ? 'client' : 'server'})`
              : hsName(x.type);
          rows.push([name, x.length, min?.tls[name] ?? Number.NaN]);
        }
      else if (r.type === 22) rows.push(['Finished (protected)', r.length, 16 + aeadOverhead(c.suite)]);
      else if (r.type === 20) rows.push(['ChangeCipherSpec', r.length, 1]);
      for (const [name, got, want] of rows) {
        const diff = got - want;
        detail.push(
          `    ${side(dir)} ${name.padEnd(28)} ${String(got).padStart(5)} ${Number.isNaN(want) ? '    -' : String(want).padStart(5)} ${Number.isNaN(diff) ? '' : diff === 0 ? '' : diff > 0 ? `+${diff}` : String(diff)}`,
        );
      }
    }
  }
  const tlsBytes = (dir: 'up' | 'down') => dialRecords[dir].reduce((s, r) => s + 5 + r.length, 0);
  detail.push(
    `  TLS records: ${dialRecords.up.length} up / ${dialRecords.down.length} down (minimum 6 / 5: one per flight of handshake messages, ChangeCipherSpec, Finished, one per MQTT packet); TLS octets ${tlsBytes('up')} up / ${tlsBytes('down')} down${min ? ` (minimum ${min.tlsBytes.up} / ${min.tlsBytes.down})` : ''}`,
  );
  const aead = aeadOverhead(c.suite);
  detail.push(
    `  MQTT packets in the records: up ${dialRecords.up
      .filter((r) => r.type === 23)
      .map((r) => r.length - aead)
      .join(', ')} B (CONNECT ${mqttConnect(m)}, PUBLISH ${mqttPublish1(m)}), down ${dialRecords.down
      .filter((r) => r.type === 23)
      .map((r) => r.length - aead)
      .join(', ')} B (CONNACK ${MQTT_CONNACK}, PUBACK ${MQTT_PUBACK})`,
  );
  const minTotal = min ? sumMin(min.frames) : Number.NaN;
  // Where the excess goes, by who chose it (TLS items at the TLS level, before escaping).
  const causes: Cause[] = [];
  if (min) {
    const cause = (owner: Cause['owner'], what: string, bytes: number) => {
      if (bytes !== 0) causes.push({ owner, what, bytes });
    };
    const hsRecs = (dir: 'up' | 'down') => dialRecords[dir].filter((r) => r.type === 22 && !r.protected);
    const ticket = dialRecords.down.find((r) => r.messages.some((x) => x.type === HS.NewSessionTicket));
    const msg = (dir: 'up' | 'down', t: number) => find(dir, t)?.length ?? 0;
    cause(
      'ours',
      'NewSessionTicket record (we ask for tickets; sessionTickets: false drops it)',
      ticket ? 5 + ticket.length : 0,
    );
    cause(
      'ours',
      'ClientHello beyond the minimal one (suites, groups, schemes, ec_point_formats, session_ticket)',
      msg('up', HS.ClientHello) - min.tls['ClientHello']!,
    );
    cause(
      'ours',
      'ServerHello extensions answering our offers (ec_point_formats, session_ticket)',
      msg('down', HS.ServerHello) - min.tls['ServerHello']!,
    );
    cause('ours', 'our handshake messages in records of their own', 5 * (hsRecs('up').length - 2));
    cause(
      'ours',
      'TCP options beyond MSS on SYN and SYN-ACK (we offer SACK and window scaling)',
      dial.filter((f) => f.syn && !f.retransmit).reduce((s, f) => s + (f.headerBytes ?? 44) - 44, 0),
    );
    const wireNoEsc = (fs: LoggedFrame[]) => fs.reduce((s, f) => s + f.wireBytes - f.escapes, 0);
    const pure = (dir: 'up' | 'down') =>
      dial.filter((f) => f.dir === dir && phaseOf(f, records, streams.spans, firstData) === 'TCP pure ACK');
    const rtx = (dir: 'up' | 'down') => dial.filter((f) => f.dir === dir && f.retransmit);
    cause('ours', 'our pure ACKs', wireNoEsc(pure('up')));
    cause('ours', 'our retransmissions', wireNoEsc(rtx('up')));
    const root = serverCert ? chain(serverCert.body).filter((x) => x.root) : [];
    cause(
      'broker',
      "self-signed root in the broker's chain (RFC 5246 7.4.2: may be left out)",
      root.reduce((s, x) => s + 3 + x.bytes, 0),
    );
    cause(
      'broker',
      'CertificateRequest beyond one type, one scheme, no CA names',
      msg('down', HS.CertificateRequest) - min.tls['CertificateRequest']!,
    );
    cause(
      'broker',
      "the broker's handshake messages in records of their own",
      5 * (hsRecs('down').length - 1 - (ticket ? 1 : 0)),
    );
    cause('peer kernel', "the guest kernel's pure ACKs", wireNoEsc(pure('down')));
    cause('peer kernel', "the guest kernel's retransmissions", wireNoEsc(rtx('down')));
    const other = dial.filter(
      (f) => f.kind === 'control' && phaseOf(f, records, streams.spans, firstData) === 'other control',
    );
    cause(
      'pppd',
      `pppd's ${[...new Set(other.filter((f) => f.dir === 'down').map(controlName))].join(', ')} and our answer (${[...new Set(other.filter((f) => f.dir === 'up').map(controlName))].join(', ')})`,
      wireNoEsc(other),
    );
    cause(
      'stuffing',
      'Control Escapes (all control characters until LCP sets ACCM 0, RFC 1662 7.1; then 0x7d/0x7e)',
      escapes,
    );
    const named = causes.reduce((s, x) => s + x.bytes, 0);
    cause(
      'rest',
      "the rest: VJ headers (a pure ACK that carries a direction's VJ UNCOMPRESSED header saves it on the next data segment), IP ID jumps, Flags after silence, segmentation",
      measured - minTotal - named,
    );
  }
  return {
    causes,
    measured,
    frames: dial.length,
    ms: endFrame.atMs - frames[0]!.atMs,
    escapes,
    phases,
    min,
    minPlain,
    ratio: measured / minTotal,
    detail,
  };
}

const sumMin = (fs: readonly MinFrame[]) => fs.reduce((s, f) => s + minFrameBytes(f), 0);

function phaseTable(a: DialAnalysis): string[] {
  const out = [
    `  ${'phase'.padEnd(22)} ${'frames'.padStart(6)} ${'min'.padStart(4)} ${'bytes'.padStart(6)} ${'min'.padStart(6)} ${'excess'.padStart(7)} ${'esc'.padStart(4)} ${'until ms'.padStart(8)}`,
  ];
  for (const name of [...new Set([...PHASES, ...a.phases.keys()])]) {
    const ph = a.phases.get(name) ?? { frames: 0, bytes: 0, escapes: 0, untilMs: Number.NaN };
    const mf = a.min?.frames.filter((f) => f.phase === name) ?? [];
    if (ph.frames === 0 && mf.length === 0) continue;
    const mb = sumMin(mf);
    out.push(
      `  ${name.padEnd(22)} ${String(ph.frames).padStart(6)} ${String(mf.length).padStart(4)} ${String(ph.bytes).padStart(6)} ${String(mb).padStart(6)} ${String(ph.bytes - mb).padStart(7)} ${String(ph.escapes).padStart(4)} ${(ph.frames > 0 ? ph.untilMs.toFixed(0) : '-').padStart(8)}`,
    );
  }
  const mt = a.min ? sumMin(a.min.frames) : 0;
  out.push(
    `  ${'total'.padEnd(22)} ${String(a.frames).padStart(6)} ${String(a.min?.frames.length ?? 0).padStart(4)} ${String(a.measured).padStart(6)} ${String(mt).padStart(6)} ${String(a.measured - mt).padStart(7)} ${String(a.escapes).padStart(4)} ${a.ms.toFixed(0).padStart(8)}`,
  );
  return out;
}

interface Steady {
  label: string;
  per: number;
  pure: number;
  other: number;
  esc: number;
  hdr: number;
  segUp: number;
  segDown: number;
  retransmits: number;
}

function steady(frames: readonly LoggedFrame[], from: number, to: number, label: string, n: number): Steady {
  const fs = frames.slice(from, to);
  const tcpF = fs.filter(isTcpFrame);
  const bytes = tcpF.reduce((s, f) => s + f.wireBytes, 0);
  const data = tcpF.filter((f) => (f.payload?.length ?? 0) > 0);
  const segUp = data.filter((f) => f.dir === 'up').length;
  return {
    label,
    per: bytes / n,
    pure: tcpF.length - data.length,
    other: fs.length - tcpF.length,
    esc: tcpF.reduce((s, f) => s + f.escapes, 0) / n,
    hdr: data.reduce((s, f) => s + (f.headerBytes ?? 0), 0) / Math.max(1, data.length),
    segUp,
    segDown: data.length - segUp,
    retransmits: tcpF.filter((f) => f.retransmit).length,
  };
}

interface WireReport {
  text: string[];
  dialRatio: number;
  roundRatio: number;
  windowRatio: number;
  retransmits: number;
  counters: SessionCapture['counters'];
}

async function wireBench(): Promise<WireReport> {
  const p = await startUmlPeer({
    auth: 'none',
    services: ['mqtts-mutual'],
    lcpEchoInterval: 0,
    ...(NETEM ? { netem: NETEM } : {}),
  });
  const text: string[] = [];
  const say = (l: string) => text.push(l);
  try {
    const first = await runSession(p, 1, 'defaults (a session ticket asked for)', { steady: true });
    const noTicket = await runSession(p, 2, 'sessionTickets: false', { sessionTickets: false });
    const resumed = first.session
      ? await runSession(p, 3, 'resumed with the ticket of the first', { session: first.session })
      : undefined;
    const a1 = analyzeDial(first);
    const a2 = analyzeDial(noTicket);
    const a3 = resumed ? analyzeDial(resumed) : undefined;
    if (DUMP > 0) {
      const t0 = first.frames[0]?.atMs ?? 0;
      console.log(
        first.frames
          .slice(0, DUMP)
          .map(
            (f) =>
              `${String(f.seq).padStart(4)} ${(f.atMs - t0).toFixed(1).padStart(8)} ms ${f.dir.padEnd(4)} ${f.kind.padEnd(15)} ${f.kind === 'control' ? controlName(f).padEnd(14) : ''} wire ${f.wireBytes} esc ${f.escapes}${f.payload ? ` hdr ${f.headerBytes} payload ${f.payload.length} seq ${f.tcpSeq} ack ${f.tcpAck} flags ${f.flagsTcp?.toString(16)}${f.retransmit ? ' RETRANSMISSION' : ''}` : ''}`,
          )
          .join('\n'),
      );
    }

    say(
      `(a) bytes on the serial wire, cellstack <-> pppd + mosquitto (mqtts-mutual, 10.64.0.1:8884, client certificate required) in the UML guest`,
    );
    say(
      `    line ${BAUD > 0 ? `${BAUD} baud` : 'unpaced'}${NETEM ? `, guest netem "${NETEM}" on ppp0 both ways` : ''}; direct PPP: there is no AT dial on this line, so counting starts at the first LCP octet (what the peer's pppd sent before we started is dropped unread: ${first.stale} octets)`,
    );
    say(
      `    VJ ${first.vjBoth ? 'negotiated both ways' : 'not negotiated both ways'}; TLS ${first.suite}; MQTT 3.1.1, client id "${CLIENT_ID}", topic "${TOPIC}" (${TOPIC.length} B), QoS 1, ${PAYLOAD}-byte payloads; our TCP offers no timestamps`,
    );
    say('');
    say(
      `dial -> first PUBACK, mutual TLS, full handshake with our defaults (${a1.ms.toFixed(0)} ms on the line):`,
    );
    text.push(...phaseTable(a1));
    const vjMin = a1.min ? sumMin(a1.min.frames) : Number.NaN;
    const plainMin = a1.minPlain ? sumMin(a1.minPlain.frames) : Number.NaN;
    say(
      `  minimum: ${vjMin} B with VJ headers, ${plainMin} B with plain TCP/IP headers; the anchor is the ${first.vjBoth ? 'VJ' : 'plain'} one (what the link negotiated)`,
    );
    say(
      `  ratio measured / minimum: ${a1.ratio.toFixed(3)} (against the plain-header minimum ${(a1.measured / plainMin).toFixed(3)})  target <= 1.10: ${verdict(a1.ratio <= 1.1)}`,
    );
    say('  where the excess goes (TLS items counted before byte stuffing):');
    for (const c of a1.causes) say(`    ${c.owner.padEnd(11)} ${String(c.bytes).padStart(5)}  ${c.what}`);
    const owners = [...new Set(a1.causes.map((c) => c.owner))].map(
      (o) => `${o} ${a1.causes.filter((c) => c.owner === o).reduce((s, c) => s + c.bytes, 0)}`,
    );
    const notOurs = a1.causes
      .filter((c) => c.owner === 'broker' || c.owner === 'peer kernel' || c.owner === 'pppd')
      .reduce((s, c) => s + c.bytes, 0);
    say(
      `  excess by owner: ${owners.join(', ')} B; without what the broker, the guest's kernel and pppd chose: ${a1.measured - notOurs} B, ratio ${((a1.measured - notOurs) / vjMin).toFixed(3)}`,
    );
    text.push(...a1.detail);
    const k = first.counters;
    say(
      `  cross-check over the whole first session: PppLink's HDLC counters ${k.linkOut} out / ${k.linkIn} in, the line tap ${k.tapUp} up / ${k.tapDown} down`,
    );
    say('');
    say('the same dial, other TLS options (new PPP sessions of the same peer):');
    for (const [c, a] of [
      [noTicket, a2],
      [resumed, a3],
    ] as const) {
      if (!c || !a) continue;
      const mt = a.min ? sumMin(a.min.frames) : Number.NaN;
      const byPhase = ['TLS handshake', 'TCP pure ACK', 'TCP retransmission']
        .map((n) => `${n} ${a.phases.get(n)?.bytes ?? 0}`)
        .join(', ');
      say(
        `  ${c.label.padEnd(38)} ${String(a.measured).padStart(5)} B in ${a.frames} frames${a.min ? `, minimum ${mt}, ratio ${a.ratio.toFixed(3)} (${verdict(a.ratio <= 1.1)})` : `${c.resumed ? ' (abbreviated handshake: no certificates cross)' : ''}`}; ${byPhase}`,
      );
    }
    if (!resumed) say('  (no session ticket came in the first session: resumption not measured)');

    // steady state
    const [m0, m1, m2] = first.marks!;
    const r1 = steady(first.frames, m0, m1, 'one at a time', ROUNDS);
    const rw = steady(first.frames, m1, m2, `window of ${WINDOW}`, ROUNDS);
    const m: MqttSizes = { clientId: CLIENT_ID, topic: TOPIC, payload: PAYLOAD };
    const rmin = roundMinimum(m, first.suite, first.vjBoth);
    const rminPlain = roundMinimum(m, first.suite, false);
    const rminVj = roundMinimum(m, first.suite, true);
    const roundRatio = r1.per / rmin.total;
    const windowRatio = rw.per / rmin.total;
    say('');
    say(
      `per QoS 1 publish + PUBACK in steady state (${ROUNDS} publishes each, after 20 warm-up ones; TCP frames only, from the first PUBLISH to half a second after the last PUBACK):`,
    );
    say(
      `  ${'case'.padEnd(16)} ${'B/publish'.padStart(9)} ${'min'.padStart(5)} ${'ratio'.padStart(6)} ${'segs up/down'.padStart(13)} ${'pure ACKs'.padStart(9)} ${'rtx'.padStart(4)} ${'hdr B/seg'.padStart(9)} ${'esc/pub'.padStart(7)} ${'other'.padStart(5)}  target <= 1.10`,
    );
    for (const [r, ratio] of [
      [r1, roundRatio],
      [rw, windowRatio],
    ] as const)
      say(
        `  ${r.label.padEnd(16)} ${r.per.toFixed(1).padStart(9)} ${String(rmin.total).padStart(5)} ${ratio.toFixed(3).padStart(6)} ${`${r.segUp}/${r.segDown}`.padStart(13)} ${String(r.pure).padStart(9)} ${String(r.retransmits).padStart(4)} ${r.hdr.toFixed(1).padStart(9)} ${r.esc.toFixed(2).padStart(7)} ${String(r.other).padStart(5)}  ${verdict(ratio <= 1.1)}`,
      );
    const aead = aeadOverhead(first.suite);
    say(
      `  minimum per round: PUBLISH ${mqttPublish1(m)} (2 fixed header + 2 + ${TOPIC.length} topic + 2 packet id + ${PAYLOAD}) and PUBACK ${MQTT_PUBACK}, each in a TLS record (5 + ${aead} AEAD),`,
    );
    say(
      `    TCP/IP 40 plain or ${rminVj.up.ipHeader} with VJ (change mask, checksum, ack and seq deltas), PPP 1 Protocol (PFC, ACFC) + 2 FCS + 1 shared Flag, no pure ACK (the next PUBLISH carries it)`,
    );
    say(
      `    = ${minFrameBytes(rminVj.up)} + ${minFrameBytes(rminVj.down)} = ${rminVj.total} B with VJ, ${minFrameBytes(rminPlain.up)} + ${minFrameBytes(rminPlain.down)} = ${rminPlain.total} B plain; anchor: ${first.vjBoth ? 'VJ' : 'plain'} (negotiated); the window case has the same anchor (coalescing may beat it)`,
    );
    return {
      text,
      dialRatio: a1.ratio,
      roundRatio,
      windowRatio,
      retransmits: first.retransmits,
      counters: first.counters,
    };
  } finally {
    await p.stop();
  }
}

describe.skipIf(uml.skip)('MQTT: bytes on the wire from dial to the first PUBACK, and per publish', () => {
  it('(a) wire bytes against the protocol minimum', async () => {
    const t0 = performance.now();
    const r = await wireBench();
    r.text.push(`run time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`\n${r.text.join('\n')}`);
    // The instrument agrees with the link's own counters.
    expect(r.counters.tapUp).toBe(r.counters.linkOut);
    expect(r.counters.tapDown).toBe(r.counters.linkIn);
    // The steady-state targets (wire bytes do not depend on timing); the dial's ratio misses its
    // 1.10 (printed, with where the bytes go): held only to a loose regression bound here.
    expect(r.roundRatio, 'bytes per publish, one at a time / minimum').toBeLessThanOrEqual(1.1);
    expect(r.windowRatio, 'bytes per publish, window of 10 / minimum').toBeLessThanOrEqual(1.1);
    expect(r.dialRatio, 'dial -> first PUBACK / minimum (loose bound)').toBeLessThan(2);
  }, 300_000);
});

// ---- (b) RSS and (c) publishes per second, against mosquitto on 127.0.0.1 over node:tls ----------

const MOSQUITTO = '/usr/sbin/mosquitto';
const mosquittoCheck = peer(
  'mosquitto',
  (() => {
    try {
      accessSync(MOSQUITTO, constants.X_OK);
      return undefined;
    } catch {
      return `${MOSQUITTO} is not installed`;
    }
  })(),
);
const LOAD = fileURLToPath(new URL('./mqtt-load.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RSS_N = Number(process.env['CELLSTACK_MQTT_RSS_N'] ?? 10_000);
const RATE_ROUNDS = Number(process.env['CELLSTACK_MQTT_RATE_ROUNDS'] ?? 7);
/** The (c) workloads: QoS 1, 32-byte payloads, `window` publishes unacknowledged at most. */
const RATE_CASES = [
  { n: 5000, window: 1 },
  { n: 20_000, window: 100 },
];

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

/** The newest modification time under `dir` (files only). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The child runs dist/: build it when it is missing or older than src/ (unless CELLSTACK_BUILT=1). */
function ensureBuilt(): void {
  if (process.env['CELLSTACK_BUILT'] === '1') return;
  const dist = join(ROOT, 'dist', 'index.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest(join(ROOT, 'src'))) return;
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed: the MQTT load child runs dist/');
}

interface Broker {
  port: number;
  ca: string;
  stop(): Promise<void>;
}

/** mosquitto on 127.0.0.1 with a TLS listener (test PKI: root, intermediate, leaf for 127.0.0.1). */
async function startBroker(dir: string): Promise<Broker> {
  const pki = makePki('rsa', 'bench-mqtt');
  const port = await freePort();
  // mosquitto started as root drops to its own user: it must be able to read the files.
  chmodSync(dir, 0o755);
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const conf = file(
    'mosquitto.conf',
    [
      `listener ${port} 127.0.0.1`,
      `cafile ${file('ca.pem', pki.root.pem)}`,
      `certfile ${file('server.pem', pki.leaf.pem + pki.intermediate.pem)}`,
      `keyfile ${file('server.key', pki.leaf.key.pem)}`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const broker = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  broker.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const unguard = broker.pid !== undefined ? guardUntilStopped(broker.pid, () => {}) : () => {};
  const stop = async () => {
    await endProcessTree(broker, { graceMs: 3000, group: false, order: 'root' });
    unguard();
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline || broker.exitCode !== null) {
      await stop();
      throw new Error(`mosquitto did not start: ${stderr}`);
    }
    await sleep(50);
  }
  return { port, ca: pki.root.pem, stop };
}

/** CELLSTACK_MQTT_PROF=DIR: CPU profiles (node --cpu-prof) of each client alone in the rate workloads, and their top lines. */
const PROF_DIR = process.env['CELLSTACK_MQTT_PROF'];

/** Runs the load child with `config`; resolves with its JSON line. */
function child<T>(dir: string, name: string, config: object, profile = false): Promise<T> {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(config));
  // CELLSTACK_MQTT_NODE_FLAGS: more node flags for the child (e.g. --max-semi-space-size=1).
  const extra = (process.env['CELLSTACK_MQTT_NODE_FLAGS'] ?? '').split(' ').filter((x) => x !== '');
  const args = [
    '--expose-gc',
    ...extra,
    ...(profile && PROF_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`, `--cpu-prof-name=${name}.cpuprofile`]
      : []),
    LOAD,
    path,
  ];
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => c.kill('SIGKILL'), 600_000);
    c.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`mqtt-load.mjs ${name} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Top self-time functions of a .cpuprofile, and busy time by the nearest owner on the stack (our dist/ function, or the package). */
function profileSummary(path: string, k = 12): string {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const parent = new Map<number, ProfileNode>();
  const byId = new Map<number, ProfileNode>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n);
  }
  const short = (url: string) =>
    url.replace(/^.*\/(node_modules\/[^/]+|dist)\//, '$1/').replace(/^file:\/\//, '') || '(native)';
  const byFn = new Map<string, number>();
  const byOwner = new Map<string, number>();
  const add = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
  let busy = 0;
  for (const id of prof.samples) {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === '(idle)') continue;
    busy++;
    const f = n.callFrame;
    add(byFn, `${f.functionName || '(anonymous)'} ${f.url ? `${short(f.url)}:${f.lineNumber + 1}` : ''}`);
    let a: ProfileNode | undefined = n;
    let owner = '(node internals, GC)';
    while (a) {
      const u = a.callFrame.url;
      if (u.includes('/dist/')) {
        owner = `${a.callFrame.functionName || '(anonymous)'} ${short(u)}`;
        break;
      }
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1];
      if (pkg && pkg !== 'mqtt-packet' && pkg !== 'debug') {
        owner = pkg;
        break;
      }
      a = parent.get(a.id);
    }
    add(byOwner, owner);
  }
  const top = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, k)
      .map(([key, v]) => `      ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${key}`)
      .join('\n');
  return `    ${path} (% of busy samples): self time\n${top(byFn)}\n    by the nearest owner on the stack (a dist/ function, or a package other than mqtt-packet and debug)\n${top(byOwner)}`;
}

interface RateRound {
  client: string;
  round: number;
  secs: number;
  rate: number;
  cpuUsPerPublish: number;
}

interface RssResult {
  checkpoints: {
    published: number;
    rssMb: number;
    heapMb: number;
    externalMb: number;
    arrayBuffersMb: number;
    /** V8 heap spaces: resident (physical) MB. */
    spaces: Record<string, number>;
  }[];
  secs: number;
  fileBytes?: number;
  gc: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.skipIf(mosquittoCheck.skip)('MQTT against mosquitto on 127.0.0.1 over node:tls', () => {
  it('(b) RSS over 10,000 publishes, (c) publishes per second next to MQTT.js', async () => {
    const t0 = performance.now();
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'cellstack-mqtt-bench-'));
    const broker = await startBroker(dir).catch((e: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    });
    const text: string[] = [];
    const say = (l: string) => text.push(l);
    const base = {
      port: broker.port,
      ca: broker.ca,
      servername: 'localhost',
      topic: TOPIC,
      payload: PAYLOAD,
      storeDir: join(dir, 'stores'),
    };
    let rssOk = true;
    const rateRatios: number[] = [];
    try {
      // (b) RSS
      const rssWindow = 10;
      const every = Math.max(1, Math.floor(RSS_N / 5));
      const runs: [string, RssResult][] = [];
      for (const [label, cfg] of [
        ['ours, FileStore (fsync)', { client: 'ours', store: 'file' }],
        ['ours, MemoryStore', { client: 'ours', store: 'memory' }],
        ['MQTT.js (its memory store)', { client: 'mqttjs' }],
      ] as const)
        runs.push([
          label,
          await child<RssResult>(dir, `rss-${runs.length}`, {
            ...base,
            mode: 'rss',
            n: RSS_N,
            window: rssWindow,
            every,
            ...cfg,
          }),
        ]);
      say(
        `(b) RSS of a fresh \`node --expose-gc\` process (bench/mqtt-load.mjs, dist/) publishing ${RSS_N} QoS 1 messages of ${PAYLOAD} B to mosquitto over node:tls, ${rssWindow} in flight at most; MB after a forced GC, at start (connected) and every ${every}:`,
      );
      const cols = runs[0]![1].checkpoints.map((c) => String(c.published).padStart(6));
      say(
        `  ${'client'.padEnd(27)} ${cols.join(' ')} growth 2nd-half  new space  outside  heap used  target growth <= 15 MB, flat`,
      );
      for (const [label, r] of runs) {
        const cp = r.checkpoints;
        const rs = cp.map((c) => c.rssMb);
        const growth = rs.at(-1)! - rs[0]!;
        const half = rs.at(-1)! - rs[Math.floor(rs.length / 2)]!;
        const flat = half <= 2;
        // V8's young generation (new space) grows with the allocation rate up to 2 x 16 MB
        // semi-spaces: resident, but reused, not retained. RSS outside it is what a leak grows.
        const young = (c: (typeof cp)[number]) => c.spaces['new_space'] ?? 0;
        const outside = rs.at(-1)! - young(cp.at(-1)!) - (rs[0]! - young(cp[0]!));
        const ours = label.startsWith('ours');
        if (ours) rssOk &&= outside <= 15 && flat;
        say(
          `  ${label.padEnd(27)} ${rs.map((x) => x.toFixed(1).padStart(6)).join(' ')} ${growth.toFixed(1).padStart(6)} ${half.toFixed(1).padStart(8)} ${`${young(cp[0]!).toFixed(1)}->${young(cp.at(-1)!).toFixed(1)}`.padStart(10)} ${outside.toFixed(1).padStart(8)} ${`${cp[0]!.heapMb.toFixed(1)}/${cp.at(-1)!.heapMb.toFixed(1)}`.padStart(10)}  ${ours ? `${verdict(growth <= 15 && flat)} (outside new space: ${verdict(outside <= 15 && flat)})` : '(anchor)'}${r.fileBytes !== undefined ? `  store file ${r.fileBytes} B at the end` : ''}`,
        );
        expect(r.gc, 'the child runs with --expose-gc').toBe(true);
      }
      say(
        '  growth = end - start; 2nd-half = end - middle checkpoint (flat: <= 2 MB); new space = V8 young generation, MB resident (physical_space_size); outside = growth of RSS - new space',
      );

      // (c) rate
      say('');
      say(
        `(c) publishes per second to mosquitto over node:tls: QoS 1, ${PAYLOAD}-byte payloads on "${TOPIC}", at most \`window\` unacknowledged, timed from the first publish to the last PUBACK;`,
      );
      say(
        `    each round a fresh connection in one \`node\` process (mqtt-load.mjs), clients in turn, one warm-up round each, median of ${RATE_ROUNDS}; cpu = client process CPU per publish`,
      );
      say(
        `  ${'workload'.padEnd(18)} ${'ours/s'.padStart(8)} ${'MQTT.js/s'.padStart(9)} ${'ratio'.padStart(6)} ${'cpu us ours/MQTT.js'.padStart(20)} ${'FileStore/s'.padStart(11)}  rounds ours | MQTT.js                       target >= 1.0x`,
      );
      for (const rc of RATE_CASES) {
        const r = await child<{ rounds: RateRound[] }>(dir, `rate-${rc.window}`, {
          ...base,
          mode: 'rate',
          n: rc.n,
          window: rc.window,
          rounds: RATE_ROUNDS,
          clients: ['ours', 'mqttjs', 'ours-file'],
        });
        const of = (k: string) => r.rounds.filter((x) => x.client === k);
        const rate = (k: string) => median(of(k).map((x) => x.rate));
        const cpu = (k: string) => median(of(k).map((x) => x.cpuUsPerPublish));
        const ratio = rate('ours') / rate('mqttjs');
        rateRatios.push(ratio);
        const list = (k: string) =>
          of(k)
            .map((x) => x.rate.toFixed(0))
            .join(' ');
        say(
          `  ${`N=${rc.n} window ${rc.window}`.padEnd(18)} ${rate('ours').toFixed(0).padStart(8)} ${rate('mqttjs').toFixed(0).padStart(9)} ${ratio.toFixed(2).padStart(6)} ${`${cpu('ours').toFixed(1)}/${cpu('mqttjs').toFixed(1)}`.padStart(20)} ${rate('ours-file').toFixed(0).padStart(11)}  ${list('ours')} | ${list('mqttjs')}  ${verdict(ratio >= 1)}`,
        );
      }
      say("  (FileStore: ours with the fsync'd store, for reference: MQTT.js keeps nothing on disk)");
      if (PROF_DIR) {
        for (const rc of RATE_CASES)
          for (const client of ['ours', 'mqttjs']) {
            const name = `prof-window${rc.window}-${client}`;
            await child(dir, name, { ...base, mode: 'rate', ...rc, rounds: 2, clients: [client] }, true);
            say(`  profile, ${client}, N=${rc.n} window ${rc.window}:`);
            say(profileSummary(join(PROF_DIR, `${name}.cpuprofile`)));
          }
      }
    } finally {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    say(`run time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`\n${text.join('\n')}`);
    expect(rateRatios.length).toBe(RATE_CASES.length);
    // Loosely: no leak (RSS outside V8's young generation); the literal target is printed above.
    expect(rssOk, 'RSS outside the young generation grows <= 15 MB and is flat').toBe(true);
  }, 900_000);
});
