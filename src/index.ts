/**
 * cellstack: a userspace cellular network stack for Node.js.
 *
 * This release carries the AT modem driver (src/modem) and the built-in test modem
 * (`cellstack/sim`); PPP, IPv4, TCP, TLS and MQTT follow in the same package.
 */
export * from './modem/index.js';
export { type Clock, sleep, systemClock, type TimerHandle } from './util/clock.js';
export { CellstackError, ConfigError, MalformedPacket } from './util/errors.js';
export { ManualClock } from './util/manual-clock.js';
export { parseTrace, type Trace, type TraceEvent, type TraceHeader } from './util/trace.js';
