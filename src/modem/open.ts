import type { SimModemConfig } from '../sim/config.js';
import { ConfigError } from '../util/errors.js';
import { Modem, type ModemOptions } from './modem.js';
import { type ModemPort, openSerialPort } from './port.js';
import { recordPort } from './record.js';
import type { VendorName } from './vendors.js';

export interface OpenModemOptions extends ModemOptions {
  /**
   * The AT port: a device path (`/dev/ttyUSB2`), `sim` for the built-in test modem, or
   * `sim:<vendor>` (`sim:quectel`, `sim:huawei`, `sim:simcom`, `sim:ublox`) for one that
   * answers like that vendor's modems.
   */
  path: string;
  /** Serial speed, default 115200. Ignored by USB modems, which run at bus speed. */
  baudRate?: number;
  /** RTS/CTS flow control (UART modems). */
  rtscts?: boolean;
  /** Write a byte trace of the session to this file (JSON Lines, secrets masked). */
  record?: string;
  /** Synchronise and set the modem up (ATE0, +CMEE=2, profile). Default true. */
  initialize?: boolean;
  /** Settings of the built-in test modem when `path` is `sim...`. */
  sim?: SimModemConfig;
}

const SIM_VENDORS: readonly VendorName[] = ['generic', 'huawei', 'quectel', 'simcom', 'ublox'];

/** Opens the port, wraps it in a `Modem` and (by default) synchronises and initialises it. */
export async function openModem(options: OpenModemOptions): Promise<Modem> {
  const port = await openPort(options);
  const wrapped = options.record ? recordPort(port, options.record) : port;
  const modem = new Modem(wrapped, options);
  if (options.initialize !== false) {
    try {
      await modem.initialize();
    } catch (err) {
      await modem.close().catch(() => undefined);
      throw err;
    }
  }
  return modem;
}

/** Opens a serial device or the built-in test modem. */
export async function openPort(
  options: Pick<OpenModemOptions, 'path' | 'baudRate' | 'rtscts' | 'sim'>,
): Promise<ModemPort> {
  const path = options.path;
  if (path === 'sim' || path.startsWith('sim:')) {
    const vendor = (path === 'sim' ? 'generic' : path.slice(4)) as VendorName;
    if (!SIM_VENDORS.includes(vendor)) {
      throw new ConfigError(`unknown sim vendor "${vendor}" (one of ${SIM_VENDORS.join(', ')})`);
    }
    const sim = await import('../sim/index.js');
    // A modem that has been powered for a while is registered already; the sim behind
    // `--device sim` starts that way unless told otherwise. Behind its CONNECT is the virtual
    // network (PPP peer, gateway to this machine's loopback), as `cellstack sim` serves it.
    const config = { ...options.sim, vendor } as SimModemConfig;
    config.network = { registerAfterMs: 0, ...config.network };
    const service = new sim.SimService({ modem: config });
    const port = service.port();
    return {
      ...port,
      close: async () => {
        await port.close();
        service.close();
      },
    };
  }
  if (path.length === 0) throw new ConfigError('no device given');
  const o: { path: string; baudRate?: number; rtscts?: boolean } = { path };
  if (options.baudRate !== undefined) o.baudRate = options.baudRate;
  if (options.rtscts !== undefined) o.rtscts = options.rtscts;
  return openSerialPort(o);
}
