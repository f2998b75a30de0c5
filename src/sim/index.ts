export { type SimCoreEvent, SimModemCore } from './at-core.js';
export { redactCommandLine } from './at-format.js';
export type { HangupReason } from './commands/index.js';
export {
  DEFAULT_LIMITS,
  DEFAULT_OPERATOR,
  type ResolvedSimConfig,
  resolveSimConfig,
  type SimAccessTechnology,
  type SimCardConfig,
  type SimFlavour,
  type SimIdentity,
  type SimLimits,
  type SimModemConfig,
  type SimNetworkConfig,
  type SimOperator,
  type SimPdpContextConfig,
  type SimRegistrationState,
  type SimRegistrationUpdate,
  type SimScanEntry,
  type SimScriptEntry,
  type SimTimelineAction,
  type SimTimelineEntry,
  type SimUrcConfig,
} from './config.js';
export { type DemoBroker, type DemoBrokerOptions, findMosquitto, startDemoBroker } from './demo-broker.js';
export { type DemoPki, type DemoPkiOptions, makeDemoPki } from './demo-pki.js';
export { createDuplexPair } from './duplex-pair.js';
export { FLAVOURS, type FlavourProfile } from './flavours.js';
export {
  SimGateway,
  type SimGatewayEvents,
  type SimGatewayOptions,
  type SimGatewayStats,
} from './gateway/gateway.js';
export {
  type GatewayConfig,
  GatewayCore,
  type GatewayEvent,
  type GatewayLimits,
  type GatewayStats,
} from './gateway/index.js';
export { isLuhnValid, luhnCheckDigit, withLuhn } from './luhn.js';
export {
  attachSimToSerialPort,
  createSimPair,
  type SerialSim,
  type SerialSimOptions,
  SimModem,
  type SimModemEvents,
  type SimModemOptions,
  type SimPair,
} from './modem.js';
export {
  type SimCallFault,
  SimNetworkSide,
  type SimNetworkSideEvents,
  type SimNetworkSideOptions,
  type SimNetworkSideStats,
} from './network-side.js';
export type { ModemPort } from './port.js';
export {
  type PeerAuthProtocol,
  type PeerAuthResult,
  type PeerDownReason,
  type PeerPhase,
  type PppPeerConfig,
  PppPeerCore,
  type PppPeerCredential,
  type PppPeerEvent,
  type PppPeerStats,
  type PppPeerUpInfo,
} from './ppp-peer/index.js';
export {
  LINK_PROFILES,
  type LinkProfile,
  type LinkProfileName,
  type LinkProfileSpec,
  type ResolvedLinkProfile,
  resolveProfile,
} from './profiles.js';
export { SimService, type SimServiceOptions } from './service.js';
export {
  type LinkDirection,
  type LinkFault,
  type LinkFaultKind,
  ShapedLink,
  type ShapedLinkEvents,
  type ShapedLinkStats,
  type ShapeLinkOptions,
  shapeLink,
} from './shaper.js';
export {
  type JitterDistribution,
  type LinkDirectionOptions,
  LinkShaperCore,
  type LinkShaperOptions,
  type LinkShaperStats,
  type ResolvedLinkDirection,
  resolveLinkDirection,
} from './shaper-core.js';
export type {
  SimCounters,
  SimMode,
  SimModemState,
  SimPdpContextState,
  SimRegistrationSnapshot,
  SimSimState,
  SimStatus,
} from './state.js';
