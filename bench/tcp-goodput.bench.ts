import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type KernelGoodput, measureKernelGoodput } from '../test/interop/harness/k2k.js';
import { LineBridge } from '../test/interop/harness/line.js';
import { peer } from '../test/interop/harness/peers.js';
import { rigStreamSha256 } from '../test/interop/harness/rig-stream.js';
import { startUmlPeer, umlProblem } from '../test/interop/harness/uml.js';
import { LINE_CASES } from './line-cases.js';

/**
 * cellstack's TCP over PPP next to the kernel-to-kernel anchor, on the same paced line, in
 * one run: goodput up and down at 115200 and 921600 baud as % of the raw line rate, goodput
 * with delay and with loss, and the stack's CPU (its own process) as a fraction of one core.
 * Targets: >= 0.98x the kernel on clean lines, >= 0.8x under loss, CPU <= 5 % at 921600.
 * Run with `npm run bench:anchor` (needs the UML peer). CELLSTACK_ANCHOR_ONLY=<text> filters.
 */
const CASES = LINE_CASES;

interface Ours {
  ok: boolean;
  secs: number;
  goodputBytesPerSec: number;
  cpuSecs: number;
  userSecs: number;
  systemSecs: number;
  segmentsOut: number;
  retransmits: number;
}

const uml = peer('uml', umlProblem());
const only = process.env['CELLSTACK_ANCHOR_ONLY'];
const client = fileURLToPath(new URL('./tcp-client.mjs', import.meta.url));

async function measureOurs(c: (typeof CASES)[number]): Promise<Ours> {
  const guest = await startUmlPeer({
    auth: 'none',
    services: ['sink', 'source'],
    pppdOptions: ['novj', 'noccp'],
    lcpEchoInterval: 0,
    once: true,
    serialSendBuffer: 4096,
    ...(c.netem ? { netem: c.netem } : {}),
  });
  // CELLSTACK_CLIENT_PROF=DIR writes a V8 CPU profile of the client (node --cpu-prof) there.
  const prof = process.env['CELLSTACK_CLIENT_PROF'];
  const args = [
    ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
    client,
    c.dir,
    String(c.bytes),
    rigStreamSha256(c.bytes),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
  });
  const line = new LineBridge({ guest: guest.serial, client: child.stdio[3] as Socket, baud: c.baud });
  try {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
      child.once('exit', (c2) => {
        clearTimeout(timer);
        resolve(c2);
      });
    });
    if (code !== 0) throw new Error(`the client exited with ${code}: ${out}`);
    return JSON.parse(out.trim().split('\n').at(-1)!) as Ours;
  } finally {
    line.close();
    await guest.stop();
  }
}

describe.skipIf(uml.skip)('cellstack TCP over PPP vs the kernel-to-kernel anchor', () => {
  it('goodput and CPU table', async () => {
    const rows: string[] = [
      `${'case'.padEnd(38)} ${'kernel kB/s'.padStart(11)} ${'%line'.padStart(6)} ${'ours kB/s'.padStart(9)} ${'%line'.padStart(6)} ${'ratio'.padStart(6)} ${'our cpu'.padStart(8)} ${'user/sys'.padStart(11)} ${'rtx'.padStart(4)} check`,
    ];
    for (const c of CASES) {
      if (only && !c.label.includes(only)) continue;
      const k: KernelGoodput = await measureKernelGoodput({
        baud: c.baud,
        bytes: c.bytes,
        dir: c.dir,
        ...(c.netem ? { netem: c.netem } : {}),
      });
      const o = await measureOurs(c);
      const line = c.baud / 10;
      const cpuShare = o.cpuSecs / o.secs;
      rows.push(
        [
          c.label.padEnd(38),
          (k.goodputBytesPerSec / 1000).toFixed(2).padStart(11),
          ((100 * k.goodputBytesPerSec) / line).toFixed(1).padStart(6),
          (o.goodputBytesPerSec / 1000).toFixed(2).padStart(9),
          ((100 * o.goodputBytesPerSec) / line).toFixed(1).padStart(6),
          (o.goodputBytesPerSec / k.goodputBytesPerSec).toFixed(3).padStart(6),
          `${(100 * cpuShare).toFixed(1)}%`.padStart(8),
          `${((100 * o.userSecs) / o.secs).toFixed(1)}/${((100 * o.systemSecs) / o.secs).toFixed(1)}%`.padStart(
            11,
          ),
          String(o.retransmits).padStart(4),
          o.ok && k.ok ? 'ok' : 'BAD',
        ].join(' '),
      );
      console.log(rows.at(-1));
      expect(o.goodputBytesPerSec).toBeGreaterThan(0);
    }
    console.log(
      `\ncellstack vs kernel (same paced line, same run; our cpu = the client process / transfer time, split into user (JavaScript) and system (read/write syscalls))\n${rows.join('\n')}`,
    );
  }, 3_600_000);
});
