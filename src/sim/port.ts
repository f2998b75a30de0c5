/** The port interface the driver opens; the sim's in-process pair implements it. */
export type { ModemPort, ModemSignals } from '../modem/port.js';
