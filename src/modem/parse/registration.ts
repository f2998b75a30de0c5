import { type Field, fieldsOf, hexField, intField } from './fields.js';

/**
 * Network registration: +CREG (circuit switched), +CGREG (GPRS), +CEREG (EPS), +C5GREG (5GS),
 * 3GPP TS 27.007 clauses 7.2, 10.1.20, 10.1.22 and 10.1.49.
 */
export type RegistrationDomain = 'cs' | 'ps' | 'eps' | '5gs';

export const REGISTRATION_COMMANDS: Readonly<Record<RegistrationDomain, string>> = {
  cs: '+CREG',
  ps: '+CGREG',
  eps: '+CEREG',
  '5gs': '+C5GREG',
};

export type RegistrationState = 'home' | 'roaming' | 'searching' | 'denied' | 'not-registered' | 'unknown';

export type AccessTechnology =
  | 'gsm'
  | 'gprs'
  | 'edge'
  | 'umts'
  | 'hsdpa'
  | 'hsupa'
  | 'hspa'
  | 'hspa+'
  | 'lte'
  | 'nr';

export interface Registration {
  /** The registration domain the line came from. */
  domain: RegistrationDomain;
  /** `<stat>` as the modem sent it. */
  stat: number;
  state: RegistrationState;
  /** Location area code (CS/PS) or tracking area code (EPS/5GS), upper-case hex. */
  lac: string | null;
  /** Cell identity, upper-case hex. */
  ci: string | null;
  /** `<AcT>` as the modem sent it. */
  actRaw: number | null;
  act: AccessTechnology | null;
  /** `<n>` of a solicited (read command) response. */
  n?: number;
}

/** `<stat>` to a state (27.007 clause 7.2; 6..10 are the SMS-only and CSFB variants). */
export function registrationState(stat: number): RegistrationState {
  switch (stat) {
    case 1:
    case 6:
    case 9:
      return 'home';
    case 5:
    case 7:
    case 10:
      return 'roaming';
    case 2:
      return 'searching';
    case 3:
      return 'denied';
    case 0:
    case 8:
      return 'not-registered';
    default:
      return 'unknown';
  }
}

/**
 * `<AcT>` (27.007 clause 7.3) to an access technology. In the packet domain a GSM cell
 * carries GPRS, so AcT 0 there reads as `gprs`.
 */
export function accessTechnology(act: number | null, domain?: RegistrationDomain): AccessTechnology | null {
  switch (act) {
    case 0:
    case 1:
      return domain === 'ps' ? 'gprs' : 'gsm';
    case 2:
      return 'umts';
    case 3:
      return 'edge';
    case 4:
      return 'hsdpa';
    case 5:
      return 'hsupa';
    case 6:
      return 'hspa';
    case 7:
    case 9:
    case 10:
      return 'lte';
    case 8:
      return 'gsm'; // EC-GSM-IoT
    case 11:
    case 12:
    case 13:
      return 'nr';
    default:
      return null;
  }
}

export function isRegistered(state: RegistrationState): boolean {
  return state === 'home' || state === 'roaming';
}

const NAME_TO_DOMAIN: Readonly<Record<string, RegistrationDomain>> = {
  '+CREG': 'cs',
  '+CGREG': 'ps',
  '+CEREG': 'eps',
  '+C5GREG': '5gs',
};

/** The domain of a `+CREG:`-style line, or `undefined` if it is not one. */
export function registrationDomainOf(line: string): RegistrationDomain | undefined {
  const m = /^\s*(\+C(?:5G|G|E)?REG)\s*:/i.exec(line);
  return m ? NAME_TO_DOMAIN[m[1]!.toUpperCase()] : undefined;
}

/**
 * Parses a registration line. `form` says whether it answers a read command (`<n>` first) or
 * is unsolicited (`<stat>` first); when not given, the form is inferred: an unsolicited line's
 * second field is a (usually quoted, hex) area code, a solicited line's is a small `<stat>`.
 * Returns `undefined` when the line is not a registration line or has no usable `<stat>`.
 */
export function parseRegistration(
  line: string,
  form?: 'solicited' | 'unsolicited',
): Registration | undefined {
  const domain = registrationDomainOf(line);
  if (!domain) return undefined;
  const f = fieldsOf(line);
  if (f.length === 0) return undefined;
  // Some firmware (Altair LTE, Ericsson, Alcatel) puts <n> in front of unsolicited lines too: a small <n>, a
  // small <stat> and then an area code means the line carries <n> whatever it is.
  const solicited =
    form === 'solicited' ||
    (form === undefined && looksSolicited(f)) ||
    (form === 'unsolicited' &&
      f.length >= 4 &&
      isSmallStat(f[0]!) &&
      isSmallStat(f[1]!, f[0]) &&
      isAreaCode(f[2]!));
  let i = 0;
  let n: number | undefined;
  if (solicited) {
    const nv = intField(f[0]);
    if (nv !== null) n = nv;
    i = 1;
  }
  const stat = intField(f[i]);
  if (stat === null) return undefined;
  let rest = f.slice(i + 1);
  // Some +CEREG answers (Novatel, others in ModemManager's test data) carry an extra short
  // field between <tac> and <ci>: `+CEREG: 2,1, 1F00, 20 ,79D903 ,7`.
  if (domain === 'eps' && rest.length === 4 && rest[1]!.text.length <= 2 && rest[2]!.text.length > 2) {
    rest = [rest[0]!, rest[2]!, rest[3]!];
  }
  const lac = hexField(rest[0]);
  const ci = hexField(rest[1]);
  const actRaw = intField(rest[2]);
  const reg: Registration = {
    domain,
    stat,
    state: registrationState(stat),
    lac,
    ci,
    actRaw,
    act: accessTechnology(actRaw, domain),
  };
  if (n !== undefined) reg.n = n;
  return reg;
}

function looksSolicited(f: Field[]): boolean {
  if (f.length === 1) return false; // URC with n=1: +CREG: <stat>
  if (f.length === 2) return true; // +CREG: <n>,<stat>
  if (f.length === 3) {
    // URC +CREG: <stat>,<lac>,<ci>; a solicited line never has exactly 3 fields unless the
    // modem left the ci out, which shows as an unquoted small number in the second place.
    return isSmallStat(f[1]!, f[0]) && !isSmallStat(f[2]!) && f[2]!.quoted;
  }
  return isSmallStat(f[1]!, f[0]);
}

/**
 * An unquoted small number: `<n>` or `<stat>`. Some firmware zero-pads every number
 * (`+CREG:002,001,...`); a padded `<stat>` is accepted only after a padded `<n>`, since an
 * unquoted `0001` after a plain `<stat>` is an area code.
 */
function isSmallStat(field: Field, previous?: Field): boolean {
  if (field.quoted || !/^\d{1,4}$/.test(field.text) || Number(field.text) > 11) return false;
  if (field.text.length <= 2) return true;
  return previous !== undefined && previous.text.length >= 3 && previous.text.startsWith('0');
}

function isAreaCode(field: Field): boolean {
  return field.quoted || field.text.length >= 3;
}
