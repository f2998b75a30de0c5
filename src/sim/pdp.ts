import type { SimPdpContextConfig } from './config.js';
import type { SimPdpContextState } from './state.js';

/** PDP types of 27.007 clause 10.1.1 the simulator accepts. */
export const PDP_TYPES: readonly string[] = ['IP', 'IPV6', 'IPV4V6', 'PPP'];

/** Longest APN (3GPP TS 23.003 clause 9.1: 100 octets). */
export const MAX_APN = 100;

interface Context {
  cid: number;
  pdpType: string;
  apn: string;
  active: boolean;
}

/**
 * Defined PDP contexts (+CGDCONT, 27.007 clause 10.1.1) and their activation (+CGACT
 * 10.1.10, or implicitly by `D*99#` 10.2.1.1 and +CGDATA 10.1.12). An active context has an
 * address (+CGPADDR 10.1.14): the configured IPv4 address for IP, IPV4V6 and PPP contexts;
 * the simulator gives IPv6-only contexts none.
 */
export class PdpTable {
  private readonly contexts = new Map<number, Context>();

  constructor(
    defaults: readonly SimPdpContextConfig[],
    private readonly address: string,
  ) {
    for (const c of defaults) this.define(c.cid, c.pdpType.toUpperCase(), c.apn);
  }

  define(cid: number, pdpType: string, apn: string): void {
    this.contexts.set(cid, { cid, pdpType, apn, active: false });
  }

  /** `+CGDCONT=<cid>`: the context becomes undefined. */
  undefine(cid: number): void {
    this.contexts.delete(cid);
  }

  has(cid: number): boolean {
    return this.contexts.has(cid);
  }

  isActive(cid: number): boolean {
    return this.contexts.get(cid)?.active ?? false;
  }

  setActive(cid: number, active: boolean): void {
    const c = this.contexts.get(cid);
    if (c) c.active = active;
  }

  deactivateAll(): void {
    for (const c of this.contexts.values()) c.active = false;
  }

  /** The lowest defined cid (the context `D*99#` and a bare `+CGDATA` use). */
  firstCid(): number | undefined {
    return this.list()[0]?.cid;
  }

  list(): SimPdpContextState[] {
    return [...this.contexts.values()]
      .sort((a, b) => a.cid - b.cid)
      .map((c) => ({ ...c, address: this.addressOf(c) }));
  }

  private addressOf(c: Context): string | null {
    if (!c.active || c.pdpType === 'IPV6') return null;
    return this.address;
  }
}
