import { fieldsOf, intField } from './fields.js';

/** Packet domain: +CGDCONT (27.007 clause 10.1.1), +CGPADDR (10.1.14), +CGATT (10.1.9). */
export interface PdpContext {
  cid: number;
  /** `IP`, `IPV6`, `IPV4V6`, `PPP`, ... */
  pdpType: string;
  apn: string;
  address: string | null;
}

export function parseCgdcont(lines: readonly string[]): PdpContext[] {
  const out: PdpContext[] = [];
  for (const line of lines) {
    if (!/^\s*\+CGDCONT\s*:/i.test(line)) continue;
    const f = fieldsOf(line, '+CGDCONT');
    const cid = intField(f[0]);
    if (cid === null) continue;
    const addr = f[3]?.text ?? '';
    out.push({
      cid,
      pdpType: (f[1]?.text ?? '').toUpperCase(),
      apn: f[2]?.text ?? '',
      address: addr.length > 0 && addr !== '0.0.0.0' ? addr : null,
    });
  }
  return out;
}

export interface PdpAddress {
  cid: number;
  addresses: string[];
}

export function parseCgpaddr(lines: readonly string[]): PdpAddress[] {
  const out: PdpAddress[] = [];
  for (const line of lines) {
    if (!/^\s*\+CGPADDR\s*:/i.test(line)) continue;
    const f = fieldsOf(line, '+CGPADDR');
    const cid = intField(f[0]);
    if (cid === null) continue;
    const addresses = f
      .slice(1)
      .map((x) => x.text)
      .filter((t) => t.length > 0 && t !== '0.0.0.0');
    out.push({ cid, addresses });
  }
  return out;
}

/** `+CGATT: <state>`: attached to the packet domain service or not. */
export function parseCgatt(line: string): boolean | undefined {
  const f = fieldsOf(line, '+CGATT');
  const v = intField(f[0]);
  return v === null ? undefined : v === 1;
}
