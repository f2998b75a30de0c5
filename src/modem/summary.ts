import {
  type AccessTechnology,
  isRegistered,
  type Registration,
  type RegistrationDomain,
  type RegistrationState,
} from './parse/registration.js';
import type { Cesq, Csq } from './parse/signal.js';

/**
 * The driver's view of a modem's registration, signal and identity, combined from the
 * individual 27.007 answers.
 */
export interface RegistrationSummary {
  state: RegistrationState;
  act: AccessTechnology | null;
  /** LAC (2G/3G) or TAC (LTE/NR), upper-case hex without 0x. */
  lac: string | null;
  ci: string | null;
  /** The domain the summary was taken from. */
  domain: RegistrationDomain | null;
  /** Every domain's last known registration. */
  domains: Partial<Record<RegistrationDomain, Registration>>;
}

/** Packet domains first: data needs PS/EPS/5GS; a data-only SIM may be denied CS service. */
const PREFERENCE: readonly RegistrationDomain[] = ['5gs', 'eps', 'ps', 'cs'];

export function summariseRegistration(
  domains: Partial<Record<RegistrationDomain, Registration>>,
): RegistrationSummary {
  const known = PREFERENCE.map((d) => domains[d]).filter((r): r is Registration => r !== undefined);
  const registered = known.find((r) => isRegistered(r.state));
  let chosen: Registration | undefined = registered;
  let state: RegistrationState;
  if (registered) {
    state = registered.state;
  } else if (known.some((r) => r.state === 'searching')) {
    state = 'searching';
    chosen = known.find((r) => r.state === 'searching');
  } else if (known.some((r) => r.state === 'denied')) {
    state = 'denied';
    chosen = known.find((r) => r.state === 'denied');
  } else if (known.some((r) => r.state === 'not-registered')) {
    state = 'not-registered';
    chosen = known.find((r) => r.state === 'not-registered');
  } else {
    state = 'unknown';
    chosen = known[0];
  }
  const withLocation = chosen?.lac ? chosen : known.find((r) => r.lac !== null && isRegistered(r.state));
  const act =
    chosen?.act ?? (registered ? (known.find((r) => isRegistered(r.state) && r.act)?.act ?? null) : null);
  return {
    state,
    act,
    lac: withLocation?.lac ?? null,
    ci: withLocation?.ci ?? null,
    domain: chosen?.domain ?? null,
    domains: { ...domains },
  };
}

export interface SignalInfo {
  rssiDbm: number | null;
  /** 0..5 */
  bars: number;
  csq: Csq | null;
  cesq: Cesq | null;
}

export interface OperatorInfo {
  /** Long alphanumeric name. */
  name: string | null;
  /** MCC and MNC. */
  mccmnc: string | null;
  act: AccessTechnology | null;
}

export interface ModemIdentity {
  manufacturer: string | null;
  model: string | null;
  revision: string | null;
  imei: string | null;
}

/** What `cellstack info --json` prints: null where the modem does not say. */
export interface ModemInfo {
  manufacturer: string | null;
  model: string | null;
  revision: string | null;
  imei: string | null;
  imsi: string | null;
  iccid: string | null;
  /** The +CPIN state as the modem says it (`READY`, `SIM PIN`, `SIM PUK`, `NOT INSERTED`). */
  sim: string | null;
  registration: {
    state: RegistrationState;
    act: AccessTechnology | null;
    lac: string | null;
    ci: string | null;
  };
  signal: { rssiDbm: number | null; bars: number };
  operator: { name: string | null; mccmnc: string | null };
}
