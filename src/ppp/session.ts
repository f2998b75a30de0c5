import type { Duplex } from 'node:stream';
import type { Modem } from '../modem/modem.js';
import { openModem, openPort } from '../modem/open.js';
import type { ModemPort } from '../modem/port.js';
import type { Clock } from '../util/clock.js';
import { PppLink, type PppLinkOptions } from './link.js';
import type { PppUpInfo } from './link-core.js';

/**
 * From a device path to an IP link: the modem lifecycle (unlock, register, APN, attach,
 * dial), then PPP over the data stream; or, with `direct`, PPP at once on a line that speaks
 * it already. `close()` walks back down: LCP Terminate, hang-up, port closed.
 */
export type SessionPhase =
  | 'opening'
  | 'unlocking'
  | 'registering'
  | 'setting-apn'
  | 'attaching'
  | 'dialing'
  | 'connected'
  | 'establish'
  | 'authenticate'
  | 'network'
  | 'up';

export interface PppSessionOptions extends Omit<PppLinkOptions, 'clock'> {
  /** The modem's AT port, `sim`, or (with `direct`) a line that already speaks PPP. */
  path: string;
  baudRate?: number;
  rtscts?: boolean;
  /** Skip the AT stage: start LCP at once on the line. */
  direct?: boolean;
  /** Access point name; left as the modem has it when not given. */
  apn?: string;
  /** PDP context id, default 1. */
  cid?: number;
  pin?: string;
  forcePin?: boolean;
  /** Byte trace of the AT session. */
  record?: string;
  registrationTimeoutMs?: number;
  /** Time for PPP to come up after CONNECT. Default 60 s. */
  linkTimeoutMs?: number;
  clock?: Clock;
  onPhase?: (phase: SessionPhase, detail?: string) => void;
}

export interface PppSession {
  link: PppLink;
  info: PppUpInfo;
  /** The modem, unless `direct`. */
  modem: Modem | undefined;
  /** Terminates PPP, hangs up, closes the port. Safe to call twice. */
  close(): Promise<void>;
}

export async function openPppSession(options: PppSessionOptions): Promise<PppSession> {
  const phase = options.onPhase ?? (() => undefined);
  let modem: Modem | undefined;
  let port: ModemPort | undefined;
  let stream: Duplex;
  phase('opening', options.path);
  if (options.direct) {
    port = await openPort(options);
    stream = port.stream;
  } else {
    modem = await openModem({
      path: options.path,
      ...(options.baudRate === undefined ? {} : { baudRate: options.baudRate }),
      ...(options.rtscts === undefined ? {} : { rtscts: options.rtscts }),
      ...(options.record === undefined ? {} : { record: options.record }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    try {
      phase('unlocking');
      await modem.unlock(options.pin, { force: options.forcePin ?? false });
      phase('registering');
      const reg = await modem.waitForRegistration(
        options.registrationTimeoutMs === undefined ? {} : { timeoutMs: options.registrationTimeoutMs },
      );
      phase('registering', `${reg.state}${reg.act ? ` (${reg.act})` : ''}`);
      if (options.apn !== undefined) {
        phase('setting-apn', options.apn);
        await modem.setApn(options.apn, options.cid === undefined ? {} : { cid: options.cid });
      }
      phase('attaching');
      await modem.attach();
      phase('dialing');
      stream = await modem.dial(options.cid === undefined ? {} : { cid: options.cid });
      phase('connected');
    } catch (err) {
      await modem.close().catch(() => undefined);
      throw err;
    }
  }
  const {
    path: _p,
    direct: _d,
    apn: _a,
    cid: _c,
    pin: _pin,
    forcePin: _f,
    record: _r,
    onPhase: _o,
    ...linkOptions
  } = options;
  const link = new PppLink(stream, linkOptions);
  link.on('phase', (p) => {
    if (p === 'establish' || p === 'authenticate' || p === 'network') phase(p);
  });
  const teardownLine = async (): Promise<void> => {
    if (modem) {
      await modem.hangUp().catch(() => undefined);
      await modem.close().catch(() => undefined);
    } else {
      await port?.close().catch(() => undefined);
    }
  };
  let info: PppUpInfo;
  try {
    link.open();
    info = await link.waitUp(options.linkTimeoutMs ?? 60_000);
  } catch (err) {
    await link.close().catch(() => undefined);
    await teardownLine();
    throw err;
  }
  phase('up', `${info.localAddress} -> ${info.peerAddress}`);
  let closing: Promise<void> | undefined;
  return {
    link,
    info,
    modem,
    close: () => {
      closing ??= (async () => {
        await link.close();
        await teardownLine();
      })();
      return closing;
    },
  };
}
