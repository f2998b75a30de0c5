// The client half of bench/tcp-goodput.bench.ts, in its own process so that its CPU time is
// the stack's alone: cellstack's PPP, IPv4 and TCP over fd 3 (the serial line the bench
// paces), one transfer to the guest's sink ("up") or from its source ("down"). Prints one
// JSON line. Usage: node bench/tcp-client.mjs up|down BYTES [expected-sha256]
import { createHash, randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { NetStack, PppLink } from '../dist/index.js';

const [dir, bytesText, expectSha] = process.argv.slice(2);
const bytes = Number(bytesText);
const line = new Socket({ fd: 3, readable: true, writable: true });
const link = new PppLink(line, { lcp: { echoIntervalMs: 0 } }).open();
await link.waitUp(60_000);
const stack = new NetStack(link);
await stack.ping('10.64.0.1', { timeoutMs: 5000 }).catch(() => undefined);

function collect(s) {
  return new Promise((resolve, reject) => {
    const parts = [];
    s.on('data', (d) => parts.push(d));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
let ok = false;
if (dir === 'up') {
  const data = randomBytes(bytes);
  const s = stack.connect({ host: '10.64.0.1', port: 5002, allowHalfOpen: true });
  s.end(data);
  const answer = (await collect(s)).toString();
  ok = answer.startsWith(`OK bytes=${bytes} sha256=${createHash('sha256').update(data).digest('hex')}`);
} else {
  const s = stack.connect({ host: '10.64.0.1', port: 5001 });
  s.write(`${bytes}\n`);
  const got = await collect(s);
  ok = got.length === bytes && (!expectSha || createHash('sha256').update(got).digest('hex') === expectSha);
}
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const tcp = stack.stats().tcp;
const conns = stack.tcp.connections.map((c) => c.tcb.stats);
const retrans = conns.reduce((n, s) => n + s.retransmits, 0);
console.log(
  JSON.stringify({
    ok,
    bytes,
    secs,
    goodputBytesPerSec: bytes / secs,
    cpuSecs: (cpu.user + cpu.system) / 1e6,
    userSecs: cpu.user / 1e6,
    systemSecs: cpu.system / 1e6,
    segmentsOut: tcp.segmentsOut,
    retransmits: retrans,
  }),
);
stack.close();
await link.close();
process.exit(0);
