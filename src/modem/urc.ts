import { fieldsOf, intField } from './parse/fields.js';
import {
  type AccessTechnology,
  parseRegistration,
  type Registration,
  type RegistrationDomain,
} from './parse/registration.js';
import { csqToDbm, dbmToBars } from './parse/signal.js';
import { parseCpin } from './parse/sim.js';

/**
 * Unsolicited result codes (V.250 clause 5.7.3; 27.007 and vendor manuals). They can arrive
 * at any time, including between a command and its final result code; the channel recognises
 * them by the table below and emits them as typed events.
 */
interface UrcBase {
  /** The URC's name, e.g. `+CREG`, `^MODE`, `RING`, `RDY`. */
  name: string;
  /** The whole line as received. */
  line: string;
}

export type Urc = UrcBase &
  (
    | { kind: 'ring' }
    | { kind: 'no-carrier' }
    | { kind: 'registration'; domain: RegistrationDomain; registration: Registration }
    | { kind: 'sim-state'; state: string }
    | { kind: 'modem-ready' }
    | { kind: 'signal'; rssiDbm: number | null; bars: number }
    | { kind: 'access-technology'; act: AccessTechnology | null }
    | { kind: 'other' }
    | { kind: 'unknown' }
  );

export type UrcKind = Urc['kind'];

/** A recogniser of one URC: `test` looks at the trimmed line, `parse` builds the event. */
export interface UrcMatcher {
  name: string;
  test(line: string): boolean;
  parse?(line: string): Urc | undefined;
}

function prefixed(name: string, parse?: (line: string) => Urc | undefined): UrcMatcher {
  const re = new RegExp(`^${name.replace(/[+^$*]/g, '\\$&')}\\s*:`, 'i');
  const m: UrcMatcher = { name, test: (line) => re.test(line) };
  if (parse) m.parse = parse;
  return m;
}

function exact(name: string, kind: 'ring' | 'no-carrier' | 'modem-ready' | 'other'): UrcMatcher {
  const upper = name.toUpperCase();
  return {
    name,
    test: (line) => line.toUpperCase() === upper,
    parse: (line) => ({ kind, name, line }),
  };
}

const registration = (line: string): Urc | undefined => {
  const r = parseRegistration(line, 'unsolicited');
  if (!r) return undefined;
  return {
    kind: 'registration',
    name: line.slice(0, line.indexOf(':')).trim().toUpperCase(),
    line,
    domain: r.domain,
    registration: r,
  };
};

/** Huawei ^MODE: <sys_mode>,<sys_submode> (Huawei AT interface specification). */
function huaweiMode(line: string): Urc {
  const f = fieldsOf(line, '^MODE');
  const sysMode = intField(f[0]);
  const sub = intField(f[1]);
  return { kind: 'access-technology', name: '^MODE', line, act: huaweiSubmode(sysMode, sub) };
}

export function huaweiSubmode(sysMode: number | null, sub: number | null): AccessTechnology | null {
  if (sysMode === 0) return null;
  switch (sub) {
    case 1:
      return 'gsm';
    case 3:
      return 'edge';
    case 2:
      return 'gprs';
    case 4:
      return 'umts';
    case 5:
      return 'hsdpa';
    case 6:
      return 'hsupa';
    case 7:
      return 'hspa';
    case 9:
    case 17:
    case 18:
      return 'hspa+';
    default:
      if (sysMode === 7 && sub === null) return 'lte';
      if (sysMode === 3) return 'gsm';
      if (sysMode === 5) return 'umts';
      return null;
  }
}

/**
 * Huawei `^HCSQ: <sysmode>,<value1>,...`: the first value is the RSSI as 0..96 above -120 dBm
 * for GSM, WCDMA and LTE (Huawei AT interface specification; ModemManager reads it so).
 */
function huaweiHcsq(line: string): Urc {
  const f = fieldsOf(line, '^HCSQ');
  const v = intField(f[1]);
  const dbm = v !== null && v <= 96 ? -120 + v : null;
  return { kind: 'signal', name: '^HCSQ', line, rssiDbm: dbm, bars: dbmToBars(dbm) };
}

function signalUrc(name: string, line: string, csq: number | null): Urc {
  const dbm = csq === null ? null : csqToDbm(csq);
  return { kind: 'signal', name, line, rssiDbm: dbm, bars: dbmToBars(dbm) };
}

/** The built-in table. Vendor profiles may add their own matchers in front of it. */
export const STANDARD_URCS: readonly UrcMatcher[] = [
  exact('RING', 'ring'),
  exact('NO CARRIER', 'no-carrier'),
  prefixed('+CREG', registration),
  prefixed('+CGREG', registration),
  prefixed('+CEREG', registration),
  prefixed('+C5GREG', registration),
  prefixed('+CPIN', (line) => {
    const state = parseCpin(line);
    return state === undefined ? undefined : { kind: 'sim-state', name: '+CPIN', line, state };
  }),
  // Readiness after boot: Quectel/SIMCom `RDY`, SIMCom `Call Ready`/`SMS Ready`, Quectel and
  // SIMCom `PB DONE`, Cinterion/Telit `^SYSSTART`, Sierra `*ATREADY`.
  exact('RDY', 'modem-ready'),
  exact('Call Ready', 'modem-ready'),
  exact('SMS Ready', 'modem-ready'),
  exact('PB DONE', 'modem-ready'),
  exact('^SYSSTART', 'modem-ready'),
  prefixed('*ATREADY', (line) => ({ kind: 'modem-ready', name: '*ATREADY', line })),
  exact('+PBREADY', 'modem-ready'),
  prefixed('^RSSI', (line) => signalUrc('^RSSI', line, intField(fieldsOf(line, '^RSSI')[0]))),
  prefixed('^MODE', huaweiMode),
  prefixed('+QIND', (line) => {
    const f = fieldsOf(line, '+QIND');
    if (f[0]?.text.toLowerCase() === 'csq') return signalUrc('+QIND', line, intField(f[1]));
    return { kind: 'other', name: '+QIND', line };
  }),
  prefixed('^HCSQ', huaweiHcsq),
  exact('SMS DONE', 'other'),
  exact('NORMAL POWER DOWN', 'other'),
  exact('POWERED DOWN', 'other'),
  exact('UNDER-VOLTAGE WARNNING', 'other'), // sic: SIM800 spelling
  exact('UNDER-VOLTAGE POWER DOWN', 'other'),
  exact('OVER-VOLTAGE WARNNING', 'other'),
  ...[
    '^BOOT',
    '^SRVST',
    '^SIMST',
    '^SYSINFOEX',
    '^DSFLOWRPT',
    '^CERSSI',
    '^NDISSTAT',
    '^NDISSTATQRY',
    '*RADIOPOWER',
    '^EONS',
    '^STIN',
    '^NWTIME',
    '^CSNR',
    '+CGEV',
    '+CMTI',
    '+CMT',
    '+CDS',
    '+CBM',
    '+CUSD',
    '+CIEV',
    '+CFUN',
    '+CRING',
    '+CLIP',
    '+CCWA',
    '+CTZV',
    '+CTZE',
    '+CTZU',
    '+CSQN',
    '+QUSIM',
    '+QSIMSTAT',
    '+QNETDEVSTATUS',
    '+CPSI',
    '+PACSP',
    '+STIN',
    '+UUPSDA',
    '+UUPSDD',
    '+UUSORD',
    '+UUSOCL',
    '+UMWI',
    '+QIURC',
    '+CNTP',
    '+APPRDY',
  ].map((name) => prefixed(name)),
];

/**
 * Recognises a line as a URC. Returns `undefined` when the line is not in the table; the
 * channel then treats it as part of the response in flight, or as an `unknown` URC when
 * no command is in flight.
 */
export function matchUrc(line: string, matchers: readonly UrcMatcher[] = STANDARD_URCS): Urc | undefined {
  for (const m of matchers) {
    if (!m.test(line)) continue;
    const parsed = m.parse?.(line);
    if (parsed) return parsed;
    return { kind: 'other', name: m.name, line };
  }
  return undefined;
}

/** The `+NAME` of a line, for unknown URCs. */
export function urcName(line: string): string {
  const m = /^([+^$*#%!]?[A-Za-z0-9_ -]+?)\s*:/.exec(line);
  return m ? m[1]!.toUpperCase() : line.toUpperCase();
}
