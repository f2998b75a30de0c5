import { afterEach, describe, expect, it } from 'vitest';
import { NetStack } from '../../src/ip/stack.js';
import { PppLink, type PppLinkOptions } from '../../src/ppp/link.js';
import { LineBridge } from './harness/line.js';
import { peer } from './harness/peers.js';
import { downloadFromSource, uploadToSink } from './harness/transfer.js';
import { startUmlPeer, type UmlPeer, type UmlPeerOptions, umlProblem } from './harness/uml.js';

/**
 * Van Jacobson TCP/IP header compression (RFC 1144) against the Linux kernel's (slhc, driven
 * by pppd 2.4.9, which offers VJ by default): IPCP agrees it both ways (RFC 1332 section 3.2),
 * bulk transfers in both directions arrive intact through our compressor and the kernel's
 * decompressor and the other way round, on a lossy, delayed path and on a line that corrupts
 * bytes (where the decompressors must toss after every bad frame, RFC 1144 section 4, and TCP
 * repairs). With pppd's `novj` we fall back to plain IP.
 */
const uml = peer('uml', umlProblem());
const cleanup: (() => Promise<void> | void)[] = [];
const MiB = 1024 * 1024;

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(
  guestOptions: Partial<UmlPeerOptions>,
  bridge: Partial<ConstructorParameters<typeof LineBridge>[0]> = {},
  linkOptions: PppLinkOptions = {},
) {
  const guest: UmlPeer = await startUmlPeer({
    auth: 'none',
    services: ['source', 'sink'],
    lcpEchoInterval: 0,
    serialSendBuffer: 4096,
    ...guestOptions,
  });
  cleanup.push(() => guest.stop());
  const line = new LineBridge({ guest: guest.serial, ...bridge });
  cleanup.push(() => line.close());
  const link = new PppLink(line.client, { lcp: { echoIntervalMs: 0 }, ...linkOptions }).open();
  cleanup.push(() => link.close().catch(() => undefined));
  await link.waitUp(30_000);
  const stack = new NetStack(link);
  cleanup.push(() => stack.close());
  // pppd brings ppp0 up a few ms after its last ConfAck: the first packet may be lost.
  for (let i = 0; i < 5; i++) {
    if (
      await stack.ping(guest.peerAddress, { timeoutMs: 2000 }).then(
        () => true,
        () => false,
      )
    )
      break;
  }
  return { guest, line, link, stack };
}

const upload = (stack: NetStack, guest: UmlPeer, n: number) => uploadToSink(stack, guest.peerAddress, n);
const download = (stack: NetStack, guest: UmlPeer, n: number) =>
  downloadFromSource(stack, guest.peerAddress, n);

/** pppd's log shows VJ agreed both ways: it Acked ours and we Acked its. */
function expectVjNegotiated(guest: UmlPeer): void {
  const log = guest.pppdLog();
  expect(log).toMatch(/sent \[IPCP ConfAck id=0x\w+ <compress VJ 0f 01> <addr 10\.64\.0\.2>/);
  expect(log).toMatch(/rcvd \[IPCP ConfAck id=0x\w+ <compress VJ 0f 01> <addr 10\.64\.0\.1>/);
}

describe.skipIf(uml.skip)('VJ header compression against pppd and the Linux kernel', () => {
  it('delay 300 ms, 2 % loss: VJ both ways, 1 MiB each way intact, headers compressed both ways', async () => {
    const { guest, link, stack } = await setup({ netem: 'delay 300ms loss 2%' });
    expectVjNegotiated(guest);
    expect(link.vj).toEqual({
      send: { maxSlotId: 15, compSlotId: true },
      receive: { maxSlotId: 15, compSlotId: true },
    });
    await upload(stack, guest, MiB);
    const up = link.stats().vj;
    await download(stack, guest, MiB);
    const vj = link.stats().vj;
    // Upload: our data segments go compressed; what does not is a retransmission (sequence
    // number back) or the first segment after one (a jump of 64 KiB or more).
    expect(up.compressedOut).toBeGreaterThan(600);
    expect(up.compressedOut).toBeGreaterThan(4 * up.uncompressedOut);
    // Download: the kernel's data segments come compressed. Our ACKs compress less well: during
    // loss recovery every ACK carries SACK blocks that change, and changed TCP options cannot be
    // compressed (RFC 1144 section 3.2.3), so they go uncompressed.
    const inC = vj.compressedIn - up.compressedIn;
    const inU = vj.uncompressedIn - up.uncompressedIn;
    expect(inC).toBeGreaterThan(600);
    expect(inC).toBeGreaterThan(4 * inU);
    expect(vj.compressedOut - up.compressedOut).toBeGreaterThan(50);
    // netem drops inside the guest, before its compressor and after its decompressor: no
    // frame is lost on the line, so nothing is tossed.
    expect(vj.errors).toBe(0);
    expect(vj.tossed).toBe(0);
  }, 150_000);

  it('random byte corruption on the serial line: both decompressors toss, TCP repairs, 1 MiB each way intact', async () => {
    const { guest, line, link, stack } = await setup(
      {},
      { baud: 921_600, corrupt: { probability: 2e-5, seed: 1144 } },
    );
    expectVjNegotiated(guest);
    await upload(stack, guest, MiB);
    await download(stack, guest, MiB);
    const st = line.stats();
    expect(st.up.corrupted + st.down.corrupted).toBeGreaterThan(10);
    const s = link.stats();
    // Frames damaged on the way to us were dropped by the FCS check, and the decompressor
    // tossed what followed until a frame named its slot or came uncompressed.
    expect(s.hdlc.fcsErrors).toBeGreaterThan(3);
    expect(s.vj.tossEvents).toBeGreaterThan(3);
    expect(s.vj.tossed).toBeGreaterThan(0);
    expect(s.vj.compressedIn).toBeGreaterThan(300);
    expect(s.vj.compressedOut).toBeGreaterThan(300);
  }, 150_000);

  it('pppd novj: our request is Rejected, nothing asked of us: plain IP both ways', async () => {
    const { guest, link, stack } = await setup({ pppdOptions: ['novj'] });
    const log = guest.pppdLog();
    expect(log).toMatch(/sent \[IPCP ConfRej id=0x\w+ <compress VJ 0f 01>\]/);
    expect(log).not.toMatch(/sent \[IPCP ConfReq[^\n]*compress/);
    expect(link.vj).toEqual({});
    await upload(stack, guest, 64 * 1024);
    await download(stack, guest, 64 * 1024);
    const s = link.stats();
    expect(s.vj).toMatchObject({ compressedOut: 0, uncompressedOut: 0, compressedIn: 0, uncompressedIn: 0 });
    expect(s.ipIn).toBeGreaterThan(40);
  }, 60_000);
});
