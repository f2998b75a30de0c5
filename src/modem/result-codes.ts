/**
 * Final result codes (ITU-T V.250 clause 5.7.1 and table 1; 3GPP TS 27.007 clause 9.2 for
 * +CME ERROR, 27.005 clause 3.2.5 for +CMS ERROR). A final result code ends a command.
 */
export type FinalKind =
  | 'OK'
  | 'CONNECT'
  | 'ERROR'
  | 'CME_ERROR'
  | 'CMS_ERROR'
  | 'NO_CARRIER'
  | 'BUSY'
  | 'NO_ANSWER'
  | 'NO_DIALTONE';

export interface FinalResult {
  kind: FinalKind;
  /** The line as received, e.g. `CONNECT 150000000` or `+CME ERROR: 10`. */
  text: string;
  /** `CONNECT <text>`: the rate or other text after CONNECT. */
  connectText?: string;
  /** `+CME ERROR: <err>` / `+CMS ERROR: <err>`: the `<err>` part. */
  err?: string;
}

/**
 * Non-standard final codes some firmware sends instead of ERROR (Huawei answers unknown
 * commands with `COMMAND NOT SUPPORT`, and too many arguments with `TOO MANY PARAMETERS`).
 */
const ERROR_LIKE = new Set(['COMMAND NOT SUPPORT', 'TOO MANY PARAMETERS']);

/** Classifies a response line, or returns `undefined` if it is not a final result code. */
export function finalResult(line: string): FinalResult | undefined {
  const t = line.trim();
  const u = t.toUpperCase();
  if (u === 'OK') return { kind: 'OK', text: t };
  if (u === 'ERROR' || ERROR_LIKE.has(u)) return { kind: 'ERROR', text: t };
  if (u === 'NO CARRIER') return { kind: 'NO_CARRIER', text: t };
  if (u === 'BUSY') return { kind: 'BUSY', text: t };
  if (u === 'NO ANSWER') return { kind: 'NO_ANSWER', text: t };
  if (u === 'NO DIALTONE' || u === 'NO DIAL TONE') return { kind: 'NO_DIALTONE', text: t };
  if (u === 'CONNECT' || (u.startsWith('CONNECT') && /^CONNECT[\s:]/.test(u))) {
    const rest = t.slice(7).replace(/^[\s:]+/, '');
    const r: FinalResult = { kind: 'CONNECT', text: t };
    if (rest.length > 0) r.connectText = rest;
    return r;
  }
  const cme = /^\+CME\s+ERROR\s*:?\s*(.*)$/i.exec(t);
  if (cme) return { kind: 'CME_ERROR', text: t, err: cme[1]!.trim() };
  const cms = /^\+CMS\s+ERROR\s*:?\s*(.*)$/i.exec(t);
  if (cms) return { kind: 'CMS_ERROR', text: t, err: cms[1]!.trim() };
  return undefined;
}
