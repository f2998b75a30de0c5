/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of the
 * data as 16-bit big-endian words. One place for IPv4, ICMP, UDP and TCP.
 */
export function onesSum(data: Uint8Array, start = 0, end = data.length, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (i < end) sum += data[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function internetChecksum(data: Uint8Array, start = 0, end = data.length, initial = 0): number {
  return ~onesSum(data, start, end, initial) & 0xffff;
}

/**
 * The sum of the pseudo-header TCP and UDP checksums cover (RFC 768, RFC 9293 section 3.1):
 * source and destination address, zero, protocol, and the TCP/UDP length.
 */
export function pseudoHeaderSum(
  source: number,
  destination: number,
  protocol: number,
  length: number,
): number {
  return (
    (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + protocol + length
  );
}
