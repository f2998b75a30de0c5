export { CarrierWatch } from './carrier-watch.js';
export { AtChannel, type AtChannelOptions, type CommandOptions } from './channel.js';
export {
  AtChannelCore,
  type AtChannelCoreOptions,
  type AtChannelEvent,
  type AtChannelStats,
  type AtResponse,
  type ChannelMode,
} from './channel-core.js';
export { CME_ERRORS, cmeCause, cmeText } from './cme.js';
export { type AtCommandRequest, defaultTimeoutMs, responsePrefixes } from './command.js';
export { DataStream } from './data-stream.js';
export {
  classifyPorts,
  type DiscoveredModem,
  discoverModems,
  interfaceFromPnpId,
  listFromSysfs,
  listSerialPorts,
  type SerialPortInfo,
} from './discovery.js';
export { ModemError, type ModemErrorCode } from './errors.js';
export {
  type ApnOptions,
  type DialOptions,
  Modem,
  type ModemEvents,
  type ModemOptions,
  type RegistrationWaitOptions,
  type UnlockOptions,
} from './modem.js';
export { type OpenModemOptions, openModem, openPort } from './open.js';
export * from './parse/index.js';
export { type ModemPort, type ModemSignals, openSerialPort, type SerialPortOptions } from './port.js';
export { recordPort } from './record.js';
export { type ReplayMismatch, type ReplayOptions, ReplayPort } from './replay.js';
export { type FinalKind, type FinalResult, finalResult } from './result-codes.js';
export type {
  ModemIdentity,
  ModemInfo,
  OperatorInfo,
  RegistrationSummary,
  SignalInfo,
} from './summary.js';
export { summariseRegistration } from './summary.js';
export { matchUrc, STANDARD_URCS, type Urc, type UrcKind, type UrcMatcher } from './urc.js';
export {
  GENERIC,
  HUAWEI,
  type IccidQuery,
  type PinRetryQuery,
  profileByName,
  profileForManufacturer,
  QUECTEL,
  SIMCOM,
  UBLOX,
  type UsbModel,
  VENDOR_PROFILES,
  type VendorName,
  type VendorProfile,
} from './vendors.js';
