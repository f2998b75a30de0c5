export { type Field, fieldsOf, hexField, intField, parenGroups, splitFields, stripPrefix } from './fields.js';
export { parseIccid, parseIdentityText, parseImei, parseImsi } from './identity.js';
export {
  type CopsNetwork,
  type CopsStatus,
  type OperatorAvailability,
  parseCopsQuery,
  parseCopsTest,
} from './operator.js';
export { type PdpAddress, type PdpContext, parseCgatt, parseCgdcont, parseCgpaddr } from './pdp.js';
export {
  type AccessTechnology,
  accessTechnology,
  isRegistered,
  parseRegistration,
  REGISTRATION_COMMANDS,
  type Registration,
  type RegistrationDomain,
  type RegistrationState,
  registrationDomainOf,
  registrationState,
} from './registration.js';
export { type Cesq, type Csq, csqToDbm, dbmToBars, parseCesq, parseCsq, parseHuaweiRssi } from './signal.js';
export {
  type PinRetries,
  parseCpin,
  parseCpinr,
  parseHuaweiCpin,
  parseQuectelQpinc,
  parseSimcomSpic,
  parseUbloxUpincnt,
} from './sim.js';
