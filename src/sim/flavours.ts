import type { RegistrationDomain } from '../modem/parse/registration.js';
import type { SimIdentity } from './config.js';
import { withLuhn } from './luhn.js';

export type SimFlavour = 'generic' | 'huawei' | 'quectel' | 'simcom' | 'ublox';

/**
 * What sets one vendor's firmware apart from another's, as far as a driver can see: identity
 * strings, the vendor commands it has (ICCID and PIN-counter spellings), the URCs it sends
 * at boot and after SIM unlock, and its quirks. Strings follow the vendors' AT manuals.
 */
export interface FlavourProfile {
  identity: SimIdentity;
  /** `+CMEE` after power-on (Quectel ships with 1, most others with 0). */
  defaultCmee: 0 | 1 | 2;
  /** Registration commands the firmware has. */
  domains: readonly RegistrationDomain[];
  /** Highest `<cid>` of `+CGDCONT`. */
  maxCid: number;
  /** Final result code for a command the firmware does not have (Huawei: `COMMAND NOT SUPPORT`). */
  unsupported: string;
  /** `ATI`: bare lines (`Quectel`/`EC25`/`Revision: ...`) or labelled (`Manufacturer: ...`). */
  ati: 'plain' | 'labelled';
  /** `+GCAP` line that labelled `ATI` output ends with, if any. */
  gcap: string | undefined;
  /** SIMCom answers `AT+CGMR` with a `+CGMR: ` prefix. */
  cgmrPrefix: boolean;
  /** Vendor (and optional standard) commands this firmware has; see `commands/index.ts`. */
  commands: ReadonlySet<string>;
  /** URCs at boot before the SIM lines (`RDY`). */
  bootUrcs: readonly string[];
  /** Whether `+CPIN: <code>` is reported at boot when the SIM is not ready. */
  cpinUrcAtBoot: boolean;
  /** URCs once the SIM is ready, at boot or after PIN entry (`+CPIN: READY`, `SMS DONE`...). */
  simReadyUrcs: readonly string[];
}

const ALL_DOMAINS: readonly RegistrationDomain[] = ['cs', 'ps', 'eps', '5gs'];
const LTE_DOMAINS: readonly RegistrationDomain[] = ['cs', 'ps', 'eps'];

export const FLAVOURS: Readonly<Record<SimFlavour, FlavourProfile>> = {
  generic: {
    identity: {
      manufacturer: 'cellstack',
      model: 'Virtual LTE Modem',
      revision: 'cellstack-sim 1',
      imei: withLuhn('35349006987331'),
    },
    defaultCmee: 0,
    domains: ALL_DOMAINS,
    maxCid: 15,
    unsupported: 'ERROR',
    ati: 'plain',
    gcap: undefined,
    cgmrPrefix: false,
    commands: new Set(['+CCID', '+CPINR']),
    bootUrcs: [],
    cpinUrcAtBoot: false,
    simReadyUrcs: [],
  },
  quectel: {
    identity: {
      manufacturer: 'Quectel',
      model: 'EC25',
      revision: 'EC25EFAR06A03M4G',
      imei: withLuhn('86675804123456'),
    },
    defaultCmee: 1,
    domains: LTE_DOMAINS,
    maxCid: 15,
    unsupported: 'ERROR',
    ati: 'plain',
    gcap: undefined,
    cgmrPrefix: false,
    commands: new Set(['+QCCID', '+QPINC', '+CPINR']),
    bootUrcs: ['RDY'],
    cpinUrcAtBoot: true,
    simReadyUrcs: ['+CPIN: READY', '+QIND: SMS DONE', '+QIND: PB DONE'],
  },
  simcom: {
    identity: {
      manufacturer: 'SIMCOM INCORPORATED',
      model: 'SIMCOM_SIM7600E-H',
      revision: 'SIM7600M22_V2.0',
      imei: withLuhn('86271104123456'),
    },
    defaultCmee: 0,
    domains: LTE_DOMAINS,
    maxCid: 24,
    unsupported: 'ERROR',
    ati: 'labelled',
    gcap: '+GCAP: +CGSM',
    cgmrPrefix: true,
    commands: new Set(['+CICCID', '+CCID', '+SPIC']),
    bootUrcs: ['RDY'],
    cpinUrcAtBoot: true,
    simReadyUrcs: ['+CPIN: READY', 'SMS DONE', 'PB DONE'],
  },
  huawei: {
    identity: {
      manufacturer: 'huawei',
      model: 'E3372',
      revision: '22.315.01.00.00',
      imei: withLuhn('86107302123456'),
    },
    defaultCmee: 0,
    domains: LTE_DOMAINS,
    maxCid: 16,
    unsupported: 'COMMAND NOT SUPPORT',
    ati: 'labelled',
    gcap: '+GCAP: +CGSM,+DS,+ES',
    cgmrPrefix: false,
    commands: new Set(['^ICCID', '^CPIN']),
    bootUrcs: [],
    cpinUrcAtBoot: false,
    simReadyUrcs: [],
  },
  ublox: {
    identity: {
      manufacturer: 'u-blox',
      model: 'SARA-R410M-02B',
      revision: 'L0.0.00.00.05.08',
      imei: withLuhn('35275309123456'),
    },
    defaultCmee: 0,
    domains: LTE_DOMAINS,
    maxCid: 8,
    unsupported: 'ERROR',
    ati: 'labelled',
    gcap: undefined,
    cgmrPrefix: false,
    commands: new Set(['+CCID', '+CPINR', '+UPINCNT']),
    bootUrcs: [],
    cpinUrcAtBoot: false,
    simReadyUrcs: [],
  },
};
