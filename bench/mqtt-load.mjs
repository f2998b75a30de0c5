// The client half of bench/mqtt.bench.ts (b) and (c), in a process of its own started with
// `node --expose-gc`, so that its RSS and CPU time are the MQTT client's alone (no vitest) and
// a forced GC comes before each RSS reading. It runs the built package (dist/: `npm run build`).
//
// Usage: node --expose-gc bench/mqtt-load.mjs CONFIG.json; prints one JSON line.
// CONFIG: { mode: 'rate' | 'rss', port, ca (PEM), servername, topic, payload (octets), ... }
//  - rate: { n, window, rounds, clients: ['ours', 'mqttjs', 'ours-file'], storeDir } ->
//    { rounds: [{ client, round, secs, rate, cpuUsPerPublish }] }. Each round is a fresh
//    connection; timed from the first publish to the last PUBACK; the clients take turns
//    (one warm-up round each first, not reported).
//  - rss: { n, window, every, client: 'ours' | 'mqttjs', store: 'file' | 'memory', storeDir } ->
//    { checkpoints: [{ published, rssMb, heapMb, externalMb, arrayBuffersMb }], secs, fileBytes }.
// Run with no CONFIG (as `npm run bench` does with every .mjs here), it says so and exits 0.
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { getHeapSpaceStatistics } from 'node:v8';
import mqtt from 'mqtt';
import { FileStore, MemoryStore, MqttClient } from '../dist/index.js';

if (process.argv.length < 3) {
  console.log(
    'bench/mqtt-load.mjs is a helper of bench/mqtt.bench.ts: CELLSTACK_BENCH=1 npx vitest run --project bench bench/mqtt.bench.ts',
  );
  process.exit(0);
}

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const PAYLOAD = Buffer.alloc(config.payload, 0x61);

const tlsOptions = () => ({
  host: '127.0.0.1',
  port: config.port,
  ca: config.ca,
  servername: config.servername,
});

/** Our MqttClient over node:tls. */
async function ours(id, store) {
  const socket = tlsConnect(tlsOptions());
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const client = new MqttClient({ store });
  client.on('error', () => {});
  await client.connect(socket, { clientId: id, protocolVersion: 4, clean: true, keepalive: 60 });
  return {
    /** Starts one QoS 1 publish; `done` on its PUBACK. */
    publish: (done, fail) => client.publish(config.topic, PAYLOAD, { qos: 1 }).acked.then(done, fail),
    end: () => client.end(),
  };
}

/** MQTT.js over the same node:tls options (its own tls.connect). */
async function mqttjs(id) {
  const client = mqtt.connect(`mqtts://127.0.0.1:${config.port}`, {
    ...tlsOptions(),
    clientId: id,
    protocolVersion: 4,
    clean: true,
    keepalive: 60,
    reconnectPeriod: 0,
  });
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return {
    publish: (done, fail) =>
      client.publish(config.topic, PAYLOAD, { qos: 1 }, (err) => (err ? fail(err) : done())),
    end: () => client.endAsync(),
  };
}

/** `n` publishes, at most `window` unacknowledged; `onAcked(count)` after each PUBACK. */
function run(c, n, window, onAcked) {
  return new Promise((resolve, reject) => {
    let started = 0;
    let acked = 0;
    let paused = false;
    const start = () => {
      started++;
      c.publish(() => {
        acked++;
        const wait = onAcked?.(acked);
        if (acked === n) resolve();
        else if (started < n) {
          if (wait) {
            paused = true;
            wait.then(() => {
              paused = false;
              while (started < n && started - acked < window) start();
            });
          } else if (!paused) start();
        }
      }, reject);
    };
    for (let k = 0; k < Math.min(window, n); k++) start();
  });
}

async function open(kind, id) {
  if (kind === 'mqttjs') return mqttjs(id);
  if (kind === 'ours-file') {
    const dir = join(config.storeDir, id);
    rmSync(dir, { recursive: true, force: true });
    return ours(id, new FileStore({ dir, clientId: id }));
  }
  return ours(id, new MemoryStore());
}

async function rate() {
  const out = [];
  for (let round = -1; round < config.rounds; round++) {
    for (const kind of config.clients) {
      const c = await open(kind, `bench-${kind}-${round + 1}`);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await run(c, config.n, config.window);
      const secs = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      await c.end();
      if (round >= 0)
        out.push({
          client: kind,
          round,
          secs,
          rate: config.n / secs,
          cpuUsPerPublish: (cpu.user + cpu.system) / config.n,
        });
    }
  }
  return { rounds: out };
}

const MB = 1024 * 1024;

async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
}

function sample(published) {
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((x) => [x.space_name, x.physical_space_size / MB]),
  );
  return {
    published,
    spaces,
    rssMb: m.rss / MB,
    heapMb: m.heapUsed / MB,
    externalMb: m.external / MB,
    arrayBuffersMb: m.arrayBuffers / MB,
  };
}

async function rss() {
  const kind = config.client === 'mqttjs' ? 'mqttjs' : config.store === 'file' ? 'ours-file' : 'ours';
  const id = `bench-rss-${kind}`;
  const c = await open(kind, id);
  await settle();
  const checkpoints = [sample(0)];
  const t0 = performance.now();
  await run(c, config.n, config.window, (acked) => {
    if (acked % config.every !== 0 || acked === config.n) return undefined;
    // Wait for the publishes in flight (at most `window`) before reading: a checkpoint is at a quiet point.
    return settle().then(() => {
      checkpoints.push(sample(acked));
    });
  });
  const secs = (performance.now() - t0) / 1000;
  await settle();
  checkpoints.push(sample(config.n));
  let fileBytes;
  if (kind === 'ours-file') {
    try {
      fileBytes = statSync(join(config.storeDir, id, `${id}.log`)).size;
    } catch {}
  }
  await c.end();
  return { checkpoints, secs, fileBytes, gc: typeof globalThis.gc === 'function' };
}

const result = config.mode === 'rss' ? await rss() : await rate();
console.log(JSON.stringify(result));
process.exit(0);
