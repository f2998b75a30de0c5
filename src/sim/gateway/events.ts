import type { TcpErrorCode } from '../../tcp/errors.js';

/**
 * What the gateway core asks of its shell. TCP connections are named by `id`, UDP flows by
 * `flow`; `host` is always a dotted IPv4 address inside the `allow` list.
 */
export type GatewayEvent =
  /** The device sent a SYN to an allowed destination: open a real connection, then call `tcpConnected` or `tcpFailed`. */
  | { type: 'tcp-connect'; id: number; host: string; port: number }
  /** Data the device sent: write it to the real socket, then report it with `tcpWritten`. */
  | { type: 'tcp-data'; id: number; bytes: Uint8Array }
  /** The device half-closed (its FIN, after all its data): end the real socket's writing side. */
  | { type: 'tcp-end'; id: number }
  /** `tcpReceive` may take more again (it returned false before): resume reading the real socket. */
  | { type: 'tcp-drain'; id: number }
  /**
   * The device's side of the connection is over. Without `error` both sides have closed
   * cleanly: end the real socket (its writes still drain). With `error` (ECONNRESET: the
   * device reset it; ETIMEDOUT: it stopped answering; ECONNABORTED: it gave up while we
   * were connecting) destroy the real socket at once.
   */
  | { type: 'tcp-close'; id: number; error?: TcpErrorCode }
  /** A datagram from the device to an allowed destination: send it from the flow's socket (open it first if new). */
  | { type: 'udp-send'; flow: number; host: string; port: number; bytes: Uint8Array }
  /** The flow was idle for `udpIdleMs`: close its socket. */
  | { type: 'udp-close'; flow: number };

export interface GatewayStats {
  packetsIn: number;
  packetsOut: number;
  /** Packets that did not parse (IPv4, TCP, UDP, ICMP headers, lengths, checksums). */
  malformed: number;
  /** Fragments: not reassembled, dropped. */
  fragments: number;
  /** Packets from an impossible source or to a non-unicast destination (RFC 1812 5.3.7). */
  martians: number;
  /** Protocols other than ICMP, UDP and TCP. */
  unknownProtocol: number;
  tcp: {
    /** Relayed connections now (not counting TIME-WAIT). */
    connections: number;
    /** SYNs turned into `tcp-connect`. */
    connectRequests: number;
    established: number;
    /** Real connections that failed (`tcpFailed`) or did not report in time. */
    failed: number;
    /** SYNs to destinations outside `allow` (answered with a RST, never connected). */
    denied: number;
    /** SYNs beyond `limits.tcpConnections` (answered with a RST). */
    overLimit: number;
    /** Segments for no connection (answered with a RST, RFC 9293 3.10.7.1). */
    noConnection: number;
    resetsSent: number;
    bytesFromDevice: number;
    bytesToDevice: number;
  };
  udp: {
    flows: number;
    datagramsFromDevice: number;
    datagramsToDevice: number;
    /** Datagrams to destinations outside `allow` or to closed gateway ports. */
    denied: number;
    /** Datagrams dropped because `limits.udpFlows` flows were open. */
    overLimit: number;
    /** Replies that would not fit the MTU (no fragmentation), dropped. */
    oversize: number;
    expired: number;
  };
  dns: {
    queries: number;
    answers: number;
    nodata: number;
    nxdomain: number;
    notimp: number;
    formerr: number;
    /** Queries that did not parse, or responses sent to us: no answer. */
    dropped: number;
  };
  icmp: {
    echoRequests: number;
    echoReplies: number;
    /** Echo Requests to destinations outside `allow`: dropped. */
    echoDenied: number;
    /** Destination Unreachable messages sent to the device. */
    unreachableSent: number;
    /** Destination Unreachable messages not sent because of the rate limit. */
    rateLimited: number;
  };
}

export function emptyStats(): GatewayStats {
  return {
    packetsIn: 0,
    packetsOut: 0,
    malformed: 0,
    fragments: 0,
    martians: 0,
    unknownProtocol: 0,
    tcp: {
      connections: 0,
      connectRequests: 0,
      established: 0,
      failed: 0,
      denied: 0,
      overLimit: 0,
      noConnection: 0,
      resetsSent: 0,
      bytesFromDevice: 0,
      bytesToDevice: 0,
    },
    udp: {
      flows: 0,
      datagramsFromDevice: 0,
      datagramsToDevice: 0,
      denied: 0,
      overLimit: 0,
      oversize: 0,
      expired: 0,
    },
    dns: { queries: 0, answers: 0, nodata: 0, nxdomain: 0, notimp: 0, formerr: 0, dropped: 0 },
    icmp: { echoRequests: 0, echoReplies: 0, echoDenied: 0, unreachableSent: 0, rateLimited: 0 },
  };
}
