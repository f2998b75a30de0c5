/**
 * The 16-bit Frame Check Sequence of PPP in HDLC-like framing (RFC 1662 section 3.1 and
 * appendix C.2): CRC-CCITT, bit-reflected, polynomial x^16 + x^12 + x^5 + 1 (0x8408 in
 * reflected form), initial value 0xffff. The sender transmits the ones' complement of the
 * running FCS, least significant octet first; a receiver that runs the FCS over the whole
 * frame including those two octets finds the constant `FCS16_GOOD`.
 *
 * This is the only FCS-16 in the stack: the HDLC encoder and decoder use `FCS16_TABLE`
 * directly in their inner loops, everything else calls `fcs16()`.
 */

/** Initial FCS value (RFC 1662 appendix C.2 `PPPINITFCS16`). */
export const FCS16_INIT = 0xffff;

/** The FCS of a frame with its own FCS appended (RFC 1662 appendix C.2 `PPPGOODFCS16`). */
export const FCS16_GOOD = 0xf0b8;

/** The reflected CCITT polynomial (RFC 1662 appendix C.2 `P`). */
const POLY = 0x8408;

function buildTable(): Uint16Array {
  // RFC 1662 appendix C.2, "Generate a FCS table for the HDLC FCS": one entry per octet value.
  const table = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let v = b;
    for (let i = 0; i < 8; i++) v = v & 1 ? (v >>> 1) ^ POLY : v >>> 1;
    table[b] = v;
  }
  return table;
}

/** The 256-entry lookup table of RFC 1662 appendix C.2 (`fcstab`), computed once at load. */
export const FCS16_TABLE: Uint16Array = buildTable();

/**
 * Eight tables for "slicing-by-8": entry 256 * k + b is the FCS contribution of octet b
 * followed by k zero octets, so eight octets are folded in with eight independent lookups
 * instead of a chain of eight dependent ones. Table 0 is `FCS16_TABLE`.
 */
const SLICES = ((): Uint16Array => {
  const t = new Uint16Array(256 * 8);
  t.set(FCS16_TABLE);
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const prev = t[256 * (k - 1) + b]!;
      t[256 * k + b] = (prev >>> 8) ^ FCS16_TABLE[prev & 0xff]!;
    }
  }
  return t;
})();

/**
 * Runs the FCS over `data[start..end)` starting from `fcs` (RFC 1662 appendix C.2 `pppfcs16`).
 * Start with `FCS16_INIT`; chain calls to cover data in pieces. To append an FCS to a frame,
 * send `~fcs & 0xffff` low octet first; to check a received frame, run over the frame and its
 * two FCS octets and compare with `FCS16_GOOD`.
 *
 * Same result as the appendix's one-table loop, eight octets per step (slicing-by-8).
 */
export function fcs16(fcs: number, data: Uint8Array, start = 0, end: number = data.length): number {
  const t = SLICES;
  let f = fcs & 0xffff;
  let i = start;
  for (const end8 = end - 7; i < end8; i += 8) {
    const x = f ^ data[i]! ^ (data[i + 1]! << 8);
    f =
      t[1792 + (x & 0xff)]! ^
      t[1536 + (x >>> 8)]! ^
      t[1280 + data[i + 2]!]! ^
      t[1024 + data[i + 3]!]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
  }
  for (; i < end; i++) f = (f >>> 8) ^ t[(f ^ data[i]!) & 0xff]!;
  return f;
}
