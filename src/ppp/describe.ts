import { formatIpv4 } from '../util/ipv4.js';
import { ChapCode } from './chap.js';
import { Protocol, protocolName } from './frame.js';
import { IpcpOpt } from './ipcp.js';
import { LcpOpt } from './lcp.js';
import { Code, parseCpPacket, parseOptions, u16, u32 } from './packet.js';
import { PapCode, papMessage, papPeerId } from './pap.js';

/**
 * Packets described the way pppd's `debug` log does (`sent [LCP ConfReq id=0x1 <asyncmap
 * 0x0> <magic 0x1f331ed1> <pcomp> <accomp>]`), so logs of both ends read alike. Passwords
 * are never decoded.
 */
const CODE_NAMES: Record<number, string> = {
  [Code.ConfReq]: 'ConfReq',
  [Code.ConfAck]: 'ConfAck',
  [Code.ConfNak]: 'ConfNak',
  [Code.ConfRej]: 'ConfRej',
  [Code.TermReq]: 'TermReq',
  [Code.TermAck]: 'TermAck',
  [Code.CodeRej]: 'CodeRej',
  [Code.ProtRej]: 'ProtRej',
  [Code.EchoReq]: 'EchoReq',
  [Code.EchoRep]: 'EchoRep',
  [Code.DiscReq]: 'DiscReq',
};

const hex = (b: Uint8Array, max = 32) =>
  [...b.subarray(0, max)].map((x) => x.toString(16).padStart(2, '0')).join(' ') +
  (b.length > max ? ' ...' : '');
const hexRun = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
const h = (n: number) => `0x${n.toString(16)}`;
const quoted = (b: Uint8Array) => JSON.stringify(Buffer.from(b).toString('latin1'));

function lcpOption(type: number, d: Uint8Array): string {
  switch (type) {
    case LcpOpt.MRU:
      return d.length === 2 ? `<mru ${u16(d)}>` : `<mru ?>`;
    case LcpOpt.ACCM:
      return d.length === 4 ? `<asyncmap ${h(u32(d))}>` : `<asyncmap ?>`;
    case LcpOpt.AuthProtocol: {
      const p = d.length >= 2 ? u16(d) : 0;
      if (p === Protocol.PAP) return '<auth pap>';
      if (p === Protocol.CHAP) return d[2] === 5 ? '<auth chap MD5>' : `<auth chap ${h(d[2] ?? 0)}>`;
      return `<auth ${h(p)}>`;
    }
    case LcpOpt.MagicNumber:
      return d.length === 4 ? `<magic ${h(u32(d))}>` : '<magic ?>';
    case LcpOpt.PFC:
      return '<pcomp>';
    case LcpOpt.ACFC:
      return '<accomp>';
    default:
      return `<${h(type)}${d.length ? ` ${hex(d)}` : ''}>`;
  }
}

function ipcpOption(type: number, d: Uint8Array): string {
  const addr = d.length === 4 ? formatIpv4(u32(d)) : '?';
  switch (type) {
    case IpcpOpt.IpAddress:
      return `<addr ${addr}>`;
    case IpcpOpt.PrimaryDns:
      return `<ms-dns1 ${addr}>`;
    case IpcpOpt.SecondaryDns:
      return `<ms-dns2 ${addr}>`;
    case IpcpOpt.PrimaryNbns:
      return `<ms-wins ${addr}>`;
    case IpcpOpt.SecondaryNbns:
      return `<ms-wins ${addr}>`;
    case IpcpOpt.IpCompression: {
      // pppd's form: `<compress VJ 0f 01>` (RFC 1332 3.2: Max-Slot-Id, Comp-Slot-Id in hex),
      // `<compress old-VJ>` for RFC 1172's 0x0037, `<compress 0x61 ...>` for anything else.
      if (d.length < 2) return `<compress ${hex(d)}>`;
      const p = u16(d);
      const name = p === Protocol.VjCompressed ? 'VJ' : p === 0x0037 ? 'old-VJ' : h(p);
      return d.length > 2 ? `<compress ${name} ${hex(d.subarray(2))}>` : `<compress ${name}>`;
    }
    default:
      return `<${h(type)}${d.length ? ` ${hex(d)}` : ''}>`;
  }
}

function controlPacket(
  name: string,
  bytes: Uint8Array,
  option: (t: number, d: Uint8Array) => string,
): string {
  const p = parseCpPacket(bytes);
  const head = `${name} ${CODE_NAMES[p.code] ?? `code=${h(p.code)}`} id=${h(p.id)}`;
  switch (p.code) {
    case Code.ConfReq:
    case Code.ConfAck:
    case Code.ConfNak:
    case Code.ConfRej: {
      try {
        const opts = parseOptions(p.data).map((o) => option(o.type, o.data));
        return opts.length ? `${head} ${opts.join(' ')}` : head;
      } catch {
        return `${head} ${hex(p.data)} (malformed options)`;
      }
    }
    case Code.EchoReq:
    case Code.EchoRep:
    case Code.DiscReq:
      return p.data.length >= 4 ? `${head} magic=${h(u32(p.data))}` : head;
    default:
      return p.data.length ? `${head} ${hex(p.data)}` : head;
  }
}

function pap(bytes: Uint8Array): string {
  const p = parseCpPacket(bytes);
  const id = `id=${h(p.id)}`;
  switch (p.code) {
    case PapCode.AuthReq:
      return `PAP AuthReq ${id} user=${JSON.stringify(papPeerId(p.data) ?? '?')} password=<hidden>`;
    case PapCode.AuthAck:
      return `PAP AuthAck ${id} ${JSON.stringify(papMessage(p.data))}`;
    case PapCode.AuthNak:
      return `PAP AuthNak ${id} ${JSON.stringify(papMessage(p.data))}`;
    default:
      return `PAP code=${h(p.code)} ${id}`;
  }
}

function chap(bytes: Uint8Array): string {
  const p = parseCpPacket(bytes);
  const id = `id=${h(p.id)}`;
  switch (p.code) {
    case ChapCode.Challenge:
    case ChapCode.Response: {
      const n = p.data[0] ?? 0;
      const value = p.data.subarray(1, 1 + n);
      const name = p.data.subarray(1 + n);
      return `CHAP ${p.code === ChapCode.Challenge ? 'Challenge' : 'Response'} ${id} <${hexRun(value)}>, name = ${quoted(name)}`;
    }
    case ChapCode.Success:
      return `CHAP Success ${id} ${quoted(p.data)}`;
    case ChapCode.Failure:
      return `CHAP Failure ${id} ${quoted(p.data)}`;
    default:
      return `CHAP code=${h(p.code)} ${id}`;
  }
}

/** One line for a frame's protocol and information, or `undefined` for data (IP, VJ) frames. */
export function describeFrame(protocol: number, info: Uint8Array): string | undefined {
  try {
    switch (protocol) {
      case Protocol.LCP:
        return controlPacket('LCP', info, lcpOption);
      case Protocol.IPCP:
        return controlPacket('IPCP', info, ipcpOption);
      case Protocol.PAP:
        return pap(info);
      case Protocol.CHAP:
        return chap(info);
      case Protocol.IPv4:
      case Protocol.VjCompressed:
      case Protocol.VjUncompressed:
        return undefined; // data, not logged (pppd neither)
      default:
        return `${protocolName(protocol)} ${hex(info)}`;
    }
  } catch {
    return `${protocolName(protocol)} (malformed) ${hex(info)}`;
  }
}
