export { internetChecksum } from './checksum.js';
export * from './dns/index.js';
export { emitDestinationUnreachable, emitIcmp, IcmpType, parseIcmp, UnreachableCode } from './icmp.js';
export { emitIpv4Packet, IpProtocol, type Ipv4Packet, parseIpv4Packet } from './ipv4.js';
export {
  type IpLink,
  NetStack,
  type NetStackOptions,
  type NetStackStats,
  NetworkError,
  type PingOptions,
  type PingResult,
  type TcpConnectOptions,
} from './stack.js';
export { IpStackCore, type IpStackStats } from './stack-core.js';
export { emitUdpDatagram, MalformedUdp, parseUdpDatagram, type UdpDatagram } from './udp.js';
export { UdpError, type UdpErrorCode, UdpMux, type UdpStats } from './udp-mux.js';
export {
  type UdpAddressInfo,
  type UdpBindOptions,
  type UdpMessage,
  type UdpRemoteInfo,
  type UdpSendCallback,
  UdpSocket,
  type UdpSocketEvents,
} from './udp-socket.js';
