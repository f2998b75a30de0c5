import { Protocol, parsePppFrame } from '../../../src/ppp/frame.js';
import { HDLC_ESCAPE, HDLC_FLAG, HdlcDecoder, maxFrameForMru } from '../../../src/ppp/hdlc.js';
import { MalformedPacket } from '../../../src/util/errors.js';
import type { LineDirection } from './line.js';

/**
 * A passive observer of a serial line carrying PPP: it sees the bytes of each direction (as
 * LineBridge's `tap` hands them over), cuts them into HDLC frames at the Flags, and records
 * for every frame its size on the wire and what it carries. The instrument of
 * `bench/vj-wire.bench.ts`: the same tap measures our stack and the kernel's pppd client, so
 * their per-segment wire costs compare directly.
 *
 * Wire size: every octet on the line belongs to exactly one frame: the escaped content, the
 * escaped FCS, the closing Flag, and whatever came since the previous frame's closing Flag (an
 * opening Flag, extra Flags, line noise). A sender that shares Flags between back-to-back
 * frames (Linux's ppp_async within a second of its last frame) is charged one Flag per frame,
 * one that opens every frame with its own Flag two. The sum over the frames is every octet
 * that passed, up to the last closing Flag.
 *
 * Classes (by PPP Protocol, RFC 1661 section 2, after Address/Control and a compressed
 * Protocol field are undone):
 * - `ip-tcp`: 0x0021 with IP protocol 6; TCP payload = total length - IHL - data offset.
 * - `ip-other`: 0x0021, anything else (ICMP, UDP).
 * - `vj-uncompressed`: 0x002f, RFC 1144's "uncompressed TCP": a full IPv4+TCP header whose IP
 *   protocol octet carries the connection (slot) number; payload as for `ip-tcp`.
 * - `vj-compressed`: 0x002d, RFC 1144's "compressed TCP": payload = information length minus
 *   the compressed header's length (`vjCompressedHeaderLength()`, computed without the
 *   decompressor's state).
 * - `control`: LCP, IPCP, IPV6CP, CCP, PAP, CHAP, LQR and any other 0x8000-0xffff protocol.
 * - `other`: any other protocol; `bad`: a frame dropped by the decoder (FCS, abort, runt,
 *   oversize) or one whose headers do not parse.
 */

export type WireFrameKind =
  | 'ip-tcp'
  | 'ip-other'
  | 'vj-uncompressed'
  | 'vj-compressed'
  | 'control'
  | 'other'
  | 'bad';

/** The kinds that carry a TCP segment. */
export const TCP_KINDS: readonly WireFrameKind[] = ['ip-tcp', 'vj-uncompressed', 'vj-compressed'];

/** What a frame carries, from its contents alone. */
export interface FrameClass {
  kind: WireFrameKind;
  /** PPP Protocol, or -1 when the frame has none that parses. */
  protocol: number;
  /** TCP payload octets, for the TCP kinds. */
  tcpPayload?: number;
  /** Octets of the frame's information field in front of the TCP payload: IPv4+TCP header, or the VJ compressed header. */
  headerBytes?: number;
  /** TCP flags (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20): `ip-tcp` and `vj-uncompressed` only. */
  tcpFlags?: number;
  /** RFC 1144 change mask (`vj-compressed`). */
  vjChanges?: number;
  /** VJ connection (slot) number: `vj-uncompressed` always, `vj-compressed` when its C bit is set. */
  vjSlot?: number;
}

export interface WireFrame extends FrameClass {
  direction: LineDirection;
  /** Octets on the wire charged to this frame (escaped content and FCS, Flags; see above). */
  wireBytes: number;
  /** Octets between the Flags after unescaping, FCS included (0 for `bad`). */
  frameBytes: number;
  /** Control Escape octets in the frame (each one wire octet more than the frame's content). */
  escapes: number;
  /** performance.now() when the closing Flag passed. */
  atMs: number;
  /** Order of the frame over both directions, from 0. */
  seq: number;
}

/** RFC 1144 section 3.2.2 / appendix A: the change-mask bits. */
export const VJ = {
  NEW_U: 0x01,
  NEW_W: 0x02,
  NEW_A: 0x04,
  NEW_S: 0x08,
  NEW_P: 0x10,
  NEW_I: 0x20,
  NEW_C: 0x40,
  SPECIALS_MASK: 0x0f,
  /** S, W and U together: "echoed interactive traffic", seq and ack both advance by the last segment's data length; no deltas follow. */
  SPECIAL_I: 0x0b,
  /** S, A, W and U together: "unidirectional data", seq advances by the last segment's data length; no deltas follow. */
  SPECIAL_D: 0x0f,
} as const;

/**
 * Length of an RFC 1144 compressed TCP header at the start of `info` (the information field of
 * a 0x002d frame), from its own octets: the change mask; the connection number if C; the TCP
 * checksum (2); then, unless the S/A/W/U bits are one of the special patterns SPECIAL_I
 * (S+W+U) or SPECIAL_D (S+A+W+U), which carry no deltas, one delta each for U (urgent
 * pointer), W (window), A (ack), S (sequence); then one for I (IP ID) if set. A delta is one
 * octet 1..255, or 0 followed by two octets (RFC 1144 appendix A.2, `ENCODE`/`DECODEL`).
 * Throws MalformedPacket when the header runs past `info` or the mask's top bit is set.
 */
export function vjCompressedHeaderLength(info: Uint8Array): number {
  const changes = info[0];
  if (changes === undefined) throw new MalformedPacket('VJ compressed TCP', 'empty');
  if ((changes & 0x80) !== 0) throw new MalformedPacket('VJ compressed TCP', 'change mask has bit 7 set');
  let i = 1;
  if ((changes & VJ.NEW_C) !== 0) i += 1;
  i += 2; // TCP checksum
  const delta = () => {
    const b = info[i];
    if (b === undefined) throw new MalformedPacket('VJ compressed TCP', 'truncated delta');
    i += b === 0 ? 3 : 1;
  };
  const specials = changes & VJ.SPECIALS_MASK;
  if (specials !== VJ.SPECIAL_I && specials !== VJ.SPECIAL_D) {
    if ((changes & VJ.NEW_U) !== 0) delta();
    if ((changes & VJ.NEW_W) !== 0) delta();
    if ((changes & VJ.NEW_A) !== 0) delta();
    if ((changes & VJ.NEW_S) !== 0) delta();
  }
  if ((changes & VJ.NEW_I) !== 0) delta();
  if (i > info.length)
    throw new MalformedPacket('VJ compressed TCP', `header of ${i} octets in ${info.length}`);
  return i;
}

/** IPv4 + TCP header lengths and payload of a full header (plain IP, or VJ uncompressed with the slot in the protocol octet). */
function ipTcp(info: Uint8Array, vj: boolean): FrameClass {
  const protocol = vj ? Protocol.VjUncompressed : Protocol.IPv4;
  if (info.length < 20 || info[0]! >> 4 !== 4) throw new MalformedPacket('IPv4', 'no IPv4 header');
  const ihl = (info[0]! & 0x0f) * 4;
  const total = (info[2]! << 8) | info[3]!;
  if (ihl < 20 || total < ihl || total > info.length) throw new MalformedPacket('IPv4', 'bad lengths');
  if (!vj && info[9] !== 6) return { kind: 'ip-other', protocol };
  if (total < ihl + 20) throw new MalformedPacket('TCP', 'truncated header');
  const doff = (info[ihl + 12]! >> 4) * 4;
  if (doff < 20 || ihl + doff > total) throw new MalformedPacket('TCP', 'bad data offset');
  const c: FrameClass = {
    kind: vj ? 'vj-uncompressed' : 'ip-tcp',
    protocol,
    tcpPayload: total - ihl - doff,
    headerBytes: ihl + doff,
    tcpFlags: info[ihl + 13]! & 0x3f,
  };
  if (vj) c.vjSlot = info[9]!;
  return c;
}

/** Classifies one PPP frame (HDLC content without FCS, as HdlcDecoder delivers it). */
export function classifyFrame(frame: Uint8Array): FrameClass {
  let protocol = -1;
  try {
    const f = parsePppFrame(frame);
    protocol = f.protocol;
    switch (f.protocol) {
      case Protocol.IPv4:
        return ipTcp(f.info, false);
      case Protocol.VjUncompressed:
        return ipTcp(f.info, true);
      case Protocol.VjCompressed: {
        const h = vjCompressedHeaderLength(f.info);
        const changes = f.info[0]!;
        const c: FrameClass = {
          kind: 'vj-compressed',
          protocol,
          tcpPayload: f.info.length - h,
          headerBytes: h,
          vjChanges: changes,
        };
        if ((changes & VJ.NEW_C) !== 0) c.vjSlot = f.info[1]!;
        return c;
      }
      default:
        return { kind: f.protocol >= 0x8000 ? 'control' : 'other', protocol };
    }
  } catch (err) {
    if (err instanceof MalformedPacket) return { kind: 'bad', protocol };
    throw err;
  }
}

class DirectionTap {
  private readonly decoder = new HdlcDecoder({ maxFrame: maxFrameForMru(0xffff), receiveAccm: 0 });
  /** Octets of the current frame's content so far (escaped, between Flags). */
  private content: number[] = [];
  /** Octets since the last frame's closing Flag (Flags, noise, this frame's content). */
  private pending = 0;
  /** Control Escapes in the current frame's content. */
  private escapes = 0;

  constructor(
    private readonly direction: LineDirection,
    private readonly emit: (f: Omit<WireFrame, 'seq'>) => void,
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
      if (this.content.length === 0) continue; // a Flag after a Flag: charged to the next frame
      // The receive ACCM is 0: control characters a sender leaves unescaped are kept, as any
      // peer that asked for ACCM 0 does; escaped ones are unescaped whatever the ACCM.
      const frames = this.decoder.push(Uint8Array.from([HDLC_FLAG, ...this.content, HDLC_FLAG]));
      const frame = frames[0];
      const c: FrameClass = frame ? classifyFrame(frame) : { kind: 'bad', protocol: -1 };
      this.emit({
        ...c,
        direction: this.direction,
        wireBytes: this.pending,
        frameBytes: frame ? frame.length + 2 : 0,
        escapes: this.escapes,
        atMs: now,
      });
      this.content = [];
      this.pending = 0;
      this.escapes = 0;
    }
  }
}

/**
 * Records every frame in both directions. Hand `tap.push` to a LineBridge:
 * `new LineBridge({ guest, tap: (d, c) => tap.push(d, c) })`.
 */
export class WireTap {
  readonly frames: WireFrame[] = [];
  private readonly up: DirectionTap;
  private readonly down: DirectionTap;
  private readonly maxFrames: number;
  /** Frames not recorded because `maxFrames` was reached. */
  overflow = 0;

  constructor(o: { maxFrames?: number } = {}) {
    this.maxFrames = o.maxFrames ?? 1_000_000;
    const emit = (f: Omit<WireFrame, 'seq'>) => {
      if (this.frames.length >= this.maxFrames) this.overflow++;
      else this.frames.push({ ...f, seq: this.frames.length });
    };
    this.up = new DirectionTap('up', emit);
    this.down = new DirectionTap('down', emit);
  }

  push(direction: LineDirection, chunk: Uint8Array): void {
    (direction === 'up' ? this.up : this.down).push(chunk);
  }
}

export interface ExchangeSummary {
  /** Frames carrying exactly `size` TCP payload octets, per direction. */
  segments: { up: number; down: number };
  /** Mean wire octets of those frames: both directions, and each. */
  perSegment: number;
  perSegmentUp: number;
  perSegmentDown: number;
  /** Mean of (wire octets - payload) of those frames: TCP/IP (or VJ) header plus PPP/HDLC framing. */
  overheadPerSegment: number;
  /** Mean Control Escapes in those frames (part of perSegment). */
  escapesPerSegment: number;
  /** The exchange phase: from the first to the last frame carrying `size` payload octets, both included. */
  exchanges: number;
  /** TCP-carrying frames in the phase, their wire octets, and those of them without payload (pure ACKs). */
  phaseFrames: number;
  phaseBytes: number;
  pureAcks: number;
  /** phaseBytes / exchanges. */
  perExchange: number;
  /** TCP-carrying frames of the phase by kind. */
  kinds: Record<'ip-tcp' | 'vj-uncompressed' | 'vj-compressed', number>;
  /** Non-TCP frames in the phase (control, ICMP...), not counted in phaseBytes. */
  otherInPhase: number;
  /** A VJ frame (0x002d or 0x002f) was seen in this direction, anywhere in the capture. */
  vj: { up: boolean; down: boolean };
  /** Frames the decoder dropped or that did not parse, anywhere in the capture. */
  bad: number;
}

const isTcp = (f: WireFrame) => TCP_KINDS.includes(f.kind);

/**
 * Per-segment and per-exchange wire cost of a request/response run of `exchanges` rounds of
 * `size` payload octets each way. The phase runs from the first to the last frame carrying
 * `size` payload octets (the handshake, LCP/IPCP and the close are outside it; the ACK of the
 * last response, if it travels alone, too: at most one frame in `exchanges`).
 */
export function summarizeExchanges(
  frames: readonly WireFrame[],
  size: number,
  exchanges: number,
): ExchangeSummary {
  const data = frames.filter((f) => isTcp(f) && f.tcpPayload === size);
  const mean = (xs: readonly WireFrame[]) =>
    xs.length === 0 ? Number.NaN : xs.reduce((s, f) => s + f.wireBytes, 0) / xs.length;
  const up = data.filter((f) => f.direction === 'up');
  const down = data.filter((f) => f.direction === 'down');
  const first = data[0]?.seq ?? 0;
  const last = data.at(-1)?.seq ?? -1;
  const phase = frames.filter((f) => f.seq >= first && f.seq <= last);
  const tcp = phase.filter(isTcp);
  const kinds = { 'ip-tcp': 0, 'vj-uncompressed': 0, 'vj-compressed': 0 };
  for (const f of tcp) kinds[f.kind as keyof typeof kinds]++;
  const phaseBytes = tcp.reduce((s, f) => s + f.wireBytes, 0);
  const vjIn = (d: LineDirection) =>
    frames.some((f) => f.direction === d && (f.kind === 'vj-compressed' || f.kind === 'vj-uncompressed'));
  return {
    segments: { up: up.length, down: down.length },
    perSegment: mean(data),
    perSegmentUp: mean(up),
    perSegmentDown: mean(down),
    overheadPerSegment: mean(data) - size,
    escapesPerSegment: data.length === 0 ? Number.NaN : data.reduce((s, f) => s + f.escapes, 0) / data.length,
    exchanges,
    phaseFrames: tcp.length,
    phaseBytes,
    pureAcks: tcp.filter((f) => f.tcpPayload === 0).length,
    perExchange: exchanges > 0 ? phaseBytes / exchanges : Number.NaN,
    kinds,
    otherInPhase: phase.length - tcp.length,
    vj: { up: vjIn('up'), down: vjIn('down') },
    bad: frames.filter((f) => f.kind === 'bad').length,
  };
}
