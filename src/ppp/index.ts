export { ChapClient, chapMd5 } from './chap.js';
export { describeFrame } from './describe.js';
export { PppError, type PppErrorCode } from './errors.js';
export { emitPppFrame, type PppFrame, Protocol, parsePppFrame } from './frame.js';
export { Fsm, type FsmCallbacks, type FsmState } from './fsm.js';
export { HdlcDecoder, HdlcEncoder, type HdlcStats } from './hdlc.js';
export { Ipcp, type IpcpConfig, type IpcpResult } from './ipcp.js';
export { Lcp, type LcpAgreement, type LcpConfig } from './lcp.js';
export { type FrameTap, PppLink, type PppLinkEvents, type PppLinkOptions } from './link.js';
export {
  type PppConfig,
  PppCore,
  type PppEvent,
  type PppPhase,
  type PppStats,
  type PppUpInfo,
} from './link-core.js';
export { PapClient } from './pap.js';
export { openPppSession, type PppSession, type PppSessionOptions, type SessionPhase } from './session.js';
