// HDLC-like framing throughput (RFC 1662 section 4): the encoder (escape + FCS-16 + flags) and
// the decoder (unescape + FCS check + one copy per frame) on random frames of 1500 and 64
// octets, with the send/receive ACCM at 0 (after LCP) and 0xffffffff (the default: every
// control character escaped, about 13% of random octets). Figures are frame octets (the PPP
// frame without FCS) per second of one core. Anchors measured beside them on the same frames:
// `Buffer.prototype.copy` (memcpy speed) and a naive per-byte loop that only sums the octets.
// Run after `npm run build`.
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { HdlcDecoder, HdlcEncoder, maxEncodedLength } from '../dist/ppp/hdlc.js';

const TOTAL = 6_000_000; // frame octets per run
const CHUNK = 4096; // serial reads arrive in chunks of this size

function makeFrames(size) {
  const count = Math.ceil(TOTAL / size);
  const frames = [];
  for (let i = 0; i < count; i++) {
    const f = Buffer.alloc(size);
    randomFillSync(f);
    // Address, Control, Protocol 0x0021 (IPv4), then random Information.
    f[0] = 0xff;
    f[1] = 0x03;
    f[2] = 0x00;
    f[3] = 0x21;
    frames.push(f);
  }
  return frames;
}

function best(fn) {
  fn(); // warm up
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) ms = Math.min(ms, fn());
  return ms;
}

function encodeRun(frames, accm) {
  const enc = new HdlcEncoder({ accm, lcpDefaultAccm: false });
  let sink = 0;
  const t0 = performance.now();
  for (const f of frames) sink += enc.encode(f).length;
  const ms = performance.now() - t0;
  if (sink === 0) throw new Error('nothing encoded');
  return ms;
}

function encodeIntoRun(frames, accm) {
  const enc = new HdlcEncoder({ accm, lcpDefaultAccm: false });
  const out = new Uint8Array(64 * 1024);
  let o = 0;
  const t0 = performance.now();
  for (const f of frames) {
    if (o + maxEncodedLength(f.length) > out.length) o = 0; // a shell would write `out` here
    o += enc.encodeInto(f, out, o);
  }
  return performance.now() - t0;
}

function wire(frames, accm) {
  const enc = new HdlcEncoder({ accm, lcpDefaultAccm: false });
  const parts = frames.map((f) => enc.encode(f));
  const all = Buffer.concat(parts);
  const chunks = [];
  for (let i = 0; i < all.length; i += CHUNK) chunks.push(all.subarray(i, i + CHUNK));
  return chunks;
}

function decodeRun(chunks, accm, count) {
  const dec = new HdlcDecoder({ receiveAccm: accm });
  let got = 0;
  const t0 = performance.now();
  for (const c of chunks) got += dec.push(c).length;
  const ms = performance.now() - t0;
  if (got !== count) throw new Error(`decoded ${got} of ${count} frames`);
  return ms;
}

function copyRun(frames) {
  const out = Buffer.allocUnsafe(64 * 1024);
  let o = 0;
  const t0 = performance.now();
  for (const f of frames) {
    if (o + f.length > out.length) o = 0;
    o += f.copy(out, o);
  }
  return performance.now() - t0;
}

let checksum = 0;
function sumRun(frames) {
  const t0 = performance.now();
  let s = 0;
  for (const f of frames) {
    for (let i = 0; i < f.length; i++) s = (s + f[i]) | 0;
  }
  checksum ^= s;
  return performance.now() - t0;
}

const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);
const f1 = (x) => x.toFixed(1).padStart(7);

console.log(
  `node ${process.version}, ${TOTAL / 1e6} MB of frames per run, decoder fed ${CHUNK}-octet chunks`,
);
for (const size of [1500, 64]) {
  const frames = makeFrames(size);
  const bytes = frames.length * size;
  const copy = mbps(
    bytes,
    best(() => copyRun(frames)),
  );
  const sum = mbps(
    bytes,
    best(() => sumRun(frames)),
  );
  console.log(`\n${size}-octet frames (${frames.length})`);
  console.log(`  anchor Buffer.copy          : ${f1(copy)} MB/s`);
  console.log(`  anchor per-byte sum loop    : ${f1(sum)} MB/s`);
  for (const accm of [0, 0xffffffff]) {
    const name = `ACCM 0x${accm.toString(16).padStart(8, '0')}`;
    const enc = mbps(
      bytes,
      best(() => encodeRun(frames, accm)),
    );
    const into = mbps(
      bytes,
      best(() => encodeIntoRun(frames, accm)),
    );
    const chunks = wire(frames, accm);
    const dec = mbps(
      bytes,
      best(() => decodeRun(chunks, accm, frames.length)),
    );
    const ratios = (x) => `${(x / copy).toFixed(3)} of copy, ${(x / sum).toFixed(2)} of sum loop`;
    console.log(`  ${name} encode()     : ${f1(enc)} MB/s  (${ratios(enc)})`);
    console.log(`  ${name} encodeInto() : ${f1(into)} MB/s  (${ratios(into)})`);
    console.log(`  ${name} decode push(): ${f1(dec)} MB/s  (${ratios(dec)})`);
  }
}
if (checksum === 0.5) console.log('unreachable');
