import { discoverModems, listSerialPorts } from '../../index.js';
import { COMMON_OPTIONS, parse } from '../args.js';
import type { Io } from '../output.js';

export const summary = 'list serial ports and the modems found on them';

export const help = `Usage: cellstack ports [--json]

Lists serial ports with their USB identity, and for known modems (Huawei, Quectel,
SIMCom, u-blox) which port is the AT port and which carries PPP.

Options:
      --json          one JSON object on stdout: {"modems":[...],"ports":[...]}
  -h, --help          this help`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parse(argv, COMMON_OPTIONS);
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  const ports = await listSerialPorts();
  const modems = await discoverModems();
  if (values['json']) {
    io.stdout.write(`${JSON.stringify({ modems, ports })}\n`);
    return 0;
  }
  if (modems.length === 0) io.stdout.write('No known modem found.\n');
  for (const m of modems) {
    io.stdout.write(
      `${m.vendor} ${m.model ?? 'unknown model'} (${m.vendorId}:${m.productId}): AT ${m.atPort ?? '?'}, data ${m.dataPort ?? '?'}\n`,
    );
  }
  for (const p of ports) {
    const usb = p.vendorId ? ` ${p.vendorId}:${p.productId ?? '?'} if${p.interfaceNumber ?? '?'}` : '';
    io.stdout.write(`  ${p.path}${usb}${p.manufacturer ? ` ${p.manufacturer}` : ''}\n`);
  }
  return 0;
}
