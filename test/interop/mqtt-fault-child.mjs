// The publisher of mqtt-faults.test.ts, in a process of its own so that the test can SIGKILL
// it and start it again from the same store. It runs the built library (dist/): the
// connection manager's whole chain over a modem port that is a TCP connection to the test's
// virtual modem (test/interop/harness/sim-front.ts), which bridges each data call to pppd.
//
//   node mqtt-fault-child.mjs '<json config>'   (see `cfg` below)
//
// It publishes fault/<i> for i = from..last at QoS 1, one every `intervalMs`, but only while
// i < limit (the test raises the limit on stdin with `limit <n>`, so the messages are spread
// over the faults). stdout, one line each (a pipe is written synchronously on Linux, so a
// line printed before a SIGKILL reaches the test):
//   started <pid>
//   accepted <i>       publish() resolved: the message is durable in the store
//   acked <i>          PUBACK (also for messages a previous process stored and this one resent)
//   state <state> attempt=<n> [recovery=<level> code=<code> delay=<ms>] [detail=<json>]
//   all-accepted
//   stats <json>       after `end` on stdin, before exiting 0
// Failures that must not happen: `publish-error <i> <code>`, `ack-error <i> <code>`, `closed
// <code>` (the manager gave up), each followed by exit 2 or 3.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { createInterface } from 'node:readline';

const { connect } = await import(new URL('../../dist/index.js', import.meta.url).href);

/**
 * @type {{ port: number, url: string, ca?: string, clientId: string, store: string,
 *   from: number, last: number, limit: number, intervalMs: number, keepalive: number,
 *   lcpEchoInterval: number, lcpEchoFailure: number, initialDelayMs: number,
 *   maxDelayMs: number, lifetimeMs: number }}
 */
const cfg = JSON.parse(process.argv[2] ?? '{}');

/** The payload of message i (mqtt-faults.test.ts checks what the subscriber got against it). */
function payloadOf(i) {
  return `fault-message ${i} ${createHash('sha256').update(`cellstack-fault-${i}`).digest('hex').slice(0, 32)}`;
}

const out = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Never outlive the test: a hard bound, and the end of stdin (the test went away).
setTimeout(() => process.exit(4), cfg.lifetimeMs ?? 600_000);

/** The modem port: a TCP connection to the virtual modem (no DTR: hang-up is `+++` and ATH). */
function openPort() {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port: cfg.port });
    const fail = (err) => reject(err);
    s.once('error', fail);
    s.once('connect', () => {
      s.off('error', fail);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      resolve({
        path: 'sim-over-tcp',
        stream: s,
        close: () =>
          new Promise((done) => {
            if (s.destroyed) return done();
            const t = setTimeout(() => {
              s.destroy();
              done();
            }, 1000);
            s.once('close', () => {
              clearTimeout(t);
              done();
            });
            s.end();
          }),
      });
    });
  });
}

const conn = connect({
  modem: {
    path: 'sim-over-tcp',
    openPort,
    apn: 'internet',
    lcpEchoInterval: cfg.lcpEchoInterval,
    lcpEchoFailure: cfg.lcpEchoFailure,
    registrationTimeoutMs: 20_000,
    linkTimeoutMs: 15_000,
  },
  mqtt: {
    url: cfg.url,
    clientId: cfg.clientId,
    clean: false,
    keepalive: cfg.keepalive,
    store: cfg.store,
    connectTimeoutMs: 15_000,
    ...(cfg.ca ? { ca: readFileSync(cfg.ca) } : {}),
  },
  reconnect: { initialDelayMs: cfg.initialDelayMs, maxDelayMs: cfg.maxDelayMs },
});

const indexOf = (topic) => Number(topic.slice(topic.lastIndexOf('/') + 1));

conn.on('state', (s) => {
  let line = `state ${s.state} attempt=${s.attempt}`;
  if (s.recovery) line += ` recovery=${s.recovery}`;
  if (s.reason) line += ` code=${s.reason.code ?? s.reason.name}`;
  if (s.delayMs !== undefined) line += ` delay=${s.delayMs}`;
  if (s.detail) line += ` detail=${JSON.stringify(s.detail)}`;
  out(line);
  if (s.reason) process.stderr.write(`${new Date().toISOString()} ${s.state}: ${s.reason.message}\n`);
});
conn.on('acked', (a) => {
  if (a.error) {
    out(`ack-error ${indexOf(a.topic)} ${a.error.code}`);
    process.exit(2);
  }
  out(`acked ${indexOf(a.topic)}`);
});
conn.on('close', (err) => {
  if (!err) return;
  out(`closed ${err.code ?? err.name}`);
  process.stderr.write(`the manager gave up: ${err.message}\n`);
  process.exit(3);
});

let limit = cfg.limit;
let wake;
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'limit') {
    limit = Math.max(limit, Number(arg));
    wake?.();
  } else if (cmd === 'end') {
    void finish();
  }
});
rl.on('close', () => process.exit(5));

async function finish() {
  await conn.end();
  const s = conn.stats();
  out(
    `stats ${JSON.stringify({ connects: s.connects, redials: s.redials, modemResets: s.modemResets, failures: s.failures, bytes: s.bytes, mqtt: s.mqtt })}`,
  );
  process.exit(0);
}

out(`started ${process.pid}`);
for (let i = cfg.from; i <= cfg.last; i++) {
  while (i >= limit) await new Promise((r) => (wake = r));
  try {
    await conn.publish(`fault/${i}`, payloadOf(i), { qos: 1 });
  } catch (err) {
    out(`publish-error ${i} ${err.code ?? err.name}`);
    process.stderr.write(`publish ${i}: ${err.message}\n`);
    process.exit(2);
  }
  out(`accepted ${i}`);
  await sleep(cfg.intervalMs);
}
out('all-accepted');
