import {
  type PinRetries,
  parseCpinr,
  parseHuaweiCpin,
  parseQuectelQpinc,
  parseSimcomSpic,
  parseUbloxUpincnt,
} from './parse/sim.js';
import type { UrcMatcher } from './urc.js';

/**
 * Vendor profiles: what differs between modem families that the driver must know. Facts
 * come from the vendors' AT command manuals and from ModemManager's per-vendor udev rules
 * and plugins (see the sources next to each table).
 */
export type VendorName = 'generic' | 'huawei' | 'quectel' | 'simcom' | 'ublox';

export interface PinRetryQuery {
  command: string;
  expect?: string;
  parse(lines: readonly string[]): PinRetries | undefined;
}

export interface IccidQuery {
  command: string;
  expect?: string;
}

/**
 * A USB composite device and which of its serial interfaces is the AT port and which the
 * PPP data port: by interface number, or (Huawei) by the interface's class triple, which
 * stays right when the firmware reorders ports.
 */
export interface UsbModel {
  /** Four hex digits, lower case; `*` for any product of the vendor. */
  productId: string;
  model: string;
  /** bInterfaceNumber of the primary AT (control) port. */
  atInterface?: number;
  /** bInterfaceNumber of the port that carries PPP after ATD; none: dial on the AT port. */
  dataInterface?: number;
  /** Class/subclass/protocol of the AT port, `ff/*\/02` style (`*` matches any field). */
  atClass?: string;
  dataClass?: string;
}

export interface VendorProfile {
  name: VendorName;
  label: string;
  /** Matches the +CGMI answer. */
  manufacturer: RegExp;
  /** USB vendor ids (four hex digits, lower case). */
  usbVendorIds: readonly string[];
  usbModels: readonly UsbModel[];
  /** Sent once after ATE0 and +CMEE=2; an error from any of them is logged and ignored. */
  init: readonly string[];
  /** PIN retry counter queries, tried in order until one answers. */
  pinRetries: readonly PinRetryQuery[];
  /** ICCID queries, tried in order until one answers. */
  iccid: readonly IccidQuery[];
  /** The dial string for a packet data call on context `cid` (27.007 clause 10.2.1.1). */
  dialCommand(cid: number): string;
  /** Vendor URCs recognised in front of the standard table. */
  urcs: readonly UrcMatcher[];
}

const CPINR: PinRetryQuery = { command: 'AT+CPINR', expect: '+CPINR', parse: parseCpinr };
const first = (parse: (line: string) => PinRetries | undefined) => (lines: readonly string[]) => {
  for (const l of lines) {
    const r = parse(l);
    if (r) return r;
  }
  return undefined;
};
// 27.007 clause 8.18 +CRSM READ BINARY of EF_ICCID (file id 0x2FE2 = 12258, 10 bytes): the
// standard way to the ICCID; the bytes come nibble-swapped, which parseIccid undoes.
const CRSM_ICCID: IccidQuery = { command: 'AT+CRSM=176,12258,0,0,10', expect: '+CRSM' };
const dialCid = (cid: number): string => `ATD*99***${cid}#`;

export const GENERIC: VendorProfile = {
  name: 'generic',
  label: 'Generic 3GPP TS 27.007',
  manufacturer: /.^/,
  usbVendorIds: [],
  usbModels: [],
  init: [],
  pinRetries: [CPINR],
  iccid: [{ command: 'AT+CCID', expect: '+CCID' }, { command: 'AT+ICCID', expect: '+ICCID' }, CRSM_ICCID],
  dialCommand: dialCid,
  urcs: [],
};

export const HUAWEI: VendorProfile = {
  name: 'huawei',
  label: 'Huawei',
  manufacturer: /huawei/i,
  usbVendorIds: ['12d1'],
  // ModemManager's 77-mm-huawei-net-port-types.rules: vendor-class interfaces with
  // protocol 02 are the PCUI (AT) port, protocol 01 the modem (PPP) port, whatever their
  // number (E3372/E3531 in stick mode are 12d1:1506 after usb_modeswitch). E1550-era
  // sticks (12d1:1001) have the modem on interface 0 and the PCUI on 2 (chan_dongle's
  // device table; a ModemManager log of an E620 shows the same).
  usbModels: [
    { productId: '1001', model: 'E1550/E620 family', atInterface: 2, dataInterface: 0 },
    { productId: '*', model: 'Huawei (by interface class)', atClass: 'ff/*/02', dataClass: 'ff/*/01' },
  ],
  // URCs to the PCUI port, which is the one the driver reads (ModemManager does the same).
  init: ['AT^PORTSEL=0'],
  pinRetries: [{ command: 'AT^CPIN?', expect: '^CPIN', parse: first(parseHuaweiCpin) }, CPINR],
  iccid: [{ command: 'AT^ICCID?', expect: '^ICCID' }, CRSM_ICCID],
  dialCommand: dialCid,
  urcs: [],
};

export const QUECTEL: VendorProfile = {
  name: 'quectel',
  label: 'Quectel',
  manufacturer: /quectel/i,
  usbVendorIds: ['2c7c'],
  // ModemManager's 77-mm-quectel-port-types.rules: interface 0 DIAG, 1 NMEA, 2 AT
  // (primary), 3 AT (secondary, the "modem" port that PPP uses in Quectel's guides).
  usbModels: [
    { productId: '0125', model: 'EC25/EG25', atInterface: 2, dataInterface: 3 },
    { productId: '0121', model: 'EC21', atInterface: 2, dataInterface: 3 },
    { productId: '0296', model: 'BG96', atInterface: 2, dataInterface: 3 },
    { productId: '0306', model: 'EG06/EP06', atInterface: 2, dataInterface: 3 },
    { productId: '0191', model: 'EG91', atInterface: 2, dataInterface: 3 },
    { productId: '0195', model: 'EG95', atInterface: 2, dataInterface: 3 },
  ],
  init: [],
  pinRetries: [{ command: 'AT+QPINC?', expect: '+QPINC', parse: parseQuectelQpinc }, CPINR],
  iccid: [{ command: 'AT+QCCID', expect: '+QCCID' }, { command: 'AT+CCID', expect: '+CCID' }, CRSM_ICCID],
  dialCommand: dialCid,
  urcs: [],
};

export const SIMCOM: VendorProfile = {
  name: 'simcom',
  label: 'SIMCom',
  manufacturer: /sim\s*com|simtech/i,
  usbVendorIds: ['1e0e'],
  // ModemManager's 77-mm-simtech-port-types.rules. The SIM800 family is UART-only.
  usbModels: [
    { productId: '9001', model: 'SIM7000/SIM7100/SIM7600', atInterface: 2, dataInterface: 3 },
    { productId: '9205', model: 'SIM7070/SIM7080/SIM7090', atInterface: 2, dataInterface: 3 },
    { productId: '9206', model: 'SIM7070/SIM7080/SIM7090', atInterface: 2, dataInterface: 5 },
    { productId: '9011', model: 'A7600E-H/A7602E-H', atInterface: 4, dataInterface: 5 },
  ],
  init: [],
  pinRetries: [{ command: 'AT+SPIC', expect: '+SPIC', parse: first(parseSimcomSpic) }, CPINR],
  iccid: [{ command: 'AT+CICCID', expect: '+ICCID' }, { command: 'AT+CCID', expect: '+CCID' }, CRSM_ICCID],
  dialCommand: dialCid,
  urcs: [],
};

export const UBLOX: VendorProfile = {
  name: 'ublox',
  label: 'u-blox',
  manufacturer: /u-?blox/i,
  usbVendorIds: ['1546'],
  // ModemManager's 77-mm-ublox-port-types.rules (CDC-ACM ports): PPP runs over any AT
  // port, so the secondary one carries data and the primary stays free for commands.
  // SARA-R4/R5 are mostly wired by UART.
  usbModels: [
    { productId: '1102', model: 'LISA-U2/SARA-U2', atInterface: 0, dataInterface: 2 },
    { productId: '1107', model: 'TOBY-R2', atInterface: 0, dataInterface: 2 },
    { productId: '110a', model: 'LARA-R2', atInterface: 0, dataInterface: 2 },
    { productId: '1010', model: 'TOBY-L4', atInterface: 6 },
  ],
  init: [],
  pinRetries: [{ command: 'AT+UPINCNT', expect: '+UPINCNT', parse: first(parseUbloxUpincnt) }, CPINR],
  iccid: [{ command: 'AT+CCID', expect: '+CCID' }, CRSM_ICCID],
  dialCommand: dialCid,
  urcs: [],
};

export const VENDOR_PROFILES: readonly VendorProfile[] = [HUAWEI, QUECTEL, SIMCOM, UBLOX, GENERIC];

export function profileByName(name: VendorName): VendorProfile {
  return VENDOR_PROFILES.find((p) => p.name === name) ?? GENERIC;
}

/** The profile whose manufacturer pattern matches a +CGMI answer, else the generic one. */
export function profileForManufacturer(manufacturer: string | null | undefined): VendorProfile {
  if (!manufacturer) return GENERIC;
  return VENDOR_PROFILES.find((p) => p.manufacturer.test(manufacturer)) ?? GENERIC;
}
