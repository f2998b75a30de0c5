import { NetStack } from '../../index.js';
import { COMMON_OPTIONS, LINK_HELP, LINK_OPTIONS, linkArgs, parse, UsageError } from '../args.js';
import type { Io } from '../output.js';
import { openSessionFromArgs } from '../session.js';

export const summary = 'resolve a host name through the DNS servers the link was given';

export const help = `Usage: cellstack resolve NAME --device PATH [options]

Brings the link up and asks the DNS servers that IPCP handed out (primary, then secondary)
for NAME's IPv4 addresses, following CNAMEs; the host's own resolver is never used. Prints
one address per line. Exit 1 with the error code (ENOTFOUND, ENODATA, ESERVFAIL, ETIMEOUT...)
when the name does not resolve.

Options:
      --json          print {"name":...,"addresses":[...],"cname":[...]} instead
  -h, --help          this help

${LINK_HELP}`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    ...LINK_OPTIONS,
    json: { type: 'boolean' },
  });
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  const [name, extra] = positionals;
  if (!name) throw new UsageError('resolve needs a NAME');
  if (extra !== undefined) throw new UsageError(`unexpected argument: ${extra}`);
  const session = await openSessionFromArgs(linkArgs(values, io.env), (phase, detail) => {
    io.stderr.write(`${phase}${detail ? `: ${detail}` : ''}\n`);
  });
  const stack = new NetStack(session.link);
  try {
    const answer = await stack.resolve(name);
    if (values['json']) {
      io.stdout.write(
        `${JSON.stringify({ name: answer.name, addresses: answer.addresses, cname: answer.cname })}\n`,
      );
    } else {
      for (const a of answer.addresses) io.stdout.write(`${a}\n`);
    }
    return 0;
  } finally {
    stack.close();
    await session.close();
  }
}
