import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { emitIpv4Packet, IpProtocol } from '../../src/ip/ipv4.js';
import { PppLink } from '../../src/ppp/link.js';
import { createDuplexPair } from '../../src/sim/duplex-pair.js';
import { PppPeerCore } from '../../src/sim/ppp-peer/core.js';
import type { PppPeerEvent } from '../../src/sim/ppp-peer/events.js';
import type { TimerHandle } from '../../src/util/clock.js';
import { parseIpv4 } from '../../src/util/ipv4.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { seededRandom } from '../helpers/seeded.js';

/** A minimal shell for the network side: the stream's bytes in, its output written back, one timer. */
function serve(stream: Duplex, core: PppPeerCore, clock: ManualClock) {
  const events: PppPeerEvent[] = [];
  let timer: TimerHandle | undefined;
  const flush = () => {
    for (const b of core.takeOutput()) if (!stream.destroyed) stream.write(b);
    events.push(...core.takeEvents());
    if (timer) clock.clearTimer(timer);
    const d = core.nextDeadline();
    timer =
      d === undefined
        ? undefined
        : clock.setTimer(() => {
            timer = undefined;
            core.tick(clock.now());
            flush();
          }, d - clock.now());
  };
  stream.on('data', (b: Buffer) => {
    core.receive(b, clock.now());
    flush();
  });
  stream.on('end', () => {
    core.lowerDown(clock.now());
    flush();
  });
  core.open(clock.now());
  flush();
  return events;
}

describe('PppPeerCore under our PppLink over a Duplex pair', () => {
  it('comes up with CHAP, carries IP both ways, and closes', async () => {
    const clock = new ManualClock(0);
    const [device, network] = createDuplexPair();
    const core = new PppPeerCore({
      random: seededRandom(3),
      auth: 'chap-md5',
      credentials: [{ user: 'iot', password: 'pw' }],
      dns: ['10.0.0.1', '10.0.0.2'],
      peerAddress: '10.0.0.9',
    });
    const peerEvents = serve(network, core, clock);
    const link = new PppLink(device, { clock, user: 'iot', password: 'pw', random: seededRandom(4) });
    const upP = link.open().waitUp(30_000);
    expect(await clock.advanceUntil(() => link.info !== undefined, 30_000, 50)).toBe(true);
    const info = await upP;
    expect(info).toEqual({
      localAddress: '10.0.0.9',
      peerAddress: '10.0.0.1',
      dns: ['10.0.0.1', '10.0.0.2'],
      mtu: 1500,
    });

    const got: Uint8Array[] = [];
    link.on('ip', (p) => got.push(p));
    const packet = (src: string, dst: string, id: number) =>
      emitIpv4Packet({
        source: parseIpv4(src),
        destination: parseIpv4(dst),
        protocol: IpProtocol.UDP,
        identification: id,
        payload: Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff),
      });
    const up = packet('10.0.0.9', '10.0.0.1', 1);
    const down = packet('10.0.0.1', '10.0.0.9', 2);
    expect(link.sendIp(up)).toBe(true);
    expect(core.sendIp(down, clock.now())).toBe(true);
    for (const b of core.takeOutput()) network.write(b);
    await clock.advance(100);
    expect(peerEvents.flatMap((e) => (e.type === 'ip' ? [[...e.packet]] : []))).toEqual([[...up]]);
    expect(got.map((p) => [...p])).toEqual([[...down]]);

    const closed = link.close();
    await clock.advanceUntil(() => core.phase === 'dead', 10_000, 50);
    await closed;
    expect(peerEvents).toContainEqual(expect.objectContaining({ type: 'down', reason: 'peer-terminated' }));
    expect(core.phase).toBe('dead');
    device.destroy();
    network.destroy();
  });
});
