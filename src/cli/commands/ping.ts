import { isIpv4, NetStack, NetworkError, type PingResult } from '../../index.js';
import { COMMON_OPTIONS, LINK_HELP, LINK_OPTIONS, linkArgs, parse, UsageError } from '../args.js';
import type { Io } from '../output.js';
import { openSessionFromArgs } from '../session.js';

export const summary = 'ping a host over the cellular link';

export const help = `Usage: cellstack ping HOST --device PATH [options]

Brings the link up, sends ICMP echo requests to HOST (an IPv4 address, or a name resolved
through the DNS servers the link was given) one second apart,
prints a line per reply with its round-trip time and a summary. Exit 0 when at least one
reply came back, 1 when none did.

Options:
  -c, --count N       echo requests to send (default 4)
  -W, --timeout MS    time to wait for each reply (default 5000)
  -s, --size N        payload octets (default 56)
  -h, --help          this help

${LINK_HELP}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    ...LINK_OPTIONS,
    count: { type: 'string', short: 'c' },
    timeout: { type: 'string', short: 'W' },
    size: { type: 'string', short: 's' },
  });
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  const host = positionals[0];
  if (!host) throw new UsageError('ping needs a HOST');
  const count = int(values['count'], 4, '--count', 1, 100_000);
  const timeoutMs = int(values['timeout'], 5000, '--timeout', 1, 600_000);
  const size = int(values['size'], 56, '--size', 0, 1400);
  const session = await openSessionFromArgs(linkArgs(values, io.env), (phase, detail) => {
    io.stderr.write(`${phase}${detail ? `: ${detail}` : ''}\n`);
  });
  const stack = new NetStack(session.link);
  const rtts: number[] = [];
  let sent = 0;
  try {
    const address = isIpv4(host) ? host : (await stack.resolve(host)).addresses[0];
    if (address === undefined) throw new NetworkError('EINVAL', `${host} has no IPv4 address`);
    const shown = address === host ? host : `${host} (${address})`;
    io.stdout.write(`PING ${shown} from ${session.info.localAddress}: ${size} data bytes\n`);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      if (i > 0) await sleep(1000);
      sent++;
      pending.push(
        stack.ping(address, { timeoutMs, size }).then(
          (r: PingResult) => {
            rtts.push(r.rttMs);
            io.stdout.write(
              `${r.bytes + 8} bytes from ${r.address}: icmp_seq=${r.sequence} ttl=${r.ttl} time=${r.rttMs.toFixed(1)} ms\n`,
            );
          },
          (err: unknown) => {
            if (!(err instanceof NetworkError)) throw err;
            io.stdout.write(`${err.message}\n`);
          },
        ),
      );
    }
    await Promise.all(pending);
  } finally {
    stack.close();
    await session.close();
  }
  const loss = sent === 0 ? 0 : Math.round(((sent - rtts.length) / sent) * 100);
  io.stdout.write(
    `--- ${host} ping statistics ---\n${sent} packets transmitted, ${rtts.length} received, ${loss}% packet loss\n`,
  );
  if (rtts.length > 0) {
    const min = Math.min(...rtts);
    const max = Math.max(...rtts);
    const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
    io.stdout.write(`rtt min/avg/max = ${min.toFixed(1)}/${avg.toFixed(1)}/${max.toFixed(1)} ms\n`);
  }
  return rtts.length > 0 ? 0 : 1;
}

function int(v: string | boolean | undefined, dflt: number, name: string, min: number, max: number): number {
  if (typeof v !== 'string') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${name}: expected an integer ${min}..${max}, got ${v}`);
  return n;
}
