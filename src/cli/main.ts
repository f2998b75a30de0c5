import * as at from './commands/at.js';
import * as demo from './commands/demo.js';
import * as dial from './commands/dial.js';
import * as get from './commands/get.js';
import * as info from './commands/info.js';
import * as mqtt from './commands/mqtt.js';
import * as nc from './commands/nc.js';
import * as ping from './commands/ping.js';
import * as ports from './commands/ports.js';
import * as resolve from './commands/resolve.js';
import * as sim from './commands/sim.js';
import { type Io, processIo, reportError } from './output.js';
import { version } from './version.js';

/**
 * The `cellstack` command: one file per subcommand under commands/, each a thin layer over
 * the public library API. Every subcommand takes --help, prints a one-line reason and exits
 * non-zero on failure (2 for a usage mistake).
 */
interface Command {
  summary: string;
  help: string;
  run(argv: readonly string[], io: Io): Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  demo,
  info,
  at,
  ports,
  dial,
  ping,
  nc,
  resolve,
  get,
  mqtt,
  sim,
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `Usage: cellstack <command> [options]

A userspace cellular stack: AT modem driver, PPP, TCP/IP, TLS and MQTT over a serial port.

Commands:
${list}

Run "cellstack <command> --help" for a command's options. "--device sim" uses the
built-in test modem, so every command can be tried without hardware.
Debug logs: DEBUG=cellstack:* cellstack ...`;
}

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.stderr.write(`cellstack: unknown command "${name}"\n(try cellstack --help)\n`);
    return 2;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    return reportError(io, err);
  }
}
