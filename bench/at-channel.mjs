// AT channel throughput: the sans-I/O core parsing a long modem transcript (echo, information
// lines, URCs, final result codes), against an anchor run beside it on the same bytes: a
// plain line split (what a naive readline-based AT reader does, with no classification).
// Prints MB/s and lines/s for both and their ratio. Run after `npm run build`.
import { performance } from 'node:perf_hooks';
import { AtChannelCore } from '../dist/modem/channel-core.js';

const exchanges = [
  ['AT+CSQ', '\r\n+CSQ: 21,99\r\n\r\nOK\r\n'],
  ['AT+CREG?', '\r\n+CREG: 2,1,"1A2B","01C3D4E",7\r\n\r\n^RSSI: 17\r\n\r\nOK\r\n'],
  ['AT+COPS?', '\r\n+COPS: 0,0,"Cellstack Test Network",7\r\n\r\nOK\r\n'],
  [
    'AT+CGDCONT?',
    '\r\n+CGDCONT: 1,"IP","internet","0.0.0.0",0,0\r\n+CGDCONT: 2,"IPV4V6","ims","",0,0\r\n\r\nOK\r\n',
  ],
  ['AT+CPIN?', 'AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n'],
];
const rounds = 20_000;
const chunks = [];
for (let i = 0; i < rounds; i++) {
  const [, rx] = exchanges[i % exchanges.length];
  chunks.push(Buffer.from(rx, 'latin1'));
}
const bytes = chunks.reduce((n, c) => n + c.length, 0);

function runCore() {
  const core = new AtChannelCore();
  let done = 0;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    core.enqueue({ text: exchanges[i % exchanges.length][0], timeoutMs: 1000 }, 0);
    core.takeOutput();
    core.receive(chunks[i], 0);
    for (const e of core.takeEvents()) if (e.type === 'response') done++;
  }
  const ms = performance.now() - t0;
  if (done !== rounds) throw new Error(`only ${done} of ${rounds} responses`);
  return ms;
}

function runAnchor() {
  const t0 = performance.now();
  let lines = 0;
  let carry = '';
  for (const c of chunks) {
    const parts = (carry + c.toString('latin1')).split(/\r\n|\r|\n/);
    carry = parts.pop() ?? '';
    for (const p of parts) if (p.length > 0) lines++;
  }
  const ms = performance.now() - t0;
  return { ms, lines };
}

// Warm up, then take the best of five for each, alternating.
runCore();
runAnchor();
let core = Number.POSITIVE_INFINITY;
let anchor = Number.POSITIVE_INFINITY;
let lines = 0;
for (let i = 0; i < 5; i++) {
  core = Math.min(core, runCore());
  const a = runAnchor();
  anchor = Math.min(anchor, a.ms);
  lines = a.lines;
}
const mb = bytes / 1e6;
console.log(
  `AT channel core : ${(mb / (core / 1000)).toFixed(1)} MB/s, ${Math.round(lines / (core / 1000))} lines/s (${rounds} responses)`,
);
console.log(
  `anchor line split: ${(mb / (anchor / 1000)).toFixed(1)} MB/s, ${Math.round(lines / (anchor / 1000))} lines/s`,
);
console.log(`ratio core/anchor throughput: ${(anchor / core).toFixed(2)}`);
