import { fieldsOf, intField } from './fields.js';

/** Signal quality: +CSQ (27.007 clause 8.5) and +CESQ (clause 8.69). */
export interface Csq {
  /** `<rssi>` 0..31, or `null` for 99 (not known or not detectable). */
  rssi: number | null;
  /** `<ber>` 0..7, or `null` for 99. */
  ber: number | null;
  rssiDbm: number | null;
  /** 0..5 */
  bars: number;
}

/** `<rssi>` of +CSQ to dBm: 0 is -113 dBm or less, 31 is -51 dBm or more, 2 dB a step. */
export function csqToDbm(rssi: number): number | null {
  if (rssi < 0 || rssi > 31) return null;
  return -113 + 2 * rssi;
}

/**
 * Bars from dBm, using the usual GSM/UMTS RSSI bands (CSQ 10, 15, 20 are the thresholds of
 * "ok", "good" and "excellent" that modem vendors document).
 */
export function dbmToBars(dbm: number | null): number {
  if (dbm === null) return 0;
  if (dbm >= -73) return 5; // CSQ >= 20
  if (dbm >= -83) return 4; // CSQ >= 15
  if (dbm >= -93) return 3; // CSQ >= 10
  if (dbm >= -103) return 2; // CSQ >= 5
  if (dbm >= -111) return 1; // CSQ >= 1
  return 0;
}

export function parseCsq(line: string): Csq | undefined {
  const f = fieldsOf(line, '+CSQ');
  const rssiRaw = intField(f[0]);
  if (rssiRaw === null) return undefined;
  const berRaw = intField(f[1]);
  const rssi = rssiRaw >= 0 && rssiRaw <= 31 ? rssiRaw : null;
  const ber = berRaw !== null && berRaw >= 0 && berRaw <= 7 ? berRaw : null;
  const rssiDbm = rssi === null ? null : csqToDbm(rssi);
  return { rssi, ber, rssiDbm, bars: dbmToBars(rssiDbm) };
}

/** Extended signal quality (+CESQ), converted to physical units; `null` where not known. */
export interface Cesq {
  /** GSM received signal level, dBm (`<rxlev>`). */
  rxlevDbm: number | null;
  /** UMTS received signal code power, dBm (`<rscp>`). */
  rscpDbm: number | null;
  /** UMTS Ec/No, dB (`<ecno>`). */
  ecnoDb: number | null;
  /** LTE reference signal received quality, dB (`<rsrq>`). */
  rsrqDb: number | null;
  /** LTE reference signal received power, dBm (`<rsrp>`). */
  rsrpDbm: number | null;
}

export function parseCesq(line: string): Cesq | undefined {
  const f = fieldsOf(line, '+CESQ');
  if (f.length < 6) return undefined;
  const v = f.map((x) => intField(x));
  const rxlev = v[0] ?? null;
  const rscp = v[2] ?? null;
  const ecno = v[3] ?? null;
  const rsrq = v[4] ?? null;
  const rsrp = v[5] ?? null;
  // 27.007 clause 8.69: 99 / 255 mean "not known or not detectable".
  return {
    rxlevDbm: rxlev !== null && rxlev <= 63 ? -111 + rxlev : null,
    rscpDbm: rscp !== null && rscp <= 96 ? -121 + rscp : null,
    ecnoDb: ecno !== null && ecno <= 49 ? -24.5 + ecno / 2 : null,
    rsrqDb: rsrq !== null && rsrq <= 34 ? -20 + rsrq / 2 : null,
    rsrpDbm: rsrp !== null && rsrp <= 97 ? -141 + rsrp : null,
  };
}

/** Huawei `^RSSI: <rssi>` URC: the +CSQ scale. */
export function parseHuaweiRssi(line: string): Csq | undefined {
  const f = fieldsOf(line, '^RSSI');
  const rssi = intField(f[0]);
  if (rssi === null) return undefined;
  return parseCsq(`+CSQ: ${rssi},99`);
}
