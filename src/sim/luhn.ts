/**
 * The Luhn check digit (ISO/IEC 7812-1 annex B). IMEIs use it as their last digit (3GPP TS
 * 23.003 annex B) and ICCIDs as theirs (ITU-T E.118 clause 4.1).
 */
export function luhnCheckDigit(digits: string): number {
  if (!/^\d*$/.test(digits)) throw new TypeError('luhnCheckDigit: digits only');
  let sum = 0;
  // Walking from the right, the digit next to the (missing) check digit is doubled.
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** `digits` with its Luhn check digit appended. */
export function withLuhn(digits: string): string {
  return `${digits}${luhnCheckDigit(digits)}`;
}

/** Whether the last digit of `number` is the Luhn check digit of the others. */
export function isLuhnValid(number: string): boolean {
  if (!/^\d{2,}$/.test(number)) return false;
  return luhnCheckDigit(number.slice(0, -1)) === Number(number.slice(-1));
}
