export type { PeerAuthResult } from './authenticator.js';
export type { PeerAuthProtocol, PppPeerConfig, PppPeerCredential } from './config.js';
export { PppPeerCore } from './core.js';
export type { PeerDownReason, PeerPhase, PppPeerEvent, PppPeerStats, PppPeerUpInfo } from './events.js';
