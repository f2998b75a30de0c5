import type { LcpConfig } from '../../ppp/lcp.js';
import type { Random32 } from '../../ppp/random.js';

/**
 * Configuration of the network side of PPP in the virtual modem (what pppd on a GGSN or a
 * dial-in server is told): which authentication to require, the accepted credentials, the
 * addresses IPCP hands out.
 */
export type PeerAuthProtocol = 'pap' | 'chap-md5';

/** One accepted name and password (PAP) or secret (CHAP). Never logged. */
export interface PppPeerCredential {
  user: string;
  password: string;
}

export interface PppPeerConfig {
  /**
   * Authentication to require of the device with LCP's Authentication-Protocol option
   * (RFC 1661 section 6.2): `'pap'` (RFC 1334), `'chap-md5'` (RFC 1994, algorithm 5) or
   * `'none'`. Default `'none'`.
   */
  auth?: PeerAuthProtocol | 'none';
  /**
   * With `auth: 'chap-md5'`: when the device Naks CHAP suggesting PAP, ask for PAP instead
   * (pppd's behaviour with both `require-chap` and `require-pap`). Default true.
   */
  papFallback?: boolean;
  /** The names and passwords accepted. Default none: every authentication fails. */
  credentials?: readonly PppPeerCredential[];
  /** The Name in our CHAP Challenges (RFC 1994 section 4.1). Default `cellstack-sim`. */
  name?: string;
  /** How long the device has to authenticate (pppd's pap-timeout / chap-timeout). Default 30000 ms. */
  authTimeoutMs?: number;
  /** Interval between CHAP Challenges that go unanswered (pppd's chap-restart). Default 3000 ms. */
  chapRestartMs?: number;
  /** Our own IP address, sent in our IPCP Configure-Request. Default 10.0.0.1. */
  localAddress?: string;
  /** The address assigned to the device (RFC 1332 section 3.3). Default 10.0.0.2. */
  peerAddress?: string;
  /**
   * Primary and secondary DNS handed out (RFC 1877 sections 1.1 and 1.3); a request for one
   * not configured is Rejected. Default `['10.0.0.1']`.
   */
  dns?: readonly string[];
  /** LCP settings (MRU, ACCM, PFC/ACFC, keepalive, timers), as for our client. */
  lcp?: Omit<LcpConfig, 'random'>;
  /** IPCP's restart timer and counters (RFC 1661 section 4.6). */
  ipcp?: { restartMs?: number; maxConfigure?: number; maxTerminate?: number; maxFailure?: number };
  /** The random source for Magic-Number and CHAP challenges; fix it in tests. Default crypto. */
  random?: Random32;
  /** Back-to-back frames share a Flag (RFC 1662 section 3.1). Default true, like the client. */
  sharedFlags?: boolean;
}

export interface ResolvedPeerAuth {
  /** In order of preference: the first is asked for, the rest are accepted in a Nak. */
  protocols: readonly PeerAuthProtocol[];
  credentials: readonly PppPeerCredential[];
  name: string;
  timeoutMs: number;
  chapRestartMs: number;
}

export function resolvePeerAuth(c: PppPeerConfig): ResolvedPeerAuth {
  const auth = c.auth ?? 'none';
  const protocols: PeerAuthProtocol[] =
    auth === 'none'
      ? []
      : auth === 'pap'
        ? ['pap']
        : c.papFallback === false
          ? ['chap-md5']
          : ['chap-md5', 'pap'];
  return {
    protocols,
    credentials: c.credentials ?? [],
    name: c.name ?? 'cellstack-sim',
    timeoutMs: c.authTimeoutMs ?? 30_000,
    chapRestartMs: c.chapRestartMs ?? 3000,
  };
}
