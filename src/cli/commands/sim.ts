import { isIpv4 } from '../../index.js';
import { LINK_PROFILES, type LinkProfileName, SimService, type SimServiceOptions } from '../../sim/index.js';
import { COMMON_OPTIONS, parse, UsageError } from '../args.js';
import type { Io } from '../output.js';
import { untilSignal } from '../session.js';

export const summary = 'serve the virtual modem and its network on a pty or a TCP port, for any program';

export const help = `Usage: cellstack sim (--pty PATH | --tcp PORT) [options]

Serves the built-in virtual modem, with a network behind its CONNECT, the way a USB dongle
appears: --pty PATH makes PATH a serial device any program can open (socat makes the pty),
--tcp PORT serves it on 127.0.0.1:PORT. Point an application at it unchanged: it sees AT
commands, SIM PIN, registration, ATD*99# -> CONNECT, then PPP (the network assigns
10.0.0.2, DNS 10.0.0.1), and through a gateway its TCP and UDP reach this machine's
loopback only (or what --allow adds). Names resolve from --dns only; nothing is forwarded.
Runs until Ctrl-C.

Options:
      --pty PATH         make PATH a pseudo-terminal to the modem (needs socat)
      --tcp PORT         listen on 127.0.0.1:PORT (0: any free port, printed)
      --vendor NAME      answer like generic (default), quectel, simcom, huawei or ublox
      --pin PIN          the SIM asks for this PIN (default: no PIN)
      --auth KIND        PPP authentication the network requires: none (default), pap, chap
      --user U           with --auth: the user name (default "cellstack")
      --password P       with --auth: the password (or $CELLSTACK_PASSWORD)
      --profile NAME     the radio: ${Object.keys(LINK_PROFILES).join(', ')} (default: ideal)
      --seed N           seed of the profile's jitter and loss
      --allow CIDR       a destination the device may reach besides 127.0.0.0/8 (repeatable)
      --dns NAME=ADDR    a name the network's DNS answers (repeatable; ADDR is IPv4)
  -h, --help             this help`;

const SIM_OPTIONS = {
  pty: { type: 'string' },
  tcp: { type: 'string' },
  vendor: { type: 'string' },
  pin: { type: 'string' },
  auth: { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  profile: { type: 'string' },
  seed: { type: 'string' },
  allow: { type: 'string', multiple: true },
  dns: { type: 'string', multiple: true },
} as const;

const VENDORS = ['generic', 'quectel', 'simcom', 'huawei', 'ublox'] as const;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...SIM_OPTIONS });
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const v = values as Record<string, string | boolean | string[] | undefined>;
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const list = (k: string): string[] => (Array.isArray(v[k]) ? (v[k] as string[]) : []);
  const pty = str('pty');
  const tcp = str('tcp');
  if ((pty === undefined) === (tcp === undefined))
    throw new UsageError('give one of --pty PATH or --tcp PORT');
  const tcpPort = tcp === undefined ? undefined : Number(tcp);
  if (tcpPort !== undefined && !(Number.isInteger(tcpPort) && tcpPort >= 0 && tcpPort <= 65535))
    throw new UsageError(`--tcp: not a port: ${tcp}`);
  const vendor = str('vendor') ?? 'generic';
  if (!(VENDORS as readonly string[]).includes(vendor))
    throw new UsageError(`--vendor: one of ${VENDORS.join(', ')}, not "${vendor}"`);
  const profile = str('profile');
  if (profile !== undefined && !(profile in LINK_PROFILES))
    throw new UsageError(`--profile: one of ${Object.keys(LINK_PROFILES).join(', ')}, not "${profile}"`);
  const auth = str('auth') ?? 'none';
  if (auth !== 'none' && auth !== 'pap' && auth !== 'chap')
    throw new UsageError(`--auth: none, pap or chap, not "${auth}"`);
  const password = str('password') ?? io.env['CELLSTACK_PASSWORD'];
  if (auth !== 'none' && !password) throw new UsageError('--auth needs --password (or $CELLSTACK_PASSWORD)');
  const seed = str('seed') === undefined ? undefined : Number(str('seed'));
  if (seed !== undefined && !Number.isInteger(seed)) throw new UsageError('--seed: an integer');
  const dns: Record<string, string> = {};
  for (const d of list('dns')) {
    const [name, addr] = d.split('=');
    if (!name || !addr || !isIpv4(addr)) throw new UsageError(`--dns: NAME=IPv4, not "${d}"`);
    dns[name] = addr;
  }
  const allow = ['127.0.0.0/8', ...list('allow')];
  const pin = str('pin');
  const options: SimServiceOptions = {
    modem: { vendor: vendor as (typeof VENDORS)[number], ...(pin ? { sim: { pin } } : {}) },
    network: {
      ppp:
        auth === 'none'
          ? {}
          : {
              auth: auth === 'pap' ? 'pap' : 'chap-md5',
              credentials: [{ user: str('user') ?? 'cellstack', password: password as string }],
            },
      ...(profile ? { profile: profile as LinkProfileName } : {}),
      ...(seed === undefined ? {} : { seed }),
    },
    gateway: { allow, dns },
  };
  const service = new SimService(options);
  try {
    if (pty !== undefined) {
      await service.openPty(pty);
      io.stdout.write(`sim: ${vendor} modem on ${pty}\n`);
    } else {
      const port = await service.listenTcp(tcpPort as number);
      io.stdout.write(`sim: ${vendor} modem on 127.0.0.1:${port}\n`);
    }
    io.stdout.write(
      `sim: network 10.0.0.1, device 10.0.0.2, DNS ${
        Object.keys(dns).length
          ? Object.entries(dns)
              .map(([n, a]) => `${n}=${a}`)
              .join(' ')
          : '(no names)'
      }; reaches ${allow.join(' ')}${profile ? `; radio ${profile}` : ''}\n`,
    );
    service.network.on('up', (i) => io.stderr.write(`sim: call up, device ${i.peerAddress}\n`));
    service.network.on('down', (reason) => io.stderr.write(`sim: call down (${reason})\n`));
    await untilSignal(new Promise<never>(() => {}));
    return 0;
  } finally {
    service.close();
  }
}
