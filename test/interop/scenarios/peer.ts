import type { Duplex } from 'node:stream';
import type { PppLinkOptions } from '../../../src/ppp/link.js';

/**
 * A PPP peer the client scenarios run against (`client.ts`): pppd in user-mode Linux, slirp
 * in a private network namespace, or our virtual modem (`SimService`). Everything a scenario
 * needs to know about the peer is here, so the same scenario runs unchanged against each.
 */
export interface PeerUnderTest {
  readonly name: string;
  /**
   * Opens the line PPP runs over: pppd's serial line as it is, slirp's pty through serialport,
   * the virtual modem's port after AT and `ATD` -> `CONNECT` through our Modem driver.
   * One line per peer: every peer here serves one PPP session.
   */
  openLine(): Promise<PeerLine>;
  /** Our PppLink's options for this peer (credentials, IPCP hints, keepalive). */
  readonly linkOptions: PppLinkOptions;
  /** What IPCP must give us. */
  readonly expected: { localAddress: string; peerAddress: string; dns: readonly string[] };
  /** The address pinged: the peer's own (pppd, the sim's gateway) or slirp's host alias. */
  readonly pingAddress: string;
  /** A TCP echo server reachable through the peer (echoes until our FIN, then closes). */
  readonly echo: { host: string; port: number };
  /** A TCP port reachable through the peer where nothing listens. */
  readonly closedPort: { host: string; port: number };
  /**
   * A name the peer's DNS (the one IPCP hands out) resolves, the address it must resolve to
   * (where `echo.port` listens), and a name it must answer NXDOMAIN for; undefined when this
   * peer has no usable DNS (`dnsNotApplicable` says why).
   */
  readonly dns: { name: string; address: string; unknown: string } | undefined;
  readonly dnsNotApplicable?: string;
  /**
   * After our LCP Terminate was acknowledged: resolves with the peer side's evidence that the
   * session ended (pppd's log lines, the modem's NO CARRIER, slirp's exit); rejects when it
   * does not come within `timeoutMs`.
   */
  sessionEnded(timeoutMs: number): Promise<string>;
  /** Ends everything the peer started (by PID); idempotent. */
  stop(): Promise<void>;
}

/** The line to a peer: the byte stream PPP runs over, and how to let go of it. */
export interface PeerLine {
  stream: Duplex;
  /** Releases the line after the session (closes the port, the modem). */
  close(): Promise<void>;
}
