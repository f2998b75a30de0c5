export { ChapClient, chapMd5 } from './chap.js';
export { describeFrame } from './describe.js';
export { PppError, type PppErrorCode } from './errors.js';
export { emitPppFrame, type PppFrame, Protocol, parsePppFrame } from './frame.js';
export { Fsm, type FsmCallbacks, type FsmState } from './fsm.js';
export { HdlcDecoder, HdlcEncoder, type HdlcStats } from './hdlc.js';
export { Ipcp, type IpcpConfig, type IpcpResult, type IpcpVj } from './ipcp.js';
export { Lcp, type LcpAgreement, type LcpConfig } from './lcp.js';
export { type FrameTap, PppLink, type PppLinkEvents, type PppLinkOptions } from './link.js';
export {
  type PppConfig,
  PppCore,
  type PppEvent,
  type PppPhase,
  type PppStats,
  type PppUpInfo,
  type PppVjStats,
} from './link-core.js';
export { PapClient } from './pap.js';
export { openPppSession, type PppSession, type PppSessionOptions, type SessionPhase } from './session.js';
export { VjCompressor, type VjCompressorStats, type VjOutput } from './vj/compressor.js';
export {
  VjDecompressor,
  type VjDecompressorOptions,
  type VjDecompressorStats,
  type VjDrop,
} from './vj/decompressor.js';
export { type VjParams, VjProtocol } from './vj/wire.js';
