import { describe, expect, it } from 'vitest';
import { type KernelGoodput, measureBootMs, measureKernelGoodput } from '../test/interop/harness/k2k.js';
import { peer } from '../test/interop/harness/peers.js';
import { umlProblem } from '../test/interop/harness/uml.js';
import { LINE_CASES } from './line-cases.js';

/**
 * The kernel-to-kernel anchor: Linux TCP over pppd <-> pppd on a paced serial line (two UML
 * guests joined by a LineBridge), the yardstick for cellstack's TCP over PPP. Prints one
 * table; asserts only that the numbers are positive (this machine's timing is shared by both
 * guests, the bridge and the test runner). Each measurement stays under 60 s.
 *
 * CELLSTACK_ANCHOR_ONLY=<text> runs only the rows whose label contains <text>.
 */
const CASES = LINE_CASES;

const only = process.env['CELLSTACK_ANCHOR_ONLY'];
const uml = peer('uml', umlProblem());

function row(label: string, r: KernelGoodput): string {
  const f = (x: number | undefined, d = 1) => (x === undefined ? '-' : x.toFixed(d));
  return [
    label.padEnd(36),
    f(r.goodputBytesPerSec / 1000, 2).padStart(9),
    f(r.pctOfLine).padStart(6),
    f(r.secs, 2).padStart(7),
    String(r.bytes).padStart(8),
    f(r.cpuSecs, 2).padStart(6),
    `${f(r.cpu.peer, 2)}/${f(r.cpu.client, 2)}/${f(r.cpu.bridge, 2)}`.padStart(16),
    String(r.retransSegs).padStart(5),
    f(r.rttMs, 0).padStart(6),
    r.ok ? 'ok' : r.timedOut ? 'TIMEOUT' : 'BAD',
  ].join(' ');
}

describe.skipIf(uml.skip)('kernel-to-kernel anchor (Linux TCP over PPP, two UML guests)', () => {
  it('boot time of the UML peer', async () => {
    const none = await measureBootMs({ runs: 3 });
    const some = await measureBootMs({ runs: 1, services: ['sink', 'source', 'echo'] });
    console.log(
      `UML peer boot-to-ready: ${none.join(', ')} ms (no services); ${some.join(', ')} ms (python services)`,
    );
    for (const ms of [...none, ...some]) expect(ms).toBeGreaterThan(0);
  }, 120_000);

  it('goodput table', async () => {
    const lines = [
      `${'case'.padEnd(36)} ${'kB/s'.padStart(9)} ${'%line'.padStart(6)} ${'secs'.padStart(7)} ${'bytes'.padStart(8)} ${'cpu s'.padStart(6)} ${'peer/cli/bridge'.padStart(16)} ${'rtx'.padStart(5)} ${'rttms'.padStart(6)} check`,
    ];
    for (const c of CASES) {
      if (only && !c.label.includes(only)) continue;
      const r = await measureKernelGoodput({
        baud: c.baud,
        bytes: c.bytes,
        dir: c.dir,
        ...(c.netem ? { netem: c.netem } : {}),
      });
      lines.push(row(c.label, r));
      console.log(lines.at(-1));
      expect(r.goodputBytesPerSec).toBeGreaterThan(0);
      expect(r.secs).toBeGreaterThan(0);
      expect(r.cpuSecs).toBeGreaterThan(0);
    }
    console.log(
      `\nkernel-to-kernel anchor (line = baud/10 B/s; cpu = both guests + bridge over the transfer)\n${lines.join('\n')}`,
    );
  }, 900_000);
});
