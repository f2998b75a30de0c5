export { type Cidr, inCidr, parseCidr } from './cidr.js';
export {
  DEFAULT_ALLOW,
  type GatewayConfig,
  type GatewayLimits,
  type ResolvedGatewayConfig,
  resolveGatewayConfig,
} from './config.js';
export { GatewayCore } from './core.js';
export { answerDnsQuery, type DnsOutcome, type DnsReply } from './dns-server.js';
export type { GatewayEvent, GatewayStats } from './events.js';
export {
  SimGateway,
  type SimGatewayEvents,
  type SimGatewayOptions,
  type SimGatewayStats,
} from './gateway.js';
