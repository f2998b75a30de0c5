import type { PppError } from '../../index.js';
import { COMMON_OPTIONS, LINK_HELP, LINK_OPTIONS, linkArgs, parse } from '../args.js';
import type { Io } from '../output.js';
import { openSessionFromArgs, untilSignal } from '../session.js';

export const summary = 'bring the data link up (modem, PPP) and keep it up until Ctrl-C';

export const help = `Usage: cellstack dial --device PATH [options]

Runs the modem lifecycle (SIM PIN, registration, APN, attach, dial), brings PPP up, prints
each phase as it happens, then our address, the peer's and the DNS servers. Stays up until
SIGINT/SIGTERM, then terminates PPP and hangs up. Exit 1 if the link fails or drops.

Options:
      --json          print one line {"localAddress":...,"peerAddress":...,"dns":[...]} once up
                      (phases go to stderr)
  -h, --help          this help

${LINK_HELP}`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...LINK_OPTIONS });
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  const json = values['json'] === true;
  const say = json ? io.stderr : io.stdout;
  const session = await openSessionFromArgs(linkArgs(values, io.env), (phase, detail) => {
    say.write(`${phase}${detail ? `: ${detail}` : ''}\n`);
  });
  const { info } = session;
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ localAddress: info.localAddress, peerAddress: info.peerAddress, dns: info.dns })}\n`,
    );
  } else {
    io.stdout.write(`local  IP address ${info.localAddress}\nremote IP address ${info.peerAddress}\n`);
    for (const d of info.dns) io.stdout.write(`DNS server        ${d}\n`);
  }
  const dropped = new Promise<PppError>((resolve) => session.link.once('down', resolve));
  const outcome = await untilSignal(dropped);
  if (outcome === 'signal') {
    say.write('terminating\n');
    await session.close();
    say.write('down\n');
    return 0;
  }
  await session.close();
  io.stderr.write(`cellstack: ${outcome.code}: ${outcome.message}\n`);
  return 1;
}
