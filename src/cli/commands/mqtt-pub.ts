import { CellstackError, isValidTopic } from '../../index.js';
import { type OptionSpec, parse, UsageError } from '../args.js';
import type { Io } from '../output.js';
import { untilSignal } from '../session.js';
import { formatSummary } from '../status-line.js';
import {
  deadline,
  list,
  MQTT_HELP,
  MQTT_OPTIONS,
  MqttRun,
  mqttArgs,
  qosOption,
  readOptionFile,
  str,
} from './mqtt.js';

export const PUB_OPTIONS = {
  ...MQTT_OPTIONS,
  message: { type: 'string', short: 'm' },
  file: { type: 'string', short: 'f' },
  retain: { type: 'boolean', short: 'r' },
  store: { type: 'string' },
} as const satisfies OptionSpec;

/** Messages waiting for their acknowledgement at most; reading standard input pauses meanwhile. */
export const WINDOW_MESSAGES = 500;
/** Payload and topic bytes waiting at most. */
export const WINDOW_BYTES = 512 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

export const help = `Usage: cellstack mqtt pub --url mqtt[s]://HOST[:PORT] --topic T [options]

Publishes to topic T and exits 0 once every message is acknowledged as its QoS requires:
QoS 0 once written to the connection, QoS 1 on PUBACK, QoS 2 on PUBCOMP. The message is
--message M, or the bytes of --file F, or else each line of standard input (without its
line end; empty lines are skipped), published as the lines arrive; the command exits at the
end of input once all are acknowledged. At most ${WINDOW_MESSAGES} messages (${WINDOW_BYTES / 1024} KiB) wait for their
acknowledgement at a time; reading pauses meanwhile.

Messages published while the broker is out of reach wait for the connection manager to
reconnect: QoS 1 and 2 in the store (memory, or --store DIR on disk), QoS 0 held back until
connected. With --store, what a run could not deliver is sent by the next run with the same
--store and --client-id, which also waits for those acknowledgements.

Exit 0 once all are acknowledged. Otherwise one line "cellstack: CODE: reason" and exit 1:
--timeout ran out (the code of the last failure when the broker was never reached, such as
ECONNREFUSED, ENOTFOUND, CONNACK_REFUSED or a certificate's code; ETIMEDOUT when connected
but not everything was acknowledged), PUBLISH_FAILED (an MQTT 5 broker refused a message),
ECANCELED (SIGINT/SIGTERM while messages wait for their acknowledgement; Ctrl-C once all
are acknowledged exits 0), a file error (ENOENT...) or a failure no retry can fix. Exit 2
for a usage mistake.

Options:
  -t, --topic T          the topic name (required; no wildcards)
  -m, --message M        the message ("" is an empty message)
  -f, --file F           the bytes of file F as one message ("-": all of standard input)
  -q, --qos 0|1|2        quality of service (default 0)
  -r, --retain           the broker keeps the message for later subscribers
      --store DIR        keep QoS 1/2 messages on disk until acknowledged (with --client-id)
  -w, --timeout MS       give up when not everything is acknowledged MS after the input is
                         complete (after the last line of standard input); default
                         ${DEFAULT_TIMEOUT_MS}, 0 for no limit

${MQTT_HELP}`;

type Outcome =
  | { kind: 'done' }
  | { kind: 'timeout' }
  | { kind: 'closed'; error: Error | undefined }
  | { kind: 'input'; error: unknown };

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, PUB_OPTIONS);
  if (values['help']) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const topics = list(values['topic']);
  if (topics.length === 0) throw new UsageError('--topic T is required');
  if (topics.length > 1) throw new UsageError('pub takes one --topic');
  const topic = topics[0] as string;
  if (!isValidTopic(topic))
    throw new UsageError(`--topic: not a topic name (no + or # in a name): ${JSON.stringify(topic)}`);
  const qos = qosOption(values);
  const retain = values['retain'] === true;
  const message = str(values['message']);
  const file = str(values['file']);
  if (message !== undefined && file !== undefined) throw new UsageError('--message or --file, not both');
  const store = str(values['store']);
  if (store === '') throw new UsageError('--store: give a directory');
  const args = mqttArgs(values, io.env, store === undefined ? {} : { store });
  if (args.options.mqtt.profile === 'aws-iot' && qos > 1)
    throw new UsageError('--profile aws-iot: AWS IoT takes QoS 0 and 1 only');
  const timeoutMs = args.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  // The input, read before anything connects when it is one message.
  let source: AsyncIterable<Buffer>;
  const lineMode = message === undefined && file === undefined;
  if (message !== undefined) source = once(Buffer.from(message));
  else if (file === '-') source = once(await readAll(io.stdin));
  else if (file !== undefined) source = once(readOptionFile('file', file));
  else source = splitLines(io.stdin);

  let published = 0;
  let acked = 0;
  let failed = 0;
  let firstError: unknown;
  let outstanding = 0;
  let outstandingBytes = 0;
  let ackEvents = 0;
  let connected = false;
  let inputDone = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  let settle: (o: Outcome) => void = () => undefined;
  const outcome = new Promise<Outcome>((resolve) => {
    settle = resolve;
  });

  const mqtt = new MqttRun(args, io, () => `sent ${published} acked ${acked} pending ${outstanding}`);
  const { conn } = mqtt;
  conn.on('acked', (a) => {
    if (!a.error) ackEvents++;
    check();
  });
  conn.on('connect', () => {
    connected = true;
    check();
  });
  void mqtt.closed.then((error) => settle({ kind: 'closed', error }));

  /** Done: the input is in and acknowledged, and with a store nothing of earlier runs is left. */
  function check(): void {
    if (!inputDone || outstanding > 0) return;
    if (store !== undefined && (!connected || conn.stats().mqtt.pending > 0)) return;
    settle({ kind: 'done' });
  }

  const room = async (): Promise<void> => {
    while (!stopped && (outstanding >= WINDOW_MESSAGES || outstandingBytes >= WINDOW_BYTES))
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
  };

  const topicBytes = Buffer.byteLength(topic);
  /** Messages go to the manager one after the other, in input order. */
  let chain: Promise<void> = Promise.resolve();
  const publish = async (payload: Buffer): Promise<void> => {
    await room();
    if (stopped) return;
    const size = payload.length + topicBytes;
    published++;
    outstanding++;
    outstandingBytes += size;
    const release = (): void => {
      outstanding--;
      outstandingBytes -= size;
      const w = wake;
      wake = undefined;
      w?.();
      check();
    };
    chain = chain.then(async () => {
      // QoS 0 waits for a connection here rather than in the manager's offline queue: that
      // queue is bounded (1000 messages, 1 MiB) and we hold the input back ourselves anyway.
      if (qos === 0 && !conn.connected) await conn.ready().catch(() => undefined);
      if (stopped) return;
      const p = conn.publish(topic, payload, { qos, retain });
      p.acked.then(
        () => {
          acked++;
          release();
        },
        (err: unknown) => {
          // After the outcome, unsent QoS 0 messages are rejected by end(): not failures of theirs.
          if (!stopped) {
            failed++;
            firstError ??= err;
          }
          release();
        },
      );
      // QoS 1/2: the next goes once the store holds this one.
      await p.catch(() => undefined);
    });
  };

  if (lineMode && io.stdin.isTTY) mqtt.say('reading messages from standard input, one per line; Ctrl-D ends');
  let timer: ReturnType<typeof deadline> | undefined;
  void (async () => {
    try {
      for await (const payload of source) {
        if (stopped) break;
        if (lineMode && payload.length === 0) continue;
        await publish(payload);
      }
    } catch (error) {
      if (!stopped) settle({ kind: 'input', error });
      return;
    }
    if (stopped) return;
    inputDone = true;
    timer = deadline(timeoutMs);
    void timer.promise.then(() => settle({ kind: 'timeout' }));
    check();
  })();

  const result = await untilSignal(outcome);
  stopped = true;
  timer?.cancel();
  wake?.();
  if (lineMode && !inputDone) (io.stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  const keptNote = (): string => {
    const kept = store === undefined || qos === 0 ? 0 : conn.stats().mqtt.pending;
    return kept > 0 ? `; ${kept} kept in the store ${store}` : '';
  };
  const missing = `${outstanding} of ${published} message${published === 1 ? '' : 's'} not acknowledged`;
  let error: unknown;
  if (result === 'signal') {
    // Ctrl-C with everything read so far acknowledged is how an interactive pub ends.
    if (outstanding > 0) error = new CellstackError('ECANCELED', `interrupted with ${missing}${keptNote()}`);
  } else if (result.kind === 'timeout') {
    error = mqtt.giveUp(timeoutMs, missing, keptNote());
  } else if (result.kind === 'closed') {
    error = result.error ?? new CellstackError('ECLOSED', 'the connection manager stopped');
  } else if (result.kind === 'input') {
    error = result.error;
  }
  error ??= firstError;
  // The counts as the outcome found them (acknowledgements may still come in while ending).
  const counted = { acked, failed, fromStore: Math.max(0, ackEvents - (qos > 0 ? acked : 0)) };
  await mqtt.end();
  if (!args.quiet) {
    const s = conn.stats();
    io.stderr.write(
      `${formatSummary({
        label: 'pub',
        messages: published,
        ...counted,
        reconnects: mqtt.reconnects(),
        bytes: s.bytes,
        elapsedMs: Date.now() - mqtt.started,
      })}\n`,
    );
  }
  if (error !== undefined) throw error;
  return 0;
}

async function* once(payload: Buffer): AsyncGenerator<Buffer> {
  yield payload;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts);
}

/**
 * The lines of a byte stream, as bytes: split at LF, a CR before it dropped, the last line
 * given even without its LF. Bytes stay as they are (no decoding).
 */
export async function* splitLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let pieces: Buffer[] = [];
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (;;) {
      const lf = buf.indexOf(0x0a, start);
      if (lf < 0) break;
      const part = buf.subarray(start, lf);
      const line = pieces.length === 0 ? part : Buffer.concat([...pieces, part]);
      pieces = [];
      yield withoutCr(line);
      start = lf + 1;
    }
    if (start < buf.length) pieces.push(buf.subarray(start));
  }
  if (pieces.length > 0) yield withoutCr(Buffer.concat(pieces));
}

function withoutCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
}
