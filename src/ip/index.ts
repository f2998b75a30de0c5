export { internetChecksum } from './checksum.js';
export { emitIcmp, IcmpType, parseIcmp } from './icmp.js';
export { emitIpv4Packet, IpProtocol, type Ipv4Packet, parseIpv4Packet } from './ipv4.js';
export { type IpLink, NetStack, NetworkError, type PingOptions, type PingResult } from './stack.js';
export { IpStackCore, type IpStackStats } from './stack-core.js';
