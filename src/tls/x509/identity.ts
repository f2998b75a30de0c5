/**
 * Server identity check (RFC 6125 section 6), with node's tls.checkServerIdentity rules:
 * - an IP literal matches IP SANs only (section 6.2 of RFC 9525), never DNS names or the CN;
 * - a DNS name matches the DNS SANs; the subject CN is used only when the certificate has no
 *   DNS SAN at all (RFC 6125 section 6.4.4);
 * - comparison is ASCII case-insensitive, one trailing dot ignored (section 6.4.1);
 * - a wildcard is only the whole left-most label (`*.example.com`), matches exactly one label,
 *   never for a two-label pattern (`*.com`) (section 6.4.3; RFC 9525 section 6.3 forbids partial
 *   wildcards).
 * Intended differences from node: partial-label wildcards (`f*.example.com`) never match, and
 * a host name with an empty label (`.example.com`) matches nothing (node lets `*` match it).
 * Works on the `PeerCertificate` strings (`subjectaltname`, `subject.CN`), like node's, so it
 * accepts any certificate object node:tls would hand a custom checker.
 */
import { isIP, isIPv4 } from 'node:net';
import { HostnameMismatchError, type PeerCertificate } from './errors.js';

/**
 * Checks `hostname` against `cert`; returns the error (ERR_TLS_CERT_ALTNAME_INVALID) or
 * `undefined` when it matches. Never throws.
 */
export function checkServerIdentity(
  hostname: string,
  cert: PeerCertificate,
): HostnameMismatchError | undefined {
  const altNames = typeof cert.subjectaltname === 'string' ? cert.subjectaltname : '';
  const dnsNames: string[] = [];
  const ips: string[] = [];
  for (const entry of splitAltNames(altNames)) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) {
      const ip = canonicalIp(entry.slice(11));
      if (ip !== undefined) ips.push(ip);
    }
  }
  const host = String(hostname).replace(/\.$/, '');
  let reason: string;
  if (isIP(host) !== 0) {
    if (ips.includes(canonicalIp(host) ?? '')) return undefined;
    reason = `IP: ${host} is not in the cert's list: ${ips.join(', ')}`;
  } else {
    const cnValue: unknown = cert.subject?.CN;
    const cns = Array.isArray(cnValue)
      ? cnValue.filter((c): c is string => typeof c === 'string')
      : typeof cnValue === 'string' && cnValue !== ''
        ? [cnValue]
        : [];
    if (dnsNames.length > 0) {
      if (dnsNames.some((p) => matchDnsName(host, p))) return undefined;
      reason = `Host: ${host}. is not in the cert's altnames: ${altNames}`;
    } else if (cns.length > 0) {
      if (cns.some((p) => matchDnsName(host, p))) return undefined;
      reason = `Host: ${host}. is not cert's CN: ${cns.join(',')}`;
    } else {
      reason = 'Cert does not contain a DNS name';
    }
  }
  return new HostnameMismatchError(reason, host, cert);
}

/** RFC 6125 section 6.4 match of a reference DNS name against one presented pattern. */
export function matchDnsName(hostname: string, pattern: string): boolean {
  const host = splitHost(hostname);
  const pat = splitHost(pattern);
  if (host.length !== pat.length || pat.includes('') || host.includes('')) return false;
  // Only printable ASCII: U-labels and blanks never match (section 6.4.2 wants A-labels).
  if (pat.some((label) => /[^\x21-\x7e]/.test(label))) return false;
  for (let i = pat.length - 1; i > 0; i--) if (host[i] !== pat[i]) return false;
  const first = pat[0]!;
  if (!first.includes('*')) return host[0] === first;
  // Section 6.4.3: the wildcard is the complete left-most label, of a name with at least 3 labels.
  return first === '*' && pat.length > 2;
}

function splitHost(name: string): string[] {
  return name
    .replace(/\.$/, '')
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .split('.');
}

/**
 * Splits node's `subjectaltname` ("DNS:a, IP Address:1.2.3.4"). Node writes an entry that
 * itself holds a comma or a quote as a JSON string after its prefix (`DNS:"a, b"`).
 */
export function splitAltNames(altNames: string): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < altNames.length) {
    const colon = altNames.indexOf(':', pos);
    const comma = altNames.indexOf(', ', pos);
    if (colon !== -1 && (comma === -1 || colon < comma) && altNames[colon + 1] === '"') {
      const end = jsonStringEnd(altNames, colon + 1);
      if (end === -1) return out; // unparsable: stop, as the names after it cannot be trusted
      let value: string;
      try {
        value = JSON.parse(altNames.slice(colon + 1, end)) as string;
      } catch {
        return out;
      }
      out.push(altNames.slice(pos, colon + 1) + value);
      pos = end;
      if (altNames.startsWith(', ', pos)) pos += 2;
      else if (pos < altNames.length) return out;
      continue;
    }
    const stop = comma === -1 ? altNames.length : comma;
    out.push(altNames.slice(pos, stop));
    pos = comma === -1 ? altNames.length : comma + 2;
  }
  return out;
}

/** Index after the JSON string literal opening at `start`, or -1. */
function jsonStringEnd(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '"') return i + 1;
  }
  return -1;
}

/** One spelling per address: dotted quad for IPv4, RFC 5952 text for IPv6. */
export function canonicalIp(text: string): string | undefined {
  const t = text.trim();
  if (isIPv4(t)) return t;
  if (isIP(t) === 6) {
    try {
      return new URL(`http://[${t}]/`).hostname.slice(1, -1);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
