import { isIP } from 'node:net';
import { ExtensionType, NamedGroup } from './constants.js';
import { fail } from './errors.js';
import { OFFERED_GROUPS } from './key-exchange.js';
import { OFFERED_SIGNATURE_SCHEMES } from './signature.js';
import { WireReader, WireWriter } from './wire.js';

export interface HelloOffer {
  /** SNI host name; IP literals are not sent (RFC 6066 3). */
  servername: string | undefined;
  alpnProtocols: readonly string[];
  /** An ECDHE suite is offered: send supported_groups and ec_point_formats (RFC 8422 5.1). */
  ecdhe: boolean;
  /** A CBC suite is offered: ask for encrypt_then_mac (RFC 7366 2). */
  cbc: boolean;
  /** The ticket to present, or an empty one to ask for a ticket; undefined to not use tickets. */
  ticket: Uint8Array | undefined;
}

const ascii = (s: string) => Buffer.from(s, 'latin1');

/** The host name as SNI carries it: no trailing dot, not an IP literal (RFC 6066 3). */
export function sniName(servername: string | undefined): string | undefined {
  if (!servername) return undefined;
  const name = servername.endsWith('.') ? servername.slice(0, -1) : servername;
  if (!name || isIP(name) !== 0) return undefined;
  return name;
}

/** The ClientHello extensions, in the order OpenSSL sends the ones we share with it. */
export function clientHelloExtensions(o: HelloOffer): Array<{ type: number; data: Uint8Array }> {
  const out: Array<{ type: number; data: Uint8Array }> = [];
  const sni = sniName(o.servername);
  if (sni) {
    // ServerNameList: one host_name(0) entry (RFC 6066 3).
    const entry = new WireWriter().u8(0).vec16(ascii(sni)).finish();
    out.push({ type: ExtensionType.server_name, data: new WireWriter().vec16(entry).finish() });
  }
  if (o.ecdhe) {
    // ECPointFormatList: uncompressed(0) only (RFC 8422 5.1.2).
    out.push({
      type: ExtensionType.ec_point_formats,
      data: new WireWriter().vec8(Buffer.from([0])).finish(),
    });
    const groups = new WireWriter();
    for (const g of OFFERED_GROUPS) groups.u16(NamedGroup[g]);
    out.push({
      type: ExtensionType.supported_groups,
      data: new WireWriter().vec16(groups.finish()).finish(),
    });
  }
  if (o.ticket) out.push({ type: ExtensionType.session_ticket, data: o.ticket });
  if (o.alpnProtocols.length > 0) {
    const list = new WireWriter();
    for (const p of o.alpnProtocols) list.vec8(ascii(p));
    out.push({
      type: ExtensionType.application_layer_protocol_negotiation,
      data: new WireWriter().vec16(list.finish()).finish(),
    });
  }
  if (o.cbc) out.push({ type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) });
  out.push({ type: ExtensionType.extended_master_secret, data: new Uint8Array(0) });
  const schemes = new WireWriter();
  for (const s of OFFERED_SIGNATURE_SCHEMES) schemes.u16(s);
  out.push({
    type: ExtensionType.signature_algorithms,
    data: new WireWriter().vec16(schemes.finish()).finish(),
  });
  // renegotiation_info with an empty renegotiated_connection (RFC 5746 3.4).
  out.push({ type: ExtensionType.renegotiation_info, data: Buffer.from([0]) });
  return out;
}

/** What the server's extensions told us (RFC 5246 7.4.1.4: only ones we offered may appear). */
export interface ServerExtensions {
  extendedMasterSecret: boolean;
  encryptThenMac: boolean;
  /** The server will send a NewSessionTicket (RFC 5077 3.2). */
  sessionTicket: boolean;
  alpnProtocol: string | undefined;
  secureRenegotiation: boolean;
}

export function checkServerExtensions(
  extensions: Map<number, Buffer>,
  offered: ReadonlySet<number>,
  alpnOffered: readonly string[],
): ServerExtensions {
  const out: ServerExtensions = {
    extendedMasterSecret: false,
    encryptThenMac: false,
    sessionTicket: false,
    alpnProtocol: undefined,
    secureRenegotiation: false,
  };
  for (const [type, data] of extensions) {
    if (!offered.has(type)) {
      throw fail(
        'unsupported_extension',
        `ServerHello has extension ${type}, which we did not offer`,
        'unsolicited_extension',
      );
    }
    switch (type) {
      case ExtensionType.server_name:
      case ExtensionType.extended_master_secret:
      case ExtensionType.encrypt_then_mac:
      case ExtensionType.session_ticket:
        if (data.length !== 0)
          throw fail('decode_error', `ServerHello extension ${type} is not empty`, 'bad_extension');
        if (type === ExtensionType.extended_master_secret) out.extendedMasterSecret = true;
        if (type === ExtensionType.encrypt_then_mac) out.encryptThenMac = true;
        if (type === ExtensionType.session_ticket) out.sessionTicket = true;
        break;
      case ExtensionType.ec_point_formats: {
        const r = WireReader.of(data, 'ec_point_formats');
        const formats = r.vec8(1);
        r.end();
        // RFC 8422 5.2: the list must contain uncompressed (0).
        if (!formats.includes(0))
          throw fail('illegal_parameter', 'server does not accept uncompressed points', 'bad_ecpoint');
        break;
      }
      case ExtensionType.application_layer_protocol_negotiation: {
        // Exactly one ProtocolName, one we offered (RFC 7301 3.1).
        const r = WireReader.of(data, 'ALPN');
        const list = r.sub16('ProtocolNameList', 1);
        r.end();
        const name = list.vec8(1).toString('latin1');
        list.end();
        if (!alpnOffered.includes(name)) {
          throw fail(
            'illegal_parameter',
            'server selected an ALPN protocol we did not offer',
            'invalid_alpn_protocol',
          );
        }
        out.alpnProtocol = name;
        break;
      }
      case ExtensionType.renegotiation_info:
        // An initial handshake: renegotiated_connection must be empty (RFC 5746 3.4).
        if (data.length !== 1 || data[0] !== 0) {
          throw fail('handshake_failure', 'renegotiation_info is not empty', 'renegotiation_mismatch');
        }
        out.secureRenegotiation = true;
        break;
      default:
        throw fail('unsupported_extension', `ServerHello has extension ${type}`, 'unsolicited_extension');
    }
  }
  return out;
}
