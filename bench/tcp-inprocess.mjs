// The stack's in-process ceiling: two complete stacks (TCP, IPv4, PPP with HDLC framing)
// back to back over an unpaced in-memory line, one TCP connection moving bytes one way.
// Prints MB/s and CPU-seconds per MB of this one process (both stacks run in it), next to
// an anchor measured in the same run: the same bytes through Node's own net sockets on
// 127.0.0.1 (the kernel's TCP). Run after `npm run build`. Target: >= 20 MB/s.
import { connect, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { NetStack, PppLink } from '../dist/index.js';
import { createDuplexPair } from '../dist/sim/duplex-pair.js';

const BYTES = Number(process.env.BENCH_BYTES ?? 32 * 1024 * 1024);
const CHUNK = 64 * 1024;

async function ours() {
  const [lineA, lineB] = createDuplexPair();
  const opts = (addr, peer) => ({
    lcp: { echoIntervalMs: 0 },
    ipcp: { localAddress: addr, peerAddressHint: peer },
  });
  const a = new PppLink(lineA, opts('10.0.0.1', '10.0.0.2')).open();
  const b = new PppLink(lineB, opts('10.0.0.2', '10.0.0.1')).open();
  await Promise.all([a.waitUp(10_000), b.waitUp(10_000)]);
  const tcp = { recvBuffer: 256 * 1024, sendBuffer: 256 * 1024 };
  const sa = new NetStack(a, { tcp });
  const sb = new NetStack(b, { tcp });
  let received = 0;
  const done = new Promise((resolve) => {
    sb.createServer((s) => {
      s.on('error', () => undefined);
      s.on('data', (d) => {
        received += d.length;
      });
      s.on('end', () => resolve());
    }).listen(9000);
  });
  const random = Buffer.from(Array.from({ length: CHUNK }, (_, i) => (i * 131 + 7) & 0xff));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const s = sa.connect({ host: '10.0.0.2', port: 9000 });
  s.on('error', () => undefined);
  let sent = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < BYTES) {
        sent += CHUNK;
        if (!s.write(random)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
      resolve();
    };
    s.once('connect', pump);
  });
  await done;
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  sa.close();
  sb.close();
  return {
    mbps: received / 1e6 / secs,
    cpuPerMb: (cpu.user + cpu.system) / 1e6 / (received / 1e6),
    secs,
    received,
  };
}

async function anchor() {
  let received = 0;
  const server = createServer((s) => {
    s.on('data', (d) => {
      received += d.length;
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const random = Buffer.from(Array.from({ length: CHUNK }, (_, i) => (i * 131 + 7) & 0xff));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const s = connect(port, '127.0.0.1');
  await new Promise((resolve) => {
    let sent = 0;
    const pump = () => {
      while (sent < BYTES) {
        sent += CHUNK;
        if (!s.write(random)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end(resolve);
    };
    s.once('connect', pump);
  });
  while (received < BYTES) await new Promise((r) => setTimeout(r, 1));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  server.close();
  return {
    mbps: received / 1e6 / secs,
    cpuPerMb: (cpu.user + cpu.system) / 1e6 / (received / 1e6),
    secs,
    received,
  };
}

const o = await ours();
const k = await anchor();
console.log(
  `cellstack TCP/IP/PPP, two stacks in one process: ${o.mbps.toFixed(1)} MB/s, ${o.cpuPerMb.toFixed(4)} CPU-s/MB (${(o.received / 1e6).toFixed(1)} MB in ${o.secs.toFixed(2)} s)`,
);
console.log(
  `anchor: Node net over kernel loopback TCP:        ${k.mbps.toFixed(1)} MB/s, ${k.cpuPerMb.toFixed(4)} CPU-s/MB (this process's share)`,
);
console.log(
  `ratio cellstack/anchor throughput: ${(o.mbps / k.mbps).toFixed(3)}; target >= 20 MB/s: ${o.mbps >= 20 ? 'met' : 'NOT met'}`,
);
process.exit(0);
