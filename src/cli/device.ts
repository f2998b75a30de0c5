import { type Modem, openModem } from '../index.js';
import type { DeviceArgs } from './args.js';

/** Opens the modem named on the command line and unlocks its SIM when a PIN was given. */
export async function openFromArgs(args: DeviceArgs, options: { initialize?: boolean } = {}): Promise<Modem> {
  const o: Parameters<typeof openModem>[0] = { path: args.path, initialize: options.initialize ?? true };
  if (args.baudRate !== undefined) o.baudRate = args.baudRate;
  if (args.rtscts !== undefined) o.rtscts = args.rtscts;
  if (args.record !== undefined) o.record = args.record;
  const modem = await openModem(o);
  if (args.pin !== undefined && options.initialize !== false) {
    try {
      await modem.unlock(args.pin, { force: args.forcePin });
    } catch (err) {
      await modem.close().catch(() => undefined);
      throw err;
    }
  }
  return modem;
}
