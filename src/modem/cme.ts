/**
 * Mobile termination error result codes, 3GPP TS 27.007 clause 9.2 (`+CME ERROR: <err>`).
 * With `AT+CMEE=2` modems send the text instead of the number; both map to the same cause.
 */
export const CME_ERRORS: Readonly<Record<number, string>> = {
  0: 'phone failure',
  1: 'no connection to phone',
  2: 'phone-adaptor link reserved',
  3: 'operation not allowed',
  4: 'operation not supported',
  5: 'PH-SIM PIN required',
  6: 'PH-FSIM PIN required',
  7: 'PH-FSIM PUK required',
  10: 'SIM not inserted',
  11: 'SIM PIN required',
  12: 'SIM PUK required',
  13: 'SIM failure',
  14: 'SIM busy',
  15: 'SIM wrong',
  16: 'incorrect password',
  17: 'SIM PIN2 required',
  18: 'SIM PUK2 required',
  20: 'memory full',
  21: 'invalid index',
  22: 'not found',
  23: 'memory failure',
  24: 'text string too long',
  25: 'invalid characters in text string',
  26: 'dial string too long',
  27: 'invalid characters in dial string',
  30: 'no network service',
  31: 'network timeout',
  32: 'network not allowed - emergency calls only',
  40: 'network personalization PIN required',
  41: 'network personalization PUK required',
  42: 'network subset personalization PIN required',
  43: 'network subset personalization PUK required',
  44: 'service provider personalization PIN required',
  45: 'service provider personalization PUK required',
  46: 'corporate personalization PIN required',
  47: 'corporate personalization PUK required',
  48: 'hidden key required',
  49: 'EAP method not supported',
  50: 'incorrect parameters',
  51: 'command implemented but currently disabled',
  52: 'command aborted by user',
  53: 'not attached to network due to MT functionality restrictions',
  54: 'modem not allowed - MT restricted to emergency calls only',
  55: 'operation not allowed because of MT functionality restrictions',
  56: 'fixed dial number only allowed - called number is not a fixed dial number',
  57: 'temporarily out of service due to other MT usage',
  58: 'language/alphabet not supported',
  59: 'unexpected data value',
  60: 'system failure',
  61: 'data missing',
  62: 'call barred',
  63: 'message waiting indication subscription failure',
  100: 'unknown',
  103: 'illegal MS',
  106: 'illegal ME',
  107: 'GPRS services not allowed',
  108: 'GPRS services and non-GPRS services not allowed',
  111: 'PLMN not allowed',
  112: 'location area not allowed',
  113: 'roaming not allowed in this location area',
  114: 'GPRS services not allowed in this PLMN',
  115: 'no suitable cells in tracking area',
  122: 'congestion',
  126: 'insufficient resources',
  127: 'missing or unknown APN',
  128: 'unknown PDP address or PDP type',
  129: 'user authentication failed',
  130: 'activation rejected by GGSN, Serving GW or PDN GW',
  131: 'activation rejected, unspecified',
  132: 'service option not supported',
  133: 'requested service option not subscribed',
  134: 'service option temporarily out of order',
  140: 'feature not supported',
  148: 'unspecified GPRS error',
  149: 'PDP authentication failure',
  150: 'invalid mobile class',
};

const BY_TEXT = new Map<string, number>(
  Object.entries(CME_ERRORS).map(([code, text]) => [normalise(text), Number(code)]),
);
// Common vendor spellings of the same causes (seen from SIMCom, Quectel and Huawei firmware).
for (const [text, code] of [
  ['sim not inserted', 10],
  ['sim busy', 14],
  ['incorrect pin', 16],
  ['wrong password', 16],
  ['sim pin required', 11],
  ['sim puk required', 12],
  ['no network service', 30],
  ['invalid input value', 50],
  ['unknown error', 100],
] as const) {
  BY_TEXT.set(normalise(text), code);
}

function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** Resolves the `<err>` of `+CME ERROR: <err>` (number or text) to a numeric cause, if known. */
export function cmeCause(err: string): number | undefined {
  const trimmed = err.trim().replace(/^"|"$/g, '');
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return BY_TEXT.get(normalise(trimmed));
}

/** The 27.007 text of a cause, or `undefined` for a vendor-specific number. */
export function cmeText(cause: number): string | undefined {
  return CME_ERRORS[cause];
}
