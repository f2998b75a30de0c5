import { type Clock, sleep, type TimerHandle } from '../util/clock.js';
import { createLogger } from '../util/log.js';
import type { AtChannel } from './channel.js';
import { ModemError } from './errors.js';
import type { ModemPort } from './port.js';

const log = createLogger('modem:call');

export interface CallControlOptions {
  port: ModemPort;
  channel: AtChannel;
  clock: Clock;
  /** S12 guard time of the `+++` escape, in milliseconds. */
  guardMs: number;
  /** How often DCD is read during a call; 0 turns it off. */
  dcdPollMs: number;
  /** Brings the modem back to answering AT (the Modem's sync). */
  sync(options: { attempts: number; timeoutMs: number }): Promise<void>;
  /** Sends a command whose failure does not matter. */
  optional(command: string): Promise<void>;
}

/**
 * Ending a data call and watching it: hang-up by DTR (V.250 clause 6.2.9, &D2) where the
 * port can set it, otherwise the Hayes escape (guard time, `+++`, guard time) and ATH
 * (V.250 clause 6.3.6); each verified by AT answering again. DCD (circuit 109) is polled
 * during a call where the port reports it, as a second way to notice a lost call.
 */
export class CallControl {
  private dcdTimer: TimerHandle | undefined;

  constructor(private readonly o: CallControlOptions) {}

  /** Ends the call that the channel is in data mode for. */
  async hangUp(): Promise<void> {
    this.stopWatching();
    if (this.o.port.setDtr && (await this.dtrHangUp())) return;
    await this.escapeAndHangUp();
  }

  /** A silent modem may be in a call left by a crashed process: DTR, or escape and ATH. */
  async recover(): Promise<void> {
    const { port, clock, channel } = this.o;
    log('the modem is silent; it may be in data mode: trying to bring it back');
    if (port.setDtr) {
      try {
        await port.setDtr(false);
        await sleep(clock, 500);
        await port.setDtr(true);
        await sleep(clock, 200);
        await channel.command('AT', { timeoutMs: 1000 });
        return;
      } catch (err) {
        log('DTR recovery: %s', (err as Error).message);
      }
    }
    if (await this.escape()) await this.o.optional('ATH');
  }

  /** Starts polling DCD; a drop after it was seen up ends the call. */
  watchCarrier(): void {
    const { port, clock, channel, dcdPollMs } = this.o;
    if (!port.getSignals || dcdPollMs <= 0) return;
    const getSignals = port.getSignals.bind(port);
    let sawCarrier = false;
    const poll = (): void => {
      this.dcdTimer = undefined;
      getSignals().then(
        (s) => {
          if (channel.mode !== 'data') return;
          if (s.dcd) sawCarrier = true;
          else if (sawCarrier) {
            log('DCD dropped: the call has ended');
            channel.carrierLost();
            return;
          } else {
            return; // DCD never rose: this port or modem does not report it
          }
          this.dcdTimer = clock.setTimer(poll, dcdPollMs);
        },
        () => undefined, // the port cannot read modem lines (a pty)
      );
    };
    this.dcdTimer = clock.setTimer(poll, dcdPollMs);
  }

  stopWatching(): void {
    if (this.dcdTimer) this.o.clock.clearTimer(this.dcdTimer);
    this.dcdTimer = undefined;
  }

  private async dtrHangUp(): Promise<boolean> {
    const { port, clock, channel } = this.o;
    const setDtr = port.setDtr!.bind(port);
    try {
      await setDtr(false);
    } catch (err) {
      log('DTR cannot be set on %s (%s); using the +++ escape', port.path, (err as Error).message);
      return false;
    }
    channel.leaveDataMode();
    await sleep(clock, 500);
    await setDtr(true).catch(() => undefined);
    try {
      await this.o.sync({ attempts: 3, timeoutMs: 1000 });
      log('hung up by DTR');
      return true;
    } catch {
      log('the modem did not answer after DTR; using the +++ escape');
      return false;
    }
  }

  private async escapeAndHangUp(): Promise<void> {
    const escaped = await this.escape();
    if (!escaped) throw new ModemError('HANGUP_FAILED', 'the modem did not leave data mode after +++');
    try {
      await this.o.channel.command('ATH', { timeoutMs: 20_000 });
    } catch (err) {
      // Some modems answer ATH after a lost call with NO CARRIER; the AT below is the check.
      log('ATH: %s', (err as Error).message);
    }
    try {
      await this.o.sync({ attempts: 3, timeoutMs: 1000 });
    } catch (err) {
      throw new ModemError('HANGUP_FAILED', 'the modem does not answer AT after hang-up', { error: err });
    }
    log('hung up by +++ and ATH');
  }

  /**
   * The Hayes escape to online command state: guard time of silence, `+++`, guard time;
   * the modem answers OK (or NO CARRIER if the call is gone).
   */
  private async escape(): Promise<boolean> {
    const { channel, clock, guardMs } = this.o;
    channel.leaveDataMode();
    for (let attempt = 0; attempt < 2; attempt++) {
      await sleep(clock, guardMs + 100);
      try {
        await channel.command('+++', { raw: true, timeoutMs: guardMs * 2 + 1500 });
        return true;
      } catch (err) {
        if (err instanceof ModemError && err.code === 'NO_CARRIER') return true;
        if (err instanceof ModemError && err.code === 'CLOSED') throw err;
        log('escape attempt %d: %s', attempt + 1, (err as Error).message);
      }
    }
    return false;
  }
}
