/**
 * The kernel's SNMP-style counters (/proc/net/snmp, /proc/net/netstat): pairs of lines, a
 * header `Group: Name1 Name2 ...` followed by `Group: v1 v2 ...`.
 */
export type NetCounters = Record<string, Record<string, number>>;

export interface TcpStats {
  /** RFC 4022 TCP-MIB counters: ActiveOpens, InSegs, OutSegs, RetransSegs, InErrs, OutRsts, ... */
  Tcp: Record<string, number>;
  /**
   * Linux extensions: TCPLostRetransmit, TCPFastRetrans, TCPSlowStartRetrans, TCPTimeouts,
   * TCPSACKRecovery, TCPRenoRecovery, TCPLossProbes, TCPDSACKRecv, TCPSpuriousRTOs, ...
   */
  TcpExt: Record<string, number>;
  /** Every group read: Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite, TcpExt, IpExt, MPTcpExt. */
  groups: NetCounters;
}

/** Parses the text of /proc/net/snmp and/or /proc/net/netstat (concatenated is fine). */
export function parseNetCounters(text: string): NetCounters {
  const out: NetCounters = {};
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  for (let i = 0; i + 1 < lines.length; i++) {
    const head = /^(\w+):\s+(.*)$/.exec(lines[i]!);
    const vals = /^(\w+):\s+(.*)$/.exec(lines[i + 1]!);
    if (!head || !vals || head[1] !== vals[1]) continue;
    const names = head[2]!.trim().split(/\s+/);
    const values = vals[2]!.trim().split(/\s+/);
    // A header line has names; a value line has numbers (some may be negative: Tcp MaxConn).
    if (!names.every((n) => /^[A-Za-z]/.test(n)) || !values.every((v) => /^-?\d+$/.test(v))) continue;
    if (names.length !== values.length) continue;
    const group = out[head[1]!] ?? {};
    out[head[1]!] = group;
    names.forEach((n, k) => {
      group[n] = Number(values[k]);
    });
    i++;
  }
  return out;
}

export function tcpStatsFrom(text: string): TcpStats {
  const groups = parseNetCounters(text);
  return { Tcp: groups['Tcp'] ?? {}, TcpExt: groups['TcpExt'] ?? {}, groups };
}

/** `after - before` for every counter of Tcp and TcpExt present in both (Tcp MaxConn etc. too). */
export function tcpStatsDelta(
  before: TcpStats,
  after: TcpStats,
): { Tcp: Record<string, number>; TcpExt: Record<string, number> } {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(b)
        .filter(([k]) => k in a)
        .map(([k, v]) => [k, v - a[k]!]),
    );
  return { Tcp: diff(before.Tcp, after.Tcp), TcpExt: diff(before.TcpExt, after.TcpExt) };
}
