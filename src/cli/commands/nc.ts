import { NetStack } from '../../index.js';
import { COMMON_OPTIONS, LINK_HELP, LINK_OPTIONS, linkArgs, parse, UsageError } from '../args.js';
import type { Io } from '../output.js';
import { openSessionFromArgs } from '../session.js';

export const summary = 'netcat over the cellular link: stdin to a TCP connection, its data to stdout';

export const help = `Usage: cellstack nc HOST PORT --device PATH [options]

Opens a TCP connection to HOST:PORT over the link (HOST is an IPv4 address or a name,
resolved through the DNS servers the link was given). Standard input goes to
the connection and the connection's data to standard output, byte for byte. The end of
standard input half-closes our side; the command exits 0 once the peer has closed and all
data is written, non-zero with a one-line reason on reset, refusal or timeout.

Options:
  -w, --timeout MS    give up connecting after MS (default 30000)
  -h, --help          this help

${LINK_HELP}`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    ...LINK_OPTIONS,
    timeout: { type: 'string', short: 'w' },
  });
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  const [host, portText] = positionals;
  if (!host || !portText) throw new UsageError('nc needs HOST and PORT');
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`not a port: ${portText}`);
  const connectTimeout = typeof values['timeout'] === 'string' ? Number(values['timeout']) : 30_000;
  if (!Number.isFinite(connectTimeout) || connectTimeout <= 0)
    throw new UsageError('--timeout: not a duration');
  const session = await openSessionFromArgs(linkArgs(values, io.env), (phase, detail) => {
    io.stderr.write(`${phase}${detail ? `: ${detail}` : ''}\n`);
  });
  const stack = new NetStack(session.link);
  try {
    const socket = stack.connect({ host, port });
    const outcome = await new Promise<Error | undefined>((resolve) => {
      const timer = setTimeout(
        () =>
          socket.destroy(
            Object.assign(new Error(`no connection within ${connectTimeout} ms`), { code: 'ETIMEDOUT' }),
          ),
        connectTimeout,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        io.stdin.pipe(socket);
      });
      socket.on('data', (d: Buffer) => {
        if (!io.stdout.write(d)) {
          socket.pause();
          io.stdout.once('drain', () => socket.resume());
        }
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        resolve(err);
      });
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    io.stdin.unpipe(socket);
    if (outcome) throw outcome;
    await new Promise<void>((r) => io.stdout.write('', () => r()));
    return 0;
  } finally {
    stack.close();
    await session.close();
  }
}
