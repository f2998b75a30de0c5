/**
 * cellstack: a userspace cellular network stack for Node.js.
 *
 * The AT modem driver (src/modem), PPP (src/ppp), IPv4, ICMP, UDP and DNS (src/ip), TCP
 * (src/tcp), the TLS 1.2 client (the `tls` namespace), the MQTT client and its persistent
 * store (src/mqtt), and the built-in test modem (`cellstack/sim`).
 */
export * from './ip/index.js';
export * from './modem/index.js';
export * from './mqtt/index.js';
export * from './ppp/index.js';
export * as tls from './tls/index.js';
export { type Clock, sleep, systemClock, type TimerHandle, wallClock } from './util/clock.js';
export { CellstackError, ConfigError, MalformedPacket } from './util/errors.js';
export { formatIpv4, isIpv4, parseIpv4 } from './util/ipv4.js';
export { ManualClock } from './util/manual-clock.js';
export { parseTrace, type Trace, type TraceEvent, type TraceHeader } from './util/trace.js';
