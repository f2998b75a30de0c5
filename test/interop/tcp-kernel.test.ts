import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetStack } from '../../src/ip/stack.js';
import { collect } from '../helpers/collect.js';
import { type LinkedGuest, startLinkedGuest } from './harness/linked-guest.js';
import { peer } from './harness/peers.js';
import { rigStream } from './harness/rig-stream.js';
import { downloadFromSource, uploadToSink } from './harness/transfer.js';
import { type UmlPeer, umlProblem } from './harness/uml.js';

/**
 * Our TCP against the Linux kernel's, inside user-mode Linux behind pppd, on a clean line:
 * bulk both ways with hashes, small writes, half-close, resets, refusal, a listener the guest
 * connects to, and many connections at once.
 */
const uml = peer('uml', umlProblem());
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(uml.skip)('TCP against the Linux kernel (pppd in UML), clean line', () => {
  let guest: UmlPeer;
  let stack: NetStack;
  let linked: LinkedGuest | undefined;

  beforeAll(async () => {
    linked = await startLinkedGuest(['echo', 'discard', 'source', 'sink', 'http']);
    ({ guest, stack } = linked);
  });

  afterAll(async () => {
    await linked?.stop();
  });

  it('downloads 1 MiB from the source service intact', async () => {
    await downloadFromSource(stack, guest.peerAddress, 1 << 20);
  });

  it('uploads 1 MiB to the sink service intact (half-close, then its answer)', async () => {
    await uploadToSink(stack, guest.peerAddress, 1 << 20);
  });

  it('echoes many small writes in order', async () => {
    const s = stack.connect({ host: guest.peerAddress, port: 7, allowHalfOpen: true });
    const parts: Buffer[] = [];
    for (let i = 0; i < 1000; i++) parts.push(Buffer.from(`${i.toString().padStart(6, '0')}|`));
    const all = Buffer.concat(parts);
    const back = collect(s);
    for (const p of parts) s.write(p);
    s.end();
    expect((await back).toString()).toBe(all.toString());
    expect(s.bytesWritten).toBe(all.length);
  });

  it('is refused with ECONNREFUSED on a closed port', async () => {
    const s = stack.connect({ host: guest.peerAddress, port: 1 });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => s.once('error', resolve));
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('sees the peer reset the connection: ECONNRESET', async () => {
    // The http service closes after a bad request; data sent after that makes the kernel reset.
    const s = stack.connect({ host: guest.peerAddress, port: 8080, allowHalfOpen: true });
    s.write('NONSENSE\r\n\r\n');
    s.on('data', () => undefined);
    await new Promise<void>((resolve) => s.once('end', () => resolve()));
    const err = new Promise<NodeJS.ErrnoException>((resolve) => s.once('error', resolve));
    s.write('more after the close\n');
    expect((await err).code).toMatch(/^(ECONNRESET|EPIPE)$/);
  });

  it('accepts a connection from the guest on a listening port', async () => {
    const server = stack.createServer((socket) => {
      const parts: Buffer[] = [];
      socket.on('data', (d: Buffer) => parts.push(d));
      socket.on('end', () => socket.end(Buffer.concat([Buffer.from('got:'), ...parts])));
    });
    await new Promise<void>((r) => server.listen(5555, r));
    const r = await guest.connectFromGuest(5555, guest.clientAddress, 'hello from the guest\n', {
      halfClose: true,
    });
    expect(r.head.toString()).toBe('got:hello from the guest\n');
    expect(r.from).toMatch(/^10\.64\.0\.1:\d+$/);
    server.close();
  });

  it('carries 50 concurrent connections', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const s = stack.connect({ host: guest.peerAddress, port: 5001 });
        s.write(`${4096 + i}\n`);
        const got = await collect(s);
        return got.length === 4096 + i && sha(got) === sha(rigStream(0, 4096 + i));
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(stack.stats().tcp.connectionsOpened).toBeGreaterThanOrEqual(50);
  });
});
