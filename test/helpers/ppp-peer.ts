import { emitPppFrame, Protocol, parsePppFrame } from '../../src/ppp/frame.js';
import { HdlcDecoder, HdlcEncoder } from '../../src/ppp/hdlc.js';
import { Code, emitCpPacket, emitOptions, parseCpPacket, parseOptions } from '../../src/ppp/packet.js';

/**
 * The far end of a PPP link for unit tests, written out by hand from RFC 1661/1332/1334/1994
 * and the packets pppd 2.4.9 sends (see its debug log in test/traces/): it reads what our
 * core writes and lets a test answer frame by frame. Not a PPP implementation.
 */
export interface SeenPacket {
  protocol: number;
  code: number;
  id: number;
  data: Uint8Array;
  /** Options, for Configure packets. */
  options: { type: number; data: Uint8Array }[];
}

export class ScriptedPeer {
  private readonly enc = new HdlcEncoder();
  // pppd asks for asyncmap 0: it takes unescaped control characters as data.
  private readonly dec = new HdlcDecoder({ receiveAccm: 0 });
  readonly seen: SeenPacket[] = [];
  readonly ip: Uint8Array[] = [];
  /** VJ frames (RFC 1144: protocols 0x002d, 0x002f), as sent. */
  readonly vj: { protocol: number; info: Uint8Array }[] = [];

  /** Feeds bytes our side wrote; returns the packets found in them. */
  read(chunks: Uint8Array[]): SeenPacket[] {
    const out: SeenPacket[] = [];
    for (const c of chunks) {
      for (const f of this.dec.push(c)) {
        const { protocol, info } = parsePppFrame(f);
        if (protocol === Protocol.IPv4) {
          this.ip.push(info);
          continue;
        }
        if (protocol === Protocol.VjCompressed || protocol === Protocol.VjUncompressed) {
          this.vj.push({ protocol, info });
          continue;
        }
        const p = parseCpPacket(info);
        let options: SeenPacket['options'] = [];
        if (
          p.code >= Code.ConfReq &&
          p.code <= Code.ConfRej &&
          protocol !== Protocol.PAP &&
          protocol !== Protocol.CHAP
        ) {
          options = parseOptions(p.data);
        }
        const s = { protocol, code: p.code, id: p.id, data: p.data, options };
        out.push(s);
        this.seen.push(s);
      }
    }
    return out;
  }

  /** Bytes of one control packet as the peer would send it. */
  packet(protocol: number, code: number, id: number, data: Uint8Array | number[] = []): Uint8Array {
    return this.frame(protocol, emitCpPacket(code, id, Uint8Array.from(data)));
  }

  configure(
    protocol: number,
    code: number,
    id: number,
    options: { type: number; data: number[] }[],
  ): Uint8Array {
    return this.packet(
      protocol,
      code,
      id,
      emitOptions(options.map((o) => ({ type: o.type, data: Uint8Array.from(o.data) }))),
    );
  }

  frame(protocol: number, info: Uint8Array): Uint8Array {
    return this.enc.encode(emitPppFrame(protocol, info, { acfc: false, pfc: false }));
  }
}
