import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Modem, ModemError, type Urc } from '../../index.js';
import { COMMON_OPTIONS, DEVICE_HELP, DEVICE_OPTIONS, deviceArgs, parse, UsageError } from '../args.js';
import { openFromArgs } from '../device.js';
import type { Io } from '../output.js';

export const summary = 'send AT commands: one-shot, or an interactive terminal';

export const help = `Usage: cellstack at --device PATH [options] [COMMAND...]

Sends each COMMAND (e.g. AT+CSQ, or +CSQ) and prints the modem's answer. Without a
COMMAND it is an interactive AT terminal with history (commands are read line by line
when standard input is not a terminal). Unsolicited result codes are printed as they come.
The modem is not reset or reconfigured. Exit 1 if a command fails.

Options:
      --timeout MS    time allowed for each command (default: by command, 10 s for most)
      --json          one JSON object per command on stdout
  -h, --help          this help

${DEVICE_HELP}`;

/** Lines the terminal never writes to its history file: they may carry a PIN or password. */
const SECRET_COMMANDS = /\+(CPIN|CLCK|CPWD|CPIN2)\b|\^CPIN=|PASS|PWD|AUTH/i;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    ...DEVICE_OPTIONS,
    timeout: { type: 'string' },
  });
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  let timeoutMs: number | undefined;
  if (typeof values['timeout'] === 'string') {
    timeoutMs = Number(values['timeout']);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new UsageError(`--timeout: not a duration: ${values['timeout']}`);
  }
  const json = values['json'] === true;
  const modem = await openFromArgs(deviceArgs(values, io.env), { initialize: false });
  const printUrc = (urc: Urc): void => {
    io.stdout.write(json ? `${JSON.stringify({ urc: urc.line, kind: urc.kind })}\n` : `${urc.line}\n`);
  };
  modem.on('urc', printUrc);
  try {
    if (positionals.length > 0) {
      let status = 0;
      for (const c of positionals) if (!(await runOne(modem, c, io, json, timeoutMs, true))) status = 1;
      return status;
    }
    return await interactive(modem, io, json, timeoutMs);
  } finally {
    modem.off('urc', printUrc);
    await modem.close();
  }
}

function normalise(input: string): string {
  const t = input.trim();
  if (t === '+++' || /^at/i.test(t) || t.length === 0) return t;
  return `AT${t}`;
}

async function runOne(
  modem: Modem,
  input: string,
  io: Io,
  json: boolean,
  timeoutMs: number | undefined,
  reportFailure: boolean,
): Promise<boolean> {
  const command = normalise(input);
  if (command.length === 0) return true;
  const secret = SECRET_COMMANDS.test(command);
  const display = secret ? command.replace(/=.*$/, '=***') : command;
  try {
    const r = await modem.command(command, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      raw: command === '+++',
      display,
    });
    if (json)
      io.stdout.write(`${JSON.stringify({ command: display, lines: r.lines, final: r.final.text })}\n`);
    else io.stdout.write(`${[...r.lines, r.final.text].join('\n')}\n`);
    if (r.final.kind === 'CONNECT') {
      io.stderr.write('cellstack: the modem is in data mode now; hanging up\n');
      await modem.hangUp();
    }
    return true;
  } catch (err) {
    if (!(err instanceof ModemError)) throw err;
    if (json)
      io.stdout.write(`${JSON.stringify({ command: display, error: err.code, message: err.message })}\n`);
    else if (!reportFailure) io.stdout.write(`${err.message}\n`);
    if (reportFailure) io.stderr.write(`cellstack: ${err.code}: ${err.message}\n`);
    if (err.code === 'CLOSED') throw err;
    return false;
  }
}

function historyFile(env: NodeJS.ProcessEnv): string {
  const base = env['XDG_STATE_HOME'] || join(homedir(), '.local', 'state');
  return join(base, 'cellstack', 'at_history');
}

function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 500);
  } catch {
    return [];
  }
}

async function interactive(
  modem: Modem,
  io: Io,
  json: boolean,
  timeoutMs: number | undefined,
): Promise<number> {
  const tty = io.stdin.isTTY === true;
  const file = historyFile(io.env);
  const rl = createInterface({
    input: io.stdin,
    output: tty ? io.stdout : undefined,
    terminal: tty,
    history: tty ? loadHistory(file) : [],
    historySize: 500,
    removeHistoryDuplicates: true,
  });
  if (tty) {
    io.stdout.write(`Connected to ${modem.port.path}. Type AT commands; Ctrl-D or "exit" quits.\n`);
    rl.setPrompt('AT> ');
    rl.prompt();
  }
  let failures = 0;
  for await (const line of rl) {
    const t = line.trim();
    if (t === 'exit' || t === 'quit') break;
    if (t.length > 0) {
      if (tty && !SECRET_COMMANDS.test(t)) {
        try {
          mkdirSync(dirname(file), { recursive: true });
          appendFileSync(file, `${t}\n`);
        } catch {
          // history is a convenience
        }
      }
      if (!(await runOne(modem, t, io, json, timeoutMs, !tty))) failures++;
    }
    if (tty) rl.prompt();
  }
  rl.close();
  return tty || failures === 0 ? 0 : 1;
}
