import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConfigError } from '../util/errors.js';

/**
 * Command-line conventions shared by every command: `--help`, `--json`, the device options,
 * and secrets that may also come from the environment so they stay out of shell history.
 */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export const DEVICE_OPTIONS = {
  device: { type: 'string', short: 'd' },
  baud: { type: 'string' },
  rtscts: { type: 'boolean' },
  record: { type: 'string' },
  pin: { type: 'string' },
  'force-pin': { type: 'boolean' },
} as const satisfies OptionSpec;

export const LINK_OPTIONS = {
  ...DEVICE_OPTIONS,
  apn: { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  pcap: { type: 'string' },
  direct: { type: 'boolean' },
} as const satisfies OptionSpec;

export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies OptionSpec;

export const DEVICE_HELP = `Device options:
  -d, --device PATH   the modem's AT port (/dev/ttyUSB2), or "sim" for the built-in test
                      modem ("sim:quectel", "sim:huawei", "sim:simcom", "sim:ublox" answer
                      like those vendors' modems); default $CELLSTACK_DEVICE
      --baud N        serial speed (default 115200)
      --rtscts        RTS/CTS hardware flow control
      --record FILE   write a byte trace of the session (JSON Lines; secrets masked)
      --pin PIN       SIM PIN if the SIM asks for one (or $CELLSTACK_PIN)
      --force-pin     send the PIN even with one attempt left or an unknown count`;

export const LINK_HELP = `${DEVICE_HELP}

Link options:
      --apn APN       access point name for the data call (kept as the modem has it if not given)
      --user U        PPP user name for PAP/CHAP
      --password P    PPP password (or $CELLSTACK_PASSWORD)
      --pcap FILE     write every PPP frame to FILE (pcap, Wireshark opens it)
      --direct        the device already speaks PPP: skip the AT stage, start LCP at once`;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(argv: readonly string[], options: OptionSpec): ParsedArgs {
  try {
    const r = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A mistake on the command line: exit status 2 and the usage hint. */
export class UsageError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface DeviceArgs {
  path: string;
  baudRate?: number;
  rtscts?: boolean;
  record?: string;
  pin?: string;
  forcePin: boolean;
}

export function deviceArgs(values: ParsedArgs['values'], env: NodeJS.ProcessEnv = process.env): DeviceArgs {
  const path = str(values['device']) ?? env['CELLSTACK_DEVICE'];
  if (!path) throw new UsageError('--device PATH is required (a serial port such as /dev/ttyUSB2, or "sim")');
  const out: DeviceArgs = { path, forcePin: values['force-pin'] === true };
  const baud = str(values['baud']);
  if (baud !== undefined) {
    const n = Number(baud);
    if (!Number.isInteger(n) || n < 300 || n > 16_000_000)
      throw new UsageError(`--baud: not a serial speed: ${baud}`);
    out.baudRate = n;
  }
  if (values['rtscts'] === true) out.rtscts = true;
  const record = str(values['record']);
  if (record !== undefined) out.record = record;
  const pin = str(values['pin']) ?? env['CELLSTACK_PIN'];
  if (pin !== undefined && pin.length > 0) out.pin = pin;
  return out;
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export interface LinkArgs extends DeviceArgs {
  apn?: string;
  user?: string;
  password?: string;
  pcap?: string;
  direct: boolean;
}

export function linkArgs(values: ParsedArgs['values'], env: NodeJS.ProcessEnv = process.env): LinkArgs {
  const out: LinkArgs = { ...deviceArgs(values, env), direct: values['direct'] === true };
  const apn = str(values['apn']);
  if (apn !== undefined) out.apn = apn;
  const user = str(values['user']);
  if (user !== undefined) out.user = user;
  const password = str(values['password']) ?? env['CELLSTACK_PASSWORD'];
  if (password !== undefined) out.password = password;
  const pcap = str(values['pcap']);
  if (pcap !== undefined) out.pcap = pcap;
  return out;
}
