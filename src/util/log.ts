import createDebug from 'debug';

/**
 * Logging goes through `debug` under `cellstack:<layer>[:<part>]` (enable with
 * `DEBUG=cellstack:*`). Secrets are redacted by the caller before they reach a logger: the
 * helpers below exist so that call sites never format a secret themselves.
 */
export type Logger = (format: string, ...args: unknown[]) => void;

export function createLogger(namespace: string): Logger & { enabled: boolean } {
  const d = createDebug(`cellstack:${namespace}`);
  const log = ((format: string, ...args: unknown[]) => d(format, ...args)) as Logger & { enabled: boolean };
  Object.defineProperty(log, 'enabled', { get: () => d.enabled });
  return log;
}

/** Shows a byte string the way ModemManager logs AT traffic: `<CR><LF>OK<CR><LF>`. */
export function printable(text: string, limit = 512): string {
  let out = '';
  for (let i = 0; i < text.length && out.length < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 13) out += '<CR>';
    else if (c === 10) out += '<LF>';
    else if (c === 0x1a) out += '<CTRL-Z>';
    else if (c < 0x20 || c === 0x7f || c > 0x7e) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += text[i];
  }
  return text.length > 0 && out.length >= limit ? `${out}...` : out;
}
