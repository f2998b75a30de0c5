import { LineBridge, type LineDirectionStats } from './line.js';
import { treeCpuSeconds } from './proc.js';
import { startUmlPeer, type UmlPeer, type UmlService } from './uml.js';
import { startUmlClient, type UmlClient } from './uml-client.js';

/**
 * The kernel-to-kernel anchor (a port of the rig's `anchors.py k2k`): what the Linux kernel's
 * TCP achieves over PPP on the same line, as the yardstick for cellstack's own TCP.
 *
 * Guest A is the usual UML peer (pppd `passive noauth`, `novj noccp`, `lcp-echo-interval 0`,
 * services source + sink, netem on its ppp0 both ways when asked); guest B is the kernel
 * client guest (pppd `noipdefault`, same options). A LineBridge in this process joins their
 * serial lines and paces both directions at baud/10 bytes/s. B moves `bytes` to A's sink
 * (`up`) or from A's source (`down`, verified against the rig stream) and reports.
 */
export interface KernelGoodputOptions {
  /** Line speed, bits/s (8N1: baud/10 bytes/s each way); 0 = unpaced (UML-bound, ~1-2 MB/s). */
  baud: number;
  bytes: number;
  /** 'up': B (client) sends to A's sink; 'down': B reads from A's source. */
  dir: 'up' | 'down';
  /** tc netem spec on A's ppp0, both directions, e.g. 'delay 300ms loss 2%'. */
  netem?: string;
  /**
   * Shrink the guests' serial socket buffers to 4096 bytes (default true when paced, as in the
   * rig); false leaves ~200 KiB of hidden queue per direction (see sockbuf.ts).
   */
  smallSocketBuffers?: boolean;
  /** The transfer stops after this long and reports what it moved (default 55 s). */
  timeLimitS?: number;
}

export interface KernelGoodput {
  /** Payload bytes moved per second (up: first write -> sink report; down: request -> last byte). */
  goodputBytesPerSec: number;
  secs: number;
  /** CPU seconds over the transfer: both guests' host processes plus this process (the bridge). */
  cpuSecs: number;
  cpu: { peer: number; client: number; bridge: number };
  bytes: number;
  /** baud/10, or undefined unpaced. */
  lineBytesPerSec: number | undefined;
  /** Goodput as a percentage of the line rate. */
  pctOfLine: number | undefined;
  /** Guest B's RetransSegs over the transfer, and its smoothed RTT at the end (ms). */
  retransSegs: number;
  rttMs: number;
  /** The transfer hit timeLimitS before moving every byte. */
  timedOut: boolean;
  /** The bytes checked out (sink's count and hash / the rig stream). */
  ok: boolean;
  line: { up: LineDirectionStats; down: LineDirectionStats };
}

const kv = (line: string) =>
  Object.fromEntries(
    line
      .split(' ')
      .filter((w) => w.includes('='))
      .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
  ) as Record<string, string>;

export async function measureKernelGoodput(o: KernelGoodputOptions): Promise<KernelGoodput> {
  const limitS = o.timeLimitS ?? 55;
  let a: UmlPeer | undefined;
  let b: UmlClient | undefined;
  let line: LineBridge | undefined;
  try {
    // A UART-sized queue between each guest and the line, as the rig has (riglib.py).
    const sndbuf = o.baud > 0 && o.smallSocketBuffers !== false ? { serialSendBuffer: 4096 } : {};
    // Both guests boot at once; B's first LCP frames wait in its socket until the bridge joins
    // the lines (pppd retries for 30 s).
    const [pa, pb] = await Promise.allSettled([
      startUmlPeer({
        services: ['sink', 'source'],
        pppdOptions: ['novj', 'noccp'],
        lcpEchoInterval: 0,
        once: true,
        ...(o.netem ? { netem: o.netem } : {}),
        ...sndbuf,
      }),
      startUmlClient({ job: { kind: 'xfer', dir: o.dir, bytes: o.bytes, limitS }, ...sndbuf }),
    ]);
    if (pa.status === 'fulfilled') a = pa.value;
    if (pb.status === 'fulfilled') b = pb.value;
    if (pa.status === 'rejected') throw pa.reason;
    if (pb.status === 'rejected') throw pb.reason;
    if (!a || !b) throw new Error('unreachable');
    line = new LineBridge({ guest: a.serial, client: b.serial, baud: o.baud });
    await b.waitForConsole(/^CELLSTACK@@LINK-UP/, 45_000);
    await b.waitForConsole(/^CELLSTACK@@XFER-START/, 30_000);
    const cpu0 = { peer: treeCpuSeconds(a.pid), client: b.cpuSeconds(), self: process.cpuUsage() };
    const done = await b.waitForConsole(/^CELLSTACK@@XFER dir=/, (limitS + 90) * 1000);
    const self = process.cpuUsage(cpu0.self);
    const cpu = {
      peer: treeCpuSeconds(a.pid) - cpu0.peer,
      client: b.cpuSeconds() - cpu0.client,
      bridge: (self.user + self.system) / 1e6,
    };
    const r = kv(done);
    const secs = Number(r['secs']);
    let bytes = Number(r['bytes']);
    if (o.dir === 'up' && r['sink']) {
      const sunk = /bytes=(\d+)/.exec(r['sink']);
      if (sunk) bytes = Number(sunk[1]);
    }
    const goodput = secs > 0 ? bytes / secs : 0;
    const lineRate = o.baud > 0 ? o.baud / 10 : undefined;
    const s = line.stats();
    return {
      goodputBytesPerSec: goodput,
      secs,
      cpuSecs: cpu.peer + cpu.client + cpu.bridge,
      cpu,
      bytes,
      lineBytesPerSec: lineRate,
      pctOfLine: lineRate ? (100 * goodput) / lineRate : undefined,
      retransSegs: Number(r['retrans']),
      rttMs: Number(r['rtt_ms']),
      timedOut: r['timed_out'] === '1',
      ok: r['ok'] === '1',
      line: { up: s.up, down: s.down },
    };
  } finally {
    line?.close();
    await Promise.allSettled([b?.stop(), a?.stop()]);
  }
}

/** Spawn -> ready (pppd on ttyS0, services listening) of the UML peer, ms, one boot per run. */
export async function measureBootMs(o: { runs?: number; services?: UmlService[] } = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < (o.runs ?? 1); i++) {
    const p = await startUmlPeer({ services: o.services ?? [], once: true });
    out.push(p.bootMs);
    await p.stop();
  }
  return out;
}
