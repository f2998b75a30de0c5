import { Protocol } from '../../ppp/frame.js';
import type { ConfigVerdict } from '../../ppp/fsm.js';
import { Lcp, type LcpConfig, type LcpEvents, LcpOpt } from '../../ppp/lcp.js';
import { Code, type CpOption, emitOptions, sameBytes, tryParseOptions, u16 } from '../../ppp/packet.js';
import type { PeerAuthProtocol } from './config.js';

/** CHAP's Algorithm octet for MD5 (RFC 1994 section 3). */
const CHAP_MD5 = 5;

/** The Authentication-Protocol option's Data for a protocol (RFC 1661 6.2, RFC 1994 3). */
export function authOptionData(p: PeerAuthProtocol): Uint8Array {
  return p === 'pap' ? Uint8Array.of(0xc0, 0x23) : Uint8Array.of(0xc2, 0x23, CHAP_MD5);
}

/** The protocol an Authentication-Protocol option names, if we speak it. */
export function authFromOption(d: Uint8Array): PeerAuthProtocol | undefined {
  if (d.length === 2 && u16(d) === Protocol.PAP) return 'pap';
  if (d.length === 3 && u16(d) === Protocol.CHAP && d[2] === CHAP_MD5) return 'chap-md5';
  return undefined;
}

/**
 * LCP for the authenticator: the project's `Lcp` (MRU, ACCM, Magic-Number, PFC, ACFC, Echo,
 * Protocol-Reject) with the Authentication-Protocol option (RFC 1661 section 6.2) added to
 * our Configure-Request. The option goes last; the base class judges and agrees everything
 * else. The device Nak'ing it with a protocol we accept makes us ask for that one instead
 * (CHAP to PAP fallback); a Nak for anything else, or a Reject, means the device refuses to
 * authenticate: `takeRefusal()` says so and the core terminates the link, as pppd does.
 */
export class AuthenticatorLcp extends Lcp {
  private readonly accepted: readonly PeerAuthProtocol[];
  /** What our next Configure-Request asks for (null: nothing). */
  private want: PeerAuthProtocol | null = null;
  /** The Authentication-Protocol option as last sent (empty when not asked). */
  private sentAuth: Uint8Array = new Uint8Array(0);
  private agreed: PeerAuthProtocol | null = null;
  private refusal: string | undefined;

  constructor(config: LcpConfig, events: LcpEvents, accepted: readonly PeerAuthProtocol[]) {
    super(config, events);
    this.accepted = accepted;
    this.want = accepted[0] ?? null;
  }

  /** The authentication the device agreed to (our Configure-Request was Acked with it). */
  get agreedAuth(): PeerAuthProtocol | null {
    return this.agreed;
  }

  /** Why the device refuses to authenticate, once; undefined when it does not. */
  takeRefusal(): string | undefined {
    const r = this.refusal;
    this.refusal = undefined;
    return r;
  }

  override resetOptions(): void {
    super.resetOptions();
    // Lcp's constructor calls this before our fields exist; the constructor sets them after.
    const accepted = this.accepted as readonly PeerAuthProtocol[] | undefined;
    if (accepted === undefined) return;
    this.want = accepted[0] ?? null;
    this.agreed = null;
  }

  override requestOptions(): Uint8Array {
    const base = super.requestOptions();
    this.sentAuth =
      this.want === null
        ? new Uint8Array(0)
        : emitOptions([{ type: LcpOpt.AuthProtocol, data: authOptionData(this.want) }]);
    const out = new Uint8Array(base.length + this.sentAuth.length);
    out.set(base, 0);
    out.set(this.sentAuth, base.length);
    return out;
  }

  /** RFC 1661 5.2: the Ack repeats our options exactly; ours are the base ones, then auth. */
  override ackReceived(data: Uint8Array): boolean {
    const cut = data.length - this.sentAuth.length;
    if (cut < 0 || !sameBytes(data.subarray(cut), this.sentAuth)) return false;
    if (!super.ackReceived(data.subarray(0, cut))) return false;
    this.agreed = this.want;
    return true;
  }

  override nakReceived(data: Uint8Array): boolean {
    const opts = tryParseOptions(data);
    if (!opts) return false;
    for (const o of opts) {
      if (o.type !== LcpOpt.AuthProtocol || this.want === null) continue;
      const suggested = authFromOption(o.data);
      if (suggested !== undefined && this.accepted.includes(suggested)) this.want = suggested;
      else this.refusal = `the device will not authenticate with ${this.accepted.join(' or ')}`;
    }
    return super.nakReceived(data); // the base class ignores the Authentication-Protocol hint
  }

  override rejectReceived(data: Uint8Array): boolean {
    const opts = tryParseOptions(data);
    if (!opts) return false;
    const auth = opts.filter((o) => o.type === LcpOpt.AuthProtocol);
    if (auth.length > 0) {
      if (this.sentAuth.length === 0) return false; // RFC 1661 5.4: not ours to reject
      this.refusal = 'the device rejected the Authentication-Protocol option';
    }
    return super.rejectReceived(emitOptions(opts.filter((o) => o.type !== LcpOpt.AuthProtocol)));
  }

  /**
   * The device's Configure-Request: it may not ask us to authenticate (we are the network);
   * such an option is Rejected (RFC 1661 5.4), everything else is judged by the base class.
   */
  override checkRequest(data: Uint8Array, rejectInstead: boolean, now: number): ConfigVerdict {
    const opts = tryParseOptions(data);
    const auth: CpOption[] = opts?.filter((o) => o.type === LcpOpt.AuthProtocol) ?? [];
    if (auth.length > 0) return { code: Code.ConfRej, data: emitOptions(auth) };
    return super.checkRequest(data, rejectInstead, now);
  }
}
