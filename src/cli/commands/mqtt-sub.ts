import { CellstackError, isValidFilter } from '../../index.js';
import { type OptionSpec, parse, UsageError } from '../args.js';
import type { Io } from '../output.js';
import { untilSignal } from '../session.js';
import { formatSummary } from '../status-line.js';
import { deadline, intOption, list, MQTT_HELP, MQTT_OPTIONS, MqttRun, mqttArgs, qosOption } from './mqtt.js';

export const SUB_OPTIONS = {
  ...MQTT_OPTIONS,
  json: { type: 'boolean' },
  count: { type: 'string', short: 'C' },
} as const satisfies OptionSpec;

export const help = `Usage: cellstack mqtt sub --url mqtt[s]://HOST[:PORT] --topic FILTER... [options]

Subscribes to one or more topic filters (+ and # wildcards) and writes one line per message
to standard output: the topic, a space and the payload's bytes as they came (UTF-8 text for
text payloads), or with --json one object per line:
  {"topic":"a/b","payload":"21.5","qos":1,"retain":false}
where a payload that is not valid UTF-8 is given in base64 with "encoding":"base64".
Retained messages count like any other. After a reconnect without the broker's session the
filters are subscribed again.

Runs until --count messages arrived, or SIGINT/SIGTERM (Ctrl-C), then disconnects cleanly
(DISCONNECT, link down) and exits 0. With --timeout MS it stops after MS: exit 0, unless
--count messages were expected (ETIMEDOUT) or the broker was never reached (the last
failure's code, such as ECONNREFUSED or CONNACK_REFUSED). SUBSCRIBE_FAILED when the broker
refuses a filter. Exit 2 for a usage mistake.

Options:
  -t, --topic FILTER     a topic filter; give it again for more (at least one)
  -q, --qos 0|1|2        the maximum QoS asked for every filter (default 0)
  -C, --count N          exit after N messages
      --json             one JSON object per message (see above)
  -w, --timeout MS       stop after MS (see above; default: no limit)

${MQTT_HELP}`;

type Outcome =
  | { kind: 'count' }
  | { kind: 'timeout' }
  | { kind: 'closed'; error: Error | undefined }
  | { kind: 'failed'; error: unknown }
  | { kind: 'output-closed' };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Whether `bytes` is valid UTF-8. */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The --json line of one message (without its newline). */
export function jsonLine(topic: string, payload: Buffer, qos: number, retain: boolean): string {
  const text = isUtf8(payload);
  return JSON.stringify({
    topic,
    payload: text ? payload.toString('utf8') : payload.toString('base64'),
    ...(text ? {} : { encoding: 'base64' }),
    qos,
    retain,
  });
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, SUB_OPTIONS);
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const filters = list(values['topic']);
  if (filters.length === 0) throw new UsageError('--topic FILTER is required');
  for (const f of filters)
    if (!isValidFilter(f)) throw new UsageError(`--topic: not a topic filter: ${JSON.stringify(f)}`);
  const qos = qosOption(values);
  const count = intOption(values, 'count', undefined, 1, Number.MAX_SAFE_INTEGER);
  const json = values['json'] === true;
  const args = mqttArgs(values, io.env);
  if (args.options.mqtt.profile === 'aws-iot' && qos > 1)
    throw new UsageError('--profile aws-iot: AWS IoT takes QoS 0 and 1 only');

  let received = 0;
  /** Set once the outcome is known: messages that come in while ending are not printed. */
  let stopped = false;
  let settle: (o: Outcome) => void = () => undefined;
  const outcome = new Promise<Outcome>((resolve) => {
    settle = resolve;
  });
  const mqtt = new MqttRun(args, io, () => `received ${received}`);
  const { conn } = mqtt;
  void mqtt.closed.then((error) => settle({ kind: 'closed', error }));
  const onOutputError = (err: NodeJS.ErrnoException): void => {
    // A reader that went away (`| head -n 3`) ends us quietly; anything else is a failure.
    if (err.code === 'EPIPE') settle({ kind: 'output-closed' });
    else settle({ kind: 'failed', error: err });
  };
  io.stdout.on('error', onOutputError);

  const stdoutTty = (io.stdout as { isTTY?: boolean }).isTTY === true;
  conn.on('message', (topic, payload, packet) => {
    if (stopped || (count !== undefined && received >= count)) return;
    received++;
    const line = json
      ? `${jsonLine(topic, payload, packet.qos, packet.retain)}\n`
      : Buffer.concat([Buffer.from(`${topic} `), payload, Buffer.from('\n')]);
    // Standard output on the status line's terminal: the line goes above it.
    if (stdoutTty) mqtt.status.around(() => io.stdout.write(line));
    else {
      io.stdout.write(line);
      mqtt.status.update();
    }
    if (count !== undefined && received >= count) settle({ kind: 'count' });
  });
  conn.subscribe(filters, { qos }).then(
    (granted) => {
      if (args.verbose) mqtt.say(`subscribed: ${granted.map((g) => `${g.topic} (QoS ${g.qos})`).join(', ')}`);
    },
    (error: unknown) => settle({ kind: 'failed', error }),
  );

  const timer = deadline(args.timeoutMs);
  void timer.promise.then(() => settle({ kind: 'timeout' }));
  const result = await untilSignal(outcome);
  stopped = true;
  timer.cancel();
  let error: unknown;
  if (result !== 'signal') {
    if (result.kind === 'timeout') {
      const ms = args.timeoutMs ?? 0;
      if (conn.stats().connects === 0) error = mqtt.giveUp(ms, 'not connected');
      else if (count !== undefined)
        error = new CellstackError('ETIMEDOUT', `${received} of ${count} messages within ${ms} ms`);
    } else if (result.kind === 'closed') {
      error = result.error ?? new CellstackError('ECLOSED', 'the connection manager stopped');
    } else if (result.kind === 'failed') {
      error = result.error;
    }
  }
  await mqtt.end();
  // Everything written reaches standard output before the exit (a pipe may be slow).
  if (result === 'signal' || result.kind !== 'output-closed')
    await new Promise<void>((resolve) => io.stdout.write('', () => resolve()));
  if (!args.quiet)
    io.stderr.write(
      `${formatSummary({
        label: 'sub',
        messages: received,
        reconnects: mqtt.reconnects(),
        bytes: conn.stats().bytes,
        elapsedMs: Date.now() - mqtt.started,
      })}\n`,
    );
  if (error !== undefined) throw error;
  return 0;
}
