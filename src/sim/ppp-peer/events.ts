import type { FsmStats } from '../../ppp/fsm.js';
import type { HdlcEncoderStats, HdlcStats } from '../../ppp/hdlc.js';
import type { PeerAuthResult } from './authenticator.js';
import type { PeerAuthProtocol } from './config.js';

/** RFC 1661 section 3 phases, as on the client. */
export type PeerPhase = 'dead' | 'establish' | 'authenticate' | 'network' | 'terminate';

/** What IPCP agreed, seen from the network side. */
export interface PppPeerUpInfo {
  /** Our address (the network's end of the link). */
  localAddress: string;
  /** The address assigned to the device. */
  peerAddress: string;
  /** The DNS servers the device asked for and was given, primary first. */
  dns: string[];
  /** The largest IP packet the device accepts (its MRU). */
  mtu: number;
  /** The authentication the device passed, or null. */
  auth: PeerAuthProtocol | null;
  /** The name it authenticated with ('' without authentication). */
  user: string;
}

/** Why the link went down, as a stable code. */
export type PeerDownReason =
  | 'local-close' // close() was called
  | 'peer-terminated' // the device sent Terminate-Request
  | 'auth-failed' // wrong name or password
  | 'auth-timeout' // the device never authenticated
  | 'auth-refused' // the device Nak'd or Rejected the Authentication-Protocol we require
  | 'negotiation-failed' // LCP or IPCP did not converge, or was rejected
  | 'peer-dead' // LCP Echo-Requests went unanswered
  | 'looped-back' // our Magic-Number came back
  | 'renegotiating' // the device restarted LCP or IPCP
  | 'lower-down'; // the line under PPP went away (hang-up, NO CARRIER)

export type PppPeerEvent =
  | { type: 'phase'; phase: PeerPhase }
  | { type: 'auth'; result: PeerAuthResult }
  | { type: 'up'; info: PppPeerUpInfo }
  | { type: 'down'; reason: PeerDownReason; message: string }
  /** LCP finished: the modem may drop the carrier now. */
  | { type: 'dead' }
  /** An IPv4 packet from the device. */
  | { type: 'ip'; packet: Uint8Array }
  /** A negotiation line in pppd's style (never with a secret). */
  | { type: 'log'; line: string };

export interface PppPeerStats {
  hdlc: HdlcStats;
  hdlcOut: HdlcEncoderStats;
  framesIn: number;
  framesOut: number;
  /** Frames whose PPP header did not parse. */
  malformed: number;
  /** Frames of protocols we do not speak, answered with LCP Protocol-Reject (RFC 1661 5.7). */
  protocolRejected: number;
  /** Frames dropped without an answer: NCP or IP before its phase (RFC 1661 3.5). */
  discarded: number;
  ipIn: number;
  ipOut: number;
  /** IP packets not sent (link not up, larger than the device's MRU). */
  ipDropped: number;
  lcp: FsmStats;
  ipcp: FsmStats;
  lcpEchoSent: number;
  lcpEchoReplies: number;
  lcpEchoAnswered: number;
  auth: { requests: number; malformed: number; successes: number; failures: number };
}
