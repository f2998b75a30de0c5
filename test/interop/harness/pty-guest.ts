import { type ModemPort, openSerialPort } from '../../../src/modem/port.js';
import { type PtyPair, startPtyPair } from './pty-pair.js';
import { startUmlPeer, type UmlPeer, type UmlPeerOptions } from './uml.js';

/**
 * A UML peer whose serial line (pppd's ttyS0) is wired to one end of a pty pair (socat): a
 * program given `device`, the other end, talks PPP to the guest's pppd as over a cable.
 */
export interface PtyGuest {
  guest: UmlPeer;
  /** The pty for the program under test. */
  device: string;
  /** Waits (bounded, and quietly on timeout) until pppd has its line up for the next session. */
  nextSession(): Promise<void>;
  /** Closes our end, the pty pair and the guest. */
  stop(): Promise<void>;
}

export async function startPtyGuest(options: UmlPeerOptions): Promise<PtyGuest> {
  const guest = await startUmlPeer(options);
  let pty: PtyPair | undefined;
  let wire: ModemPort | undefined;
  const stop = async () => {
    await wire?.close();
    await pty?.stop();
    await guest.stop();
  };
  try {
    pty = await startPtyPair();
    wire = await openSerialPort({ path: pty.a });
  } catch (err) {
    await stop();
    throw err;
  }
  const line = wire.stream;
  line.on('data', (b: Buffer) => guest.serial.write(b));
  guest.serial.on('data', (b: Buffer) => line.write(b));
  return {
    guest,
    device: pty.b,
    nextSession: async () => {
      const mark = guest.logMark();
      if (/Connect: ppp\d/.test(guest.pppdLog().split('\n').at(-1) ?? '')) return;
      await guest.waitForLog(/Connect: ppp\d <--> \/dev\/ttyS0/, 15_000, mark).catch(() => undefined);
    },
    stop,
  };
}
