import type { RegistrationDomain } from '../modem/parse/registration.js';
import { ConfigError } from '../util/errors.js';
import { FLAVOURS, type FlavourProfile, type SimFlavour } from './flavours.js';
import type { SimModemState } from './state.js';

export type { SimFlavour } from './flavours.js';

/** What the network answers to registration, as `<stat>` of 27.007 clause 7.2 says it. */
export type SimRegistrationState = 'home' | 'roaming' | 'denied' | 'searching' | 'not-registered';

/** Radio access technology the virtual cell uses; mapped to `<AcT>` of 27.007 clause 7.3. */
export type SimAccessTechnology = 'gsm' | 'gprs' | 'edge' | 'umts' | 'hspa' | 'lte' | 'nr';

export interface SimOperator {
  /** Long alphanumeric name (`+COPS` `<format>` 0). */
  long: string;
  /** Short alphanumeric name (`<format>` 1). */
  short: string;
  /** MCC and MNC digits (`<format>` 2), e.g. `00101`. */
  numeric: string;
}

/** One entry of the `AT+COPS=?` list besides the serving network. */
export interface SimScanEntry extends SimOperator {
  /** `<stat>` of 27.007 clause 7.3: 0 unknown, 1 available, 2 current, 3 forbidden. */
  stat: 0 | 1 | 2 | 3;
  act: SimAccessTechnology;
}

export interface SimIdentity {
  /** `AT+CGMI` / `AT+GMI` (27.007 clause 5.1). */
  manufacturer: string;
  /** `AT+CGMM` / `AT+GMM` (clause 5.2). */
  model: string;
  /** `AT+CGMR` / `AT+GMR` (clause 5.3). */
  revision: string;
  /** `AT+CGSN` / `AT+GSN` (clause 5.4): 15 digits ending in the Luhn check digit. */
  imei: string;
}

export interface SimCardConfig {
  /** Whether a SIM is in the slot. Without one, SIM commands answer `+CME ERROR: 10`. Default true. */
  inserted?: boolean;
  /** The SIM PIN. When set, the SIM starts locked (`+CPIN: SIM PIN`). Default: no PIN lock. */
  pin?: string;
  /** The PUK that unblocks the SIM after the PIN retries are used up. Default `12345678`. */
  puk?: string;
  /** PIN attempts left at boot (27.007 clause 8.65 `<retries>`), 0..3. Default 3. */
  pinRetries?: number;
  /** PUK attempts left at boot, 0..10. Default 10. */
  pukRetries?: number;
  /** `AT+CIMI` (27.007 clause 5.6). Default `001010123456789` (test PLMN 001/01). */
  imsi?: string;
  /** The ICCID digits (ITU-T E.118) with their Luhn check digit. Default `8988211000000123458`. */
  iccid?: string;
}

export interface SimNetworkConfig {
  /** Where registration ends up. Default `home`. */
  registration?: SimRegistrationState;
  /**
   * Milliseconds from boot (or from SIM unlock, or `AT+CFUN=1`) during which the modem is
   * `searching` (stat 2) before `registration` applies. Default 1500.
   */
  registerAfterMs?: number;
  /** Default `lte`. */
  act?: SimAccessTechnology;
  /** Location area code of GERAN/UTRAN cells (16 bits). Default 0x1A2B. */
  lac?: number;
  /** Tracking area code of E-UTRAN/NR cells. Default 0x3C4D. */
  tac?: number;
  /** Cell identity (16 bits on GSM, 28 bits on UMTS/LTE). Default 0x01A2B3C4. */
  ci?: number;
  /** Serving operator. Default `Cellstack Test Network` / `Cellstack` / `00101`. */
  operator?: Partial<SimOperator>;
  /** `<rssi>` of `+CSQ` (0..31, 99 unknown). Default 20. */
  csq?: number;
  /** `<ber>` of `+CSQ` (0..7, 99 unknown). Default 99 (LTE has no BER). */
  ber?: number;
  /**
   * Registration commands the modem has (+CREG cs, +CGREG ps, +CEREG eps, +C5GREG 5gs);
   * the others answer ERROR. Default from the flavour (2G modules such as SIM800: cs, ps).
   */
  domains?: readonly RegistrationDomain[];
  /** Other networks listed by `AT+COPS=?`. Default: one available, one forbidden. */
  otherNetworks?: readonly SimScanEntry[];
  /** How long `AT+COPS=?` takes, in milliseconds. Default 2500. */
  scanMs?: number;
}

/** A defined PDP context (27.007 clause 10.1.1). */
export interface SimPdpContextConfig {
  cid: number;
  /** `IP`, `IPV6`, `IPV4V6` or `PPP`. */
  pdpType: string;
  apn: string;
}

/** A canned answer, consulted before the built-in commands. */
export interface SimScriptEntry {
  /**
   * Matched against one command of a command line without its `AT` prefix, e.g. `+CSQ`,
   * `+CGDCONT=1,"IP","apn"`, `E0`, `D*99#`. A string matches case-insensitively and whole
   * (a leading `AT` in it is ignored); a RegExp is tested against the command text.
   */
  match: string | RegExp;
  /** Information text lines, or a function of the command text and the modem state. */
  reply: readonly string[] | ((command: string, state: SimModemState) => readonly string[]);
  /**
   * The final result code. Default `OK`. Anything else (`ERROR`, `+CME ERROR: 10`, `NO CARRIER`)
   * ends the command line; `CONNECT...` also enters data mode; `''` sends no final result
   * at all (a modem that hangs).
   */
  final?: string;
  /** Answer only after this many milliseconds (input is held meanwhile). Default 0. */
  delayMs?: number;
  /** Use this entry this many times, then fall through. Default: always. */
  times?: number;
}

export type SimTimelineAction =
  | { type: 'urc'; line: string }
  | ({ type: 'registration' } & SimRegistrationUpdate)
  | { type: 'signal'; csq: number; ber?: number }
  | { type: 'drop-carrier' }
  | { type: 'network-data'; bytes: Uint8Array };

export interface SimTimelineEntry {
  /** Milliseconds after the core was created. */
  atMs: number;
  action: SimTimelineAction;
}

/** A change of the serving network, for `setRegistration()` and timelines. */
export interface SimRegistrationUpdate {
  state?: SimRegistrationState;
  act?: SimAccessTechnology;
  lac?: number;
  tac?: number;
  ci?: number;
  operator?: Partial<SimOperator>;
}

export interface SimUrcConfig {
  /** Send the flavour's boot URCs (`RDY`, `+CPIN: READY`, `SMS DONE`...). Default true. */
  boot?: boolean;
  /** Huawei: send `^RSSI: <rssi>` every this many milliseconds. Default: off. */
  signalIntervalMs?: number;
  /** Huawei: send `^MODE: <sys_mode>,<sys_submode>` when the access technology or service changes. Default false. */
  modeChanges?: boolean;
}

export interface SimLimits {
  /** Longest command line (V.250 clause 5.2.1); a longer one is discarded with ERROR. Default 1024. */
  maxLineBytes?: number;
  /** Bytes the core queues for the host before it drops output (counted). Default 65536. */
  maxOutputBytes?: number;
  /** Bytes of data-mode input the core queues for `takeData()` before it drops. Default 1 MiB. */
  maxDataBytes?: number;
  /** Bytes received while a command runs that are held for after it. Default 4096. */
  maxHeldInputBytes?: number;
  /** URCs held while in data mode or while a command runs. Default 64 (oldest dropped). */
  maxHeldUrcs?: number;
}

export interface SimModemConfig {
  /** Vendor flavour: identity strings, vendor commands, boot URCs, quirks. Default `generic`. */
  flavour?: SimFlavour;
  /** Same as `flavour` (the driver's `VendorName`); `flavour` wins when both are given. */
  vendor?: SimFlavour;
  /** Overrides the flavour's identity strings. */
  identity?: Partial<SimIdentity>;
  sim?: SimCardConfig;
  network?: SimNetworkConfig;
  /** Milliseconds after creation before the modem answers (input before is dropped). Default 0. */
  bootDelayMs?: number;
  urcs?: SimUrcConfig;
  /** Command echo at boot and after ATZ (V.250 clause 6.2.4). Default true, as real modems. */
  echo?: boolean;
  /** `+CMEE` at boot and after ATZ (27.007 clause 9.1). Default from the flavour (Quectel 1, others 0). */
  cmee?: 0 | 1 | 2;
  /** Contexts defined at boot. Default: cid 1, `IP`, empty APN. */
  pdpContexts?: readonly SimPdpContextConfig[];
  /** IPv4 address a context gets when activated (`+CGPADDR`). Default `10.64.0.2`. */
  pdpAddress?: string;
  /** Text after `CONNECT` (`''` for a bare `CONNECT`). Default `150000000`. */
  connectText?: string;
  /** How long `ATD*99#` / `AT+CGDATA` take before CONNECT, in milliseconds. Default 300. */
  connectDelayMs?: number;
  /** Bytes sent in the same output chunk right after `CONNECT` (an early PPP frame). */
  afterConnect?: Uint8Array;
  /**
   * What the modem says when DTR drops with `&D2` during a call (V.250 clause 6.2.9): cellular
   * modules report `NO CARRIER` (default); classic Hayes modems said `OK`.
   */
  dtrHangupResult?: 'NO CARRIER' | 'OK';
  /** Send URCs while a slow command runs instead of after its final result code. Default false. */
  interleaveUrcs?: boolean;
  script?: readonly SimScriptEntry[];
  timeline?: readonly SimTimelineEntry[];
  limits?: SimLimits;
}

/** `SimModemConfig` with every default filled in. */
export interface ResolvedSimConfig {
  flavour: SimFlavour;
  profile: FlavourProfile;
  identity: SimIdentity;
  sim: Required<Omit<SimCardConfig, 'pin'>> & { pin: string | undefined };
  network: Required<Omit<SimNetworkConfig, 'operator'>> & { operator: SimOperator };
  bootDelayMs: number;
  urcs: { boot: boolean; signalIntervalMs: number | undefined; modeChanges: boolean };
  echo: boolean;
  cmee: 0 | 1 | 2;
  pdpContexts: readonly SimPdpContextConfig[];
  pdpAddress: string;
  connectText: string;
  connectDelayMs: number;
  afterConnect: Uint8Array | undefined;
  dtrHangupResult: 'NO CARRIER' | 'OK';
  interleaveUrcs: boolean;
  script: readonly SimScriptEntry[];
  timeline: readonly SimTimelineEntry[];
  limits: Required<SimLimits>;
}

export const DEFAULT_OPERATOR: SimOperator = {
  long: 'Cellstack Test Network',
  short: 'Cellstack',
  numeric: '00101',
};

export const DEFAULT_OTHER_NETWORKS: readonly SimScanEntry[] = [
  { stat: 1, long: 'Cellstack Other Network', short: 'Other', numeric: '00102', act: 'umts' },
  { stat: 3, long: 'Cellstack Forbidden', short: 'Forbidden', numeric: '00103', act: 'gsm' },
];

export const DEFAULT_LIMITS: Required<SimLimits> = {
  maxLineBytes: 1024,
  maxOutputBytes: 65536,
  maxDataBytes: 1 << 20,
  maxHeldInputBytes: 4096,
  maxHeldUrcs: 64,
};

/** Fills in defaults and checks what a typo could break. Throws `ConfigError`. */
export function resolveSimConfig(config: SimModemConfig = {}): ResolvedSimConfig {
  const flavour = config.flavour ?? config.vendor ?? 'generic';
  const profile = FLAVOURS[flavour];
  if (!profile) throw new ConfigError(`sim: unknown flavour ${String(flavour)}`);
  const sim = config.sim ?? {};
  const net = config.network ?? {};
  const resolved: ResolvedSimConfig = {
    flavour,
    profile,
    identity: { ...profile.identity, ...config.identity },
    sim: {
      inserted: sim.inserted ?? true,
      pin: sim.pin,
      puk: sim.puk ?? '12345678',
      pinRetries: sim.pinRetries ?? 3,
      pukRetries: sim.pukRetries ?? 10,
      imsi: sim.imsi ?? '001010123456789',
      iccid: sim.iccid ?? '8988211000000123458',
    },
    network: {
      registration: net.registration ?? 'home',
      registerAfterMs: net.registerAfterMs ?? 1500,
      act: net.act ?? 'lte',
      lac: net.lac ?? 0x1a2b,
      tac: net.tac ?? 0x3c4d,
      ci: net.ci ?? 0x01a2b3c4,
      operator: { ...DEFAULT_OPERATOR, ...net.operator },
      csq: net.csq ?? 20,
      ber: net.ber ?? 99,
      domains: net.domains ?? profile.domains,
      otherNetworks: net.otherNetworks ?? DEFAULT_OTHER_NETWORKS,
      scanMs: net.scanMs ?? 2500,
    },
    bootDelayMs: config.bootDelayMs ?? 0,
    urcs: {
      boot: config.urcs?.boot ?? true,
      signalIntervalMs: config.urcs?.signalIntervalMs,
      modeChanges: config.urcs?.modeChanges ?? false,
    },
    echo: config.echo ?? true,
    cmee: config.cmee ?? profile.defaultCmee,
    pdpContexts: config.pdpContexts ?? [{ cid: 1, pdpType: 'IP', apn: '' }],
    pdpAddress: config.pdpAddress ?? '10.64.0.2',
    connectText: config.connectText ?? '150000000',
    connectDelayMs: config.connectDelayMs ?? 300,
    afterConnect: config.afterConnect,
    dtrHangupResult: config.dtrHangupResult ?? 'NO CARRIER',
    interleaveUrcs: config.interleaveUrcs ?? false,
    script: config.script ?? [],
    timeline: config.timeline ?? [],
    limits: { ...DEFAULT_LIMITS, ...config.limits },
  };
  check(resolved);
  return resolved;
}

function check(c: ResolvedSimConfig): void {
  const pinOk = (p: string): boolean => /^\d{4,8}$/.test(p);
  if (c.sim.pin !== undefined && !pinOk(c.sim.pin))
    throw new ConfigError('sim: sim.pin must be 4 to 8 digits');
  if (!/^\d{8}$/.test(c.sim.puk)) throw new ConfigError('sim: sim.puk must be 8 digits');
  if (!Number.isInteger(c.sim.pinRetries) || c.sim.pinRetries < 0 || c.sim.pinRetries > 3) {
    throw new ConfigError('sim: sim.pinRetries must be 0..3');
  }
  if (!Number.isInteger(c.sim.pukRetries) || c.sim.pukRetries < 0 || c.sim.pukRetries > 10) {
    throw new ConfigError('sim: sim.pukRetries must be 0..10');
  }
  if (!/^\d{6,15}$/.test(c.sim.imsi)) throw new ConfigError('sim: sim.imsi must be 6 to 15 digits');
  if (!/^\d{18,20}$/.test(c.sim.iccid)) throw new ConfigError('sim: sim.iccid must be 18 to 20 digits');
  if (!/^\d{14,16}$/.test(c.identity.imei))
    throw new ConfigError('sim: identity.imei must be 14 to 16 digits');
  if (!/^\d{5,6}$/.test(c.network.operator.numeric))
    throw new ConfigError('sim: operator.numeric must be MCC+MNC');
  const csq = c.network.csq;
  if (!Number.isInteger(csq) || ((csq < 0 || csq > 31) && csq !== 99))
    throw new ConfigError('sim: network.csq must be 0..31 or 99');
  for (const [name, v] of Object.entries(c.limits)) {
    if (!Number.isInteger(v) || v < 1)
      throw new ConfigError(`sim: limits.${name} must be a positive integer`);
  }
  for (const ctx of c.pdpContexts) {
    if (!Number.isInteger(ctx.cid) || ctx.cid < 1 || ctx.cid > c.profile.maxCid) {
      throw new ConfigError(`sim: pdp context cid ${ctx.cid} out of range 1..${c.profile.maxCid}`);
    }
  }
}
