import type { ResolvedSimConfig } from './config.js';
import type { SimSimState, SimStatus } from './state.js';

/** Attempts a SIM allows when its counters are full (the usual 3 for PINs, 10 for PUKs). */
export const PIN_RETRIES = 3;
export const PUK_RETRIES = 10;
/** PIN2/PUK2 are not used by the simulator, but the vendor counters report them. */
export const PIN2_RETRIES = PIN_RETRIES;
export const PUK2_RETRIES = PUK_RETRIES;

export type PinEntry = 'ok' | 'wrong' | 'not-needed' | 'need-puk' | 'bad-format';

/**
 * The SIM's lock: PIN with its retry counter, PUK with its own (3GPP TS 27.007 clause 8.3;
 * the counters are the ones of clause 8.65 and of the vendor commands). A wrong PIN costs one
 * attempt; at none left the SIM wants the PUK; a wrong PUK costs one PUK attempt, and at none
 * left the SIM is blocked for good (`+CME ERROR: 13`, SIM failure).
 */
export class SimCard {
  private pin: string | undefined;
  private readonly puk: string;
  private statusValue: SimStatus;
  private pinLeft: number;
  private pukLeft: number;

  constructor(private readonly config: ResolvedSimConfig['sim']) {
    this.pin = config.pin;
    this.puk = config.puk;
    this.pinLeft = config.pinRetries;
    this.pukLeft = config.pukRetries;
    this.statusValue = this.initialStatus();
  }

  get status(): SimStatus {
    return this.statusValue;
  }

  get ready(): boolean {
    return this.statusValue === 'ready';
  }

  get pinRetries(): number {
    return this.pinLeft;
  }

  get pukRetries(): number {
    return this.pukLeft;
  }

  snapshot(): SimSimState {
    return { status: this.statusValue, pinRetries: this.pinLeft, pukRetries: this.pukLeft };
  }

  /** Power cycle (CFUN=1,1): a PIN-protected SIM locks again; counters stay on the card. */
  powerOn(): void {
    if (this.statusValue === 'ready') this.statusValue = this.initialStatus();
  }

  /** The `<code>` of `+CPIN: <code>`, or the CME cause when the SIM cannot answer. */
  cpinCode(): string {
    switch (this.statusValue) {
      case 'pin':
        return 'SIM PIN';
      case 'puk':
        return 'SIM PUK';
      default:
        return 'READY';
    }
  }

  /**
   * 27.007 clause 9.2 cause that stops a command needing the SIM: 10 not inserted, 11 PIN
   * required, 12 PUK required, 13 failure (blocked); `undefined` when the SIM is ready.
   */
  blockingCause(): number | undefined {
    switch (this.statusValue) {
      case 'absent':
        return 10;
      case 'pin':
        return 11;
      case 'puk':
        return 12;
      case 'blocked':
        return 13;
      default:
        return undefined;
    }
  }

  /** `AT+CPIN=<pin>` */
  enterPin(pin: string): PinEntry {
    if (this.statusValue === 'ready') return 'not-needed';
    if (this.statusValue === 'puk') return 'need-puk';
    if (this.statusValue !== 'pin') return 'not-needed';
    if (!isPin(pin)) return 'bad-format';
    if (pin === this.pin) {
      this.pinLeft = PIN_RETRIES;
      this.statusValue = 'ready';
      return 'ok';
    }
    this.pinLeft = Math.max(0, this.pinLeft - 1);
    if (this.pinLeft === 0) this.statusValue = 'puk';
    return 'wrong';
  }

  /** `AT+CPIN=<puk>,<newpin>`: the PUK unblocks the SIM and sets a new PIN. */
  enterPuk(puk: string, newPin: string): PinEntry {
    if (this.statusValue === 'ready') return 'not-needed';
    if (this.statusValue !== 'puk') return this.statusValue === 'pin' ? this.enterPin(puk) : 'not-needed';
    if (!/^\d{8}$/.test(puk) || !isPin(newPin)) return 'bad-format';
    if (puk === this.puk) {
      this.pin = newPin;
      this.pinLeft = PIN_RETRIES;
      this.pukLeft = PUK_RETRIES;
      this.statusValue = 'ready';
      return 'ok';
    }
    this.pukLeft = Math.max(0, this.pukLeft - 1);
    if (this.pukLeft === 0) this.statusValue = 'blocked';
    return 'wrong';
  }

  private initialStatus(): SimStatus {
    if (!this.config.inserted) return 'absent';
    if (this.pukLeft === 0) return 'blocked';
    if (this.pinLeft === 0) return 'puk';
    return this.pin === undefined ? 'ready' : 'pin';
  }
}

/** A PIN is 4 to 8 digits (3GPP TS 31.101 / ETSI TS 102 221 clause 9.5.1). */
function isPin(text: string): boolean {
  return /^\d{4,8}$/.test(text);
}
