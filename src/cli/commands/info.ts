import type { ModemInfo } from '../../index.js';
import { COMMON_OPTIONS, DEVICE_HELP, DEVICE_OPTIONS, deviceArgs, parse } from '../args.js';
import { openFromArgs } from '../device.js';
import type { Io } from '../output.js';

export const summary = 'identity, SIM state, registration, signal and operator';

export const help = `Usage: cellstack info --device PATH [options]

Shows the modem's identity, SIM state, registration, signal and operator.

Options:
      --json          one JSON object on stdout
  -h, --help          this help

${DEVICE_HELP}`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...DEVICE_OPTIONS });
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  const modem = await openFromArgs(deviceArgs(values, io.env));
  try {
    const info = await modem.info();
    io.stdout.write(values['json'] ? `${JSON.stringify(info)}\n` : formatInfo(info));
    return 0;
  } finally {
    await modem.close();
  }
}

export function formatInfo(i: ModemInfo): string {
  const v = (x: string | null) => x ?? '-';
  const reg = i.registration;
  const where = [reg.act, reg.lac ? `LAC/TAC ${reg.lac}` : null, reg.ci ? `CI ${reg.ci}` : null]
    .filter(Boolean)
    .join(', ');
  const rows: [string, string][] = [
    ['Manufacturer', v(i.manufacturer)],
    ['Model', v(i.model)],
    ['Revision', v(i.revision)],
    ['IMEI', v(i.imei)],
    ['IMSI', v(i.imsi)],
    ['ICCID', v(i.iccid)],
    ['SIM', v(i.sim)],
    ['Registration', where ? `${reg.state} (${where})` : reg.state],
    [
      'Signal',
      i.signal.rssiDbm === null
        ? `unknown (${i.signal.bars}/5)`
        : `${i.signal.rssiDbm} dBm (${i.signal.bars}/5)`,
    ],
    [
      'Operator',
      i.operator.name || i.operator.mccmnc ? `${v(i.operator.name)} (${v(i.operator.mccmnc)})` : '-',
    ],
  ];
  return `${rows.map(([k, val]) => `${k.padEnd(13)} ${val}`).join('\n')}\n`;
}
