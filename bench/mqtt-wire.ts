import { Protocol, parsePppFrame } from '../src/ppp/frame.js';
import { HDLC_ESCAPE, HDLC_FLAG, HdlcDecoder, maxFrameForMru } from '../src/ppp/hdlc.js';
import { VjDecompressor } from '../src/ppp/vj/decompressor.js';
import type { LineDirection } from '../test/interop/harness/line.js';
import { classifyFrame, type FrameClass } from '../test/interop/harness/wire-tap.js';

/**
 * The instrument and the arithmetic of bench/mqtt.bench.ts (a): every HDLC frame on the serial
 * line with its wire octets split into layers, the TCP byte streams rebuilt from the frames
 * (plain IP, VJ uncompressed and VJ compressed alike), the TLS records and plaintext handshake
 * messages parsed from them, and the protocol minimum the measurement is compared with.
 *
 * The minimum (documented in bench/README.md, section MQTT):
 * - PPP/HDLC per frame: one Flag (Flags shared between back-to-back frames, RFC 1662 3.1; the
 *   first frame of each direction also opens with one), FCS-16 (2), Address/Control (2 for LCP,
 *   which never uses ACFC; 0 after ACFC) and Protocol (2 for LCP, IPCP and other control
 *   protocols; 1 with PFC for IP and VJ). Control Escapes are NOT in the minimum (they depend
 *   on the bytes; the measurement counts them separately).
 * - LCP: each side's last Configure-Request (the one Acked) and its Configure-Ack: the options
 *   actually negotiated, no retransmission, no Nak/Reject rounds.
 * - IPCP: the same, plus the one Nak round a client without an address needs (RFC 1332 3.3,
 *   RFC 1877): our first Configure-Request with 0.0.0.0 for the address (and the DNS servers),
 *   the peer's Nak naming them (6 octets per option), then the Request the peer Acks.
 * - TCP/IP per segment: IPv4 20 + TCP 20 (+4 for the MSS option of each SYN; no window scale,
 *   SACK-permitted or timestamps). With VJ (RFC 1144) negotiated both ways: SYNs go as plain
 *   IP, the first other segment each way as VJ UNCOMPRESSED (the full 40, it sets the
 *   compressor's state), every later one as COMPRESSED with the shortest header RFC 1144's own
 *   compressor would produce for that segment: change mask + TCP checksum (3), plus a delta for
 *   the sequence and/or the ack number when they moved (1 octet if 1..255, else 3), except the
 *   SPECIAL_D (only seq moved, by the previous segment's length) and SPECIAL_I (seq and ack
 *   both moved by the previous segment's length) cases, which are 3 alone; the IP ID moves by
 *   one (no I delta) and the window never changes (no W delta). Segments are at most the MSS
 *   (MRU 1500 - 40 = 1460); a flight of n bytes is ceil(n / 1460) segments; every segment
 *   carries the ACK of what came before, so there is no pure ACK at all (the ClientHello rides
 *   on the handshake's third segment, RFC 9293 3.5, as our stack sends it).
 * - TLS 1.2 full handshake, mutual authentication, ECDHE with X25519 and the suite negotiated
 *   (AES-GCM: explicit nonce 8 + tag 16 per protected record; ChaCha20-Poly1305: tag 16): each
 *   flight's handshake messages in one record (5), ChangeCipherSpec a record of its own (6),
 *   Finished protected (5 + 8 + 16 + 16). ClientHello: version, random, empty session id, the
 *   one suite + the renegotiation SCSV, null compression, and the extensions the handshake
 *   needs: server_name (with the name we send), supported_groups (x25519), signature_algorithms
 *   (one scheme), extended_master_secret. ServerHello: empty session id, extended_master_secret
 *   and renegotiation_info (empty). Certificate messages: the certificates that must cross, at
 *   their real sizes (the caller leaves out a self-signed root, RFC 5246 7.4.2).
 *   ServerKeyExchange: curve + 32-octet X25519 point + scheme + signature of the server key's
 *   size. CertificateRequest: one certificate type, one scheme, no CA names. ServerHelloDone. Client Certificate, ClientKeyExchange (32-octet point), CertificateVerify
 *   (signature of our key's size). No NewSessionTicket, no session ticket extension.
 * - MQTT 3.1.1: CONNECT with our client id (2 + 10 + 2 + id), CONNACK 4, PUBLISH QoS 1 (2 +
 *   2 + topic + 2 + payload), PUBACK 4, each in a TLS record of its own; the PUBLISH after the
 *   CONNACK (a client with a session must see Session Present before it resends or numbers
 *   anything).
 */

const TCP_SYN = 0x02;

export interface LoggedFrame extends FrameClass {
  seq: number;
  dir: LineDirection;
  /** Wire octets charged to the frame (Flags since the previous closing Flag, escaped content, escaped FCS). */
  wireBytes: number;
  /** Flags (and noise) in wireBytes. */
  flags: number;
  /** Control Escapes in wireBytes. */
  escapes: number;
  /** The frame between the Flags after unescaping, without the FCS. */
  content: Uint8Array;
  /** Address/Control + Protocol octets. */
  pppHeader: number;
  /** Information field length. */
  infoBytes: number;
  /** TCP payload, for the TCP kinds. */
  payload?: Uint8Array;
  /** TCP sequence number, ack and flags (VJ frames rebuilt with RFC 1144's decompressor). */
  tcpSeq?: number;
  tcpAck?: number;
  flagsTcp?: number;
  syn?: boolean;
  /** Set by rebuildStreams: the segment carries nothing new (a retransmission). */
  retransmit?: boolean;
  /** Control protocols: the packet's code (1 ConfReq, 2 ConfAck, 3 ConfNak, 4 ConfRej, 8 ProtRej, 9/10 Echo...). */
  code?: number;
  atMs: number;
}

class DirectionLog {
  private readonly decoder = new HdlcDecoder({ maxFrame: maxFrameForMru(0xffff), receiveAccm: 0 });
  private readonly vj = new VjDecompressor({ maxSlotId: 255, compSlotId: true });
  private content: number[] = [];
  private pending = 0;
  private escapes = 0;

  constructor(
    private readonly dir: LineDirection,
    private readonly emit: (f: Omit<LoggedFrame, 'seq'>) => void,
  ) {}

  push(chunk: Uint8Array): void {
    const now = performance.now();
    for (const b of chunk) {
      this.pending++;
      if (b !== HDLC_FLAG) {
        this.content.push(b);
        if (b === HDLC_ESCAPE) this.escapes++;
        continue;
      }
      if (this.content.length === 0) continue;
      const frames = this.decoder.push(Uint8Array.from([HDLC_FLAG, ...this.content, HDLC_FLAG]));
      const got = frames[0] ? Uint8Array.from(frames[0]) : undefined;
      this.emit(describeFrame(this.dir, got, this.pending, this.escapes, now, this.vj));
      this.content = [];
      this.pending = 0;
      this.escapes = 0;
    }
  }
}

function describeFrame(
  dir: LineDirection,
  frame: Uint8Array | undefined,
  wireBytes: number,
  escapes: number,
  atMs: number,
  vj: VjDecompressor,
): Omit<LoggedFrame, 'seq'> {
  if (!frame) {
    return {
      kind: 'bad',
      protocol: -1,
      dir,
      wireBytes,
      flags: 0,
      escapes,
      content: new Uint8Array(0),
      pppHeader: 0,
      infoBytes: 0,
      atMs,
    };
  }
  const c = classifyFrame(frame);
  const f: Omit<LoggedFrame, 'seq'> = {
    ...c,
    dir,
    wireBytes,
    flags: wireBytes - escapes - frame.length - 2,
    escapes,
    content: frame,
    pppHeader: 0,
    infoBytes: 0,
    atMs,
  };
  if (c.kind === 'bad') return f;
  const { info } = parsePppFrame(frame);
  f.pppHeader = frame.length - info.length;
  f.infoBytes = info.length;
  if (c.kind === 'control' && info.length >= 4) f.code = info[0]!;
  if (c.headerBytes !== undefined && c.tcpPayload !== undefined)
    f.payload = info.subarray(c.headerBytes, c.headerBytes + c.tcpPayload);
  // The whole TCP header: from the frame itself, or from the VJ decompressor's rebuilt packet.
  let packet: Uint8Array | undefined;
  if (c.kind === 'ip-tcp') packet = info;
  else if (f.protocol === Protocol.VjCompressed || f.protocol === Protocol.VjUncompressed) {
    const out = vj.decompress(f.protocol, info);
    if (typeof out !== 'string') packet = Uint8Array.from(out);
  }
  if (packet && packet.length >= 40) {
    const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    const ihl = (b[0]! & 0x0f) * 4;
    f.tcpSeq = b.readUInt32BE(ihl + 4);
    f.tcpAck = b.readUInt32BE(ihl + 8);
    f.flagsTcp = b[ihl + 13]! & 0x3f;
    f.syn = (f.flagsTcp & TCP_SYN) !== 0;
  }
  return f;
}

/** Every frame both ways, in the order their closing Flags passed (a LineBridge `tap`). */
export class FrameLog {
  readonly frames: LoggedFrame[] = [];
  private readonly up: DirectionLog;
  private readonly down: DirectionLog;

  constructor() {
    const emit = (f: Omit<LoggedFrame, 'seq'>) => this.frames.push({ ...f, seq: this.frames.length });
    this.up = new DirectionLog('up', emit);
    this.down = new DirectionLog('down', emit);
  }

  push(dir: LineDirection, chunk: Uint8Array): void {
    (dir === 'up' ? this.up : this.down).push(chunk);
  }
}

export const isTcpFrame = (f: LoggedFrame) =>
  f.kind === 'ip-tcp' || f.kind === 'vj-uncompressed' || f.kind === 'vj-compressed';

// ---- TCP streams and TLS records ---------------------------------------------------------------

export interface Streams {
  up: Buffer;
  down: Buffer;
  /** For each TCP frame (by seq): its payload's [start, end) in its direction's stream. */
  spans: Map<number, [number, number]>;
}

/**
 * The TCP payload of each direction of the one connection on the line, by sequence number: a
 * segment that brings nothing new (a retransmission, a repeated SYN) is marked `retransmit`
 * and its span is where its bytes were first seen. Throws on a hole (a frame lost on the line).
 */
export function rebuildStreams(frames: readonly LoggedFrame[]): Streams {
  const parts: Record<LineDirection, Uint8Array[]> = { up: [], down: [] };
  const next: Record<LineDirection, number> = { up: 0, down: 0 };
  const isn: Record<LineDirection, number | undefined> = { up: undefined, down: undefined };
  const spans = new Map<number, [number, number]>();
  for (const f of frames) {
    if (!isTcpFrame(f) || !f.payload || f.tcpSeq === undefined) continue;
    if (f.syn) {
      if (isn[f.dir] === f.tcpSeq) f.retransmit = true;
      isn[f.dir] = f.tcpSeq;
      continue;
    }
    const base = isn[f.dir];
    if (base === undefined) continue;
    const start = (f.tcpSeq - base - 1) >>> 0;
    const end = start + f.payload.length;
    spans.set(f.seq, [start, end]);
    if (f.payload.length === 0) continue;
    if (start > next[f.dir])
      throw new Error(`${f.dir}: a hole at ${next[f.dir]} (frame ${f.seq} starts at ${start})`);
    if (end <= next[f.dir]) {
      f.retransmit = true;
      continue;
    }
    parts[f.dir].push(f.payload.subarray(next[f.dir] - start));
    next[f.dir] = end;
  }
  return { up: Buffer.concat(parts.up), down: Buffer.concat(parts.down), spans };
}

export interface HandshakeMessage {
  type: number;
  /** With its 4-octet header. */
  length: number;
  body: Buffer;
}

export interface TlsRecord {
  offset: number;
  type: number;
  /** Fragment length (without the 5-octet header). */
  length: number;
  /** After this direction's ChangeCipherSpec. */
  protected: boolean;
  /** Plaintext handshake records: the messages they hold (each wholly inside here). */
  messages: HandshakeMessage[];
}

export const HS = {
  ClientHello: 1,
  ServerHello: 2,
  NewSessionTicket: 4,
  Certificate: 11,
  ServerKeyExchange: 12,
  CertificateRequest: 13,
  ServerHelloDone: 14,
  CertificateVerify: 15,
  ClientKeyExchange: 16,
  Finished: 20,
} as const;

const HS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(HS).map(([k, v]) => [v, k]));
export const hsName = (t: number) => HS_NAMES[t] ?? `handshake(${t})`;

/** The records of one direction's stream, up to the last whole one. */
export function parseRecords(stream: Buffer): TlsRecord[] {
  const out: TlsRecord[] = [];
  let i = 0;
  let cipher = false;
  while (i + 5 <= stream.length) {
    const type = stream[i]!;
    const length = stream.readUInt16BE(i + 3);
    if (i + 5 + length > stream.length) break;
    const rec: TlsRecord = { offset: i, type, length, protected: cipher, messages: [] };
    if (type === 22 && !cipher) {
      const frag = stream.subarray(i + 5, i + 5 + length);
      let j = 0;
      while (j + 4 <= frag.length) {
        const n = frag.readUIntBE(j + 1, 3);
        rec.messages.push({
          type: frag[j]!,
          length: 4 + n,
          body: Buffer.from(frag.subarray(j + 4, j + 4 + n)),
        });
        j += 4 + n;
      }
    }
    if (type === 20) cipher = true;
    out.push(rec);
    i += 5 + length;
  }
  return out;
}

/** DER lengths of the certificates in a Certificate message body. */
export function certificateLengths(body: Buffer): number[] {
  const out: number[] = [];
  const total = body.readUIntBE(0, 3);
  let j = 3;
  while (j < 3 + total) {
    const n = body.readUIntBE(j, 3);
    out.push(n);
    j += 3 + n;
  }
  return out;
}

// ---- the minimum --------------------------------------------------------------------------------

/** One frame of the minimal exchange, split the way the measurement is. */
export interface MinFrame {
  dir: LineDirection;
  phase: string;
  flags: number;
  pppHeader: number;
  fcs: number;
  /** TCP/IP header octets (or the VJ header), 0 for control frames. */
  ipHeader: number;
  /** Control packet (LCP/IPCP) octets, or TCP payload octets. */
  body: number;
  tcp: boolean;
}

export const minFrameBytes = (f: MinFrame) => f.flags + f.pppHeader + f.fcs + f.ipHeader + f.body;

/** A delta in a VJ compressed header: 1 octet for 1..255, else 0 and two octets. */
const vjDelta = (d: number) => (d === 0 ? 0 : d >= 1 && d <= 255 ? 1 : 3);

export interface MinSegment {
  dir: LineDirection;
  len: number;
  syn?: boolean;
  phase: string;
}

/**
 * TCP/IP header octets of each segment of a minimal exchange: plain (40, +4 MSS on a SYN) or
 * with VJ, by RFC 1144's compressor (sl_compress_tcp) as described at the top of this file.
 */
export function tcpIpHeaders(segs: readonly MinSegment[], vj: boolean): number[] {
  const sent: Record<LineDirection, number> = { up: 0, down: 0 };
  const st: Record<LineDirection, { started: boolean; lastSeq: number; lastAck: number; lastLen: number }> = {
    up: { started: false, lastSeq: 0, lastAck: 0, lastLen: 0 },
    down: { started: false, lastSeq: 0, lastAck: 0, lastLen: 0 },
  };
  return segs.map((s) => {
    const other: LineDirection = s.dir === 'up' ? 'down' : 'up';
    const me = st[s.dir];
    const ack = sent[other];
    let h: number;
    if (s.syn) h = 44;
    else if (!vj || !me.started) {
      h = 40;
      me.started = true;
    } else {
      const dS = sent[s.dir] - me.lastSeq;
      const dA = ack - me.lastAck;
      if (dS === 0 && dA === 0) h = s.len > 0 && me.lastLen === 0 ? 3 : 40;
      else if (dA === 0) h = dS === me.lastLen ? 3 : 3 + vjDelta(dS);
      else if (dS === 0) h = 3 + vjDelta(dA);
      else h = dS === dA && dS === me.lastLen ? 3 : 3 + vjDelta(dS) + vjDelta(dA);
    }
    if (!s.syn) {
      me.lastSeq = sent[s.dir];
      me.lastAck = ack;
      me.lastLen = s.len;
    }
    sent[s.dir] += s.len;
    return h;
  });
}

export const MSS = 1460;

/** A flight of `bytes` TCP payload octets as minimal segments. */
export function flight(dir: LineDirection, bytes: number, phase: string): MinSegment[] {
  const out: MinSegment[] = [];
  for (let left = bytes; left > 0; left -= MSS) out.push({ dir, len: Math.min(MSS, left), phase });
  return out;
}

/** AEAD overhead of a protected record: explicit nonce + tag. */
export function aeadOverhead(suite: string): number {
  return /CHACHA20/.test(suite) ? 16 : /GCM/.test(suite) ? 24 : Number.NaN;
}

export interface TlsMinimumInput {
  serverName: string;
  /** DER lengths of the certificates each side sent. */
  serverCerts: number[];
  clientCerts: number[];
  serverSigBytes: number;
  clientSigBytes: number;
  suite: string;
}

/** Handshake message sizes (with their 4-octet headers) of the minimal full handshake. */
export function minimalHandshake(t: TlsMinimumInput): Record<string, number> {
  const certMsg = (certs: number[]) => 4 + 3 + certs.reduce((s, n) => s + 3 + n, 0);
  const sni = 2 + 2 + 2 + 1 + 2 + Buffer.byteLength(t.serverName);
  return {
    ClientHello: 4 + 2 + 32 + 1 + 2 + 4 + 2 + 2 + sni + 8 + 8 + 4,
    ServerHello: 4 + 2 + 32 + 1 + 2 + 1 + 2 + 4 + 5,
    'Certificate (server)': certMsg(t.serverCerts),
    ServerKeyExchange: 4 + 1 + 2 + 1 + 32 + 2 + 2 + t.serverSigBytes,
    CertificateRequest: 4 + 1 + 1 + 2 + 2 + 2,
    ServerHelloDone: 4,
    'Certificate (client)': certMsg(t.clientCerts),
    ClientKeyExchange: 4 + 1 + 32,
    CertificateVerify: 4 + 2 + 2 + t.clientSigBytes,
    'Finished (client)': 16,
    'Finished (server)': 16,
  };
}

export interface MqttSizes {
  clientId: string;
  topic: string;
  payload: number;
}

export const mqttConnect = (m: MqttSizes) => 2 + 10 + 2 + Buffer.byteLength(m.clientId);
export const mqttPublish1 = (m: MqttSizes) => {
  const rest = 2 + Buffer.byteLength(m.topic) + 2 + m.payload;
  return 1 + (rest < 128 ? 1 : rest < 16384 ? 2 : 3) + rest;
};
export const MQTT_CONNACK = 4;
export const MQTT_PUBACK = 4;

/** One control packet of the minimum: its length and which frame header it goes with. */
export interface MinControl {
  dir: LineDirection;
  phase: string;
  length: number;
  /** LCP: FF 03 + 2-octet Protocol; others (after ACFC): 2-octet Protocol. */
  lcp: boolean;
}

export interface DialMinimum {
  frames: MinFrame[];
  tls: Record<string, number>;
  /** TLS bytes per direction (records, handshake messages, MQTT). */
  tlsBytes: { up: number; down: number };
}

/**
 * The minimal exchange from the first LCP octet to the first PUBACK: the control packets
 * given, then the TCP handshake, the TLS handshake, CONNECT/CONNACK and one PUBLISH/PUBACK, as
 * frames, with VJ or without.
 */
export function dialMinimum(
  control: readonly MinControl[],
  t: TlsMinimumInput,
  m: MqttSizes,
  vj: boolean,
): DialMinimum {
  const frames: MinFrame[] = [];
  const opened: Record<LineDirection, boolean> = { up: false, down: false };
  const flagsFor = (dir: LineDirection) => {
    const n = opened[dir] ? 1 : 2;
    opened[dir] = true;
    return n;
  };
  for (const c of control)
    frames.push({
      dir: c.dir,
      phase: c.phase,
      flags: flagsFor(c.dir),
      pppHeader: c.lcp ? 4 : 2,
      fcs: 2,
      ipHeader: 0,
      body: c.length,
      tcp: false,
    });
  const hs = minimalHandshake(t);
  const aead = aeadOverhead(t.suite);
  const rec = (n: number) => 5 + n;
  const prot = (n: number) => 5 + aead + n;
  const up1 = rec(hs['ClientHello']!);
  const down1 = rec(
    hs['ServerHello']! +
      hs['Certificate (server)']! +
      hs['ServerKeyExchange']! +
      hs['CertificateRequest']! +
      hs['ServerHelloDone']!,
  );
  const up2 =
    rec(hs['Certificate (client)']! + hs['ClientKeyExchange']! + hs['CertificateVerify']!) +
    rec(1) +
    prot(hs['Finished (client)']!);
  const down2 = rec(1) + prot(hs['Finished (server)']!);
  const connect = prot(mqttConnect(m));
  const connack = prot(MQTT_CONNACK);
  const publish = prot(mqttPublish1(m));
  const puback = prot(MQTT_PUBACK);
  const segs: MinSegment[] = [
    { dir: 'up', len: 0, syn: true, phase: 'TCP handshake' },
    { dir: 'down', len: 0, syn: true, phase: 'TCP handshake' },
    ...flight('up', up1, 'TLS handshake'),
    ...flight('down', down1, 'TLS handshake'),
    ...flight('up', up2, 'TLS handshake'),
    ...flight('down', down2, 'TLS handshake'),
    ...flight('up', connect, 'MQTT CONNECT/CONNACK'),
    ...flight('down', connack, 'MQTT CONNECT/CONNACK'),
    ...flight('up', publish, 'MQTT PUBLISH/PUBACK'),
    ...flight('down', puback, 'MQTT PUBLISH/PUBACK'),
  ];
  const headers = tcpIpHeaders(segs, vj);
  for (const [i, s] of segs.entries())
    frames.push({
      dir: s.dir,
      phase: s.phase,
      flags: flagsFor(s.dir),
      pppHeader: 1,
      fcs: 2,
      ipHeader: headers[i]!,
      body: s.len,
      tcp: true,
    });
  return {
    frames,
    tls: hs,
    tlsBytes: { up: up1 + up2 + connect + publish, down: down1 + down2 + connack + puback },
  };
}

/**
 * The minimum of one QoS 1 PUBLISH + PUBACK round in steady state (each in its own record and
 * segment, no pure ACK: the next PUBLISH carries it), per direction and layer.
 */
export function roundMinimum(
  m: MqttSizes,
  suite: string,
  vj: boolean,
): { up: MinFrame; down: MinFrame; total: number } {
  const aead = aeadOverhead(suite);
  const pub = 5 + aead + mqttPublish1(m);
  const ack = 5 + aead + MQTT_PUBACK;
  // In a run of rounds, seq moves by the last segment of the same direction, ack by the other's.
  const [, , h1, h2] = tcpIpHeaders(
    [
      { dir: 'up', len: pub, phase: '' },
      { dir: 'down', len: ack, phase: '' },
      { dir: 'up', len: pub, phase: '' },
      { dir: 'down', len: ack, phase: '' },
    ],
    vj,
  );
  const frame = (dir: LineDirection, ipHeader: number, body: number): MinFrame => ({
    dir,
    phase: 'PUBLISH/PUBACK',
    flags: 1,
    pppHeader: 1,
    fcs: 2,
    ipHeader,
    body,
    tcp: true,
  });
  const up = frame('up', h1!, pub);
  const down = frame('down', h2!, ack);
  return { up, down, total: minFrameBytes(up) + minFrameBytes(down) };
}
