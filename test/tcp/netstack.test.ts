import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NetStack } from '../../src/ip/stack.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { MemoryLink } from '../helpers/memory-link.js';

/**
 * Two stacks back to back in memory on a manual clock: the socket API as an application sees
 * it (connect, listen, data both ways, half-close, backpressure, errors), deterministic.
 */
function pair(options: ConstructorParameters<typeof NetStack>[1] = {}) {
  const clock = new ManualClock();
  const [la, lb] = MemoryLink.pair();
  const a = new NetStack(la, { clock, ...options });
  const b = new NetStack(lb, { clock, ...options });
  return { clock, a, b, la, lb };
}

async function until(clock: ManualClock, done: () => boolean, ms = 30_000): Promise<void> {
  const ok = await clock.advanceUntil(done, ms, 5);
  if (!ok) throw new Error('condition not met in time');
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('NetStack sockets back to back', () => {
  it('connects, moves 1 MiB each way intact, half-closes, closes with hadError false', async () => {
    const { clock, a, b } = pair();
    const server = b.createServer();
    const got: Buffer[] = [];
    let serverSide: TcpSocket | undefined;
    server.on('connection', (s) => {
      serverSide = s;
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => {
        s.end(Buffer.alloc(1 << 20, 7));
      });
    });
    server.listen(7000);
    const payload = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 31) & 0xff));
    const client = a.connect({ host: '10.0.0.2', port: 7000 });
    const back: Buffer[] = [];
    let connected = false;
    let closed: boolean | undefined;
    client.on('connect', () => {
      connected = true;
    });
    client.on('data', (d: Buffer) => back.push(d));
    client.on('close', (hadError: boolean) => {
      closed = hadError;
    });
    client.end(payload);
    await until(clock, () => closed !== undefined, 120_000);
    expect(connected).toBe(true);
    expect(sha(Buffer.concat(got))).toBe(sha(payload));
    expect(Buffer.concat(back).length).toBe(1 << 20);
    expect(closed).toBe(false);
    expect(client.bytesWritten).toBe(1 << 20);
    expect(client.bytesRead).toBe(1 << 20);
    expect(serverSide?.remoteAddress).toBe('10.0.0.1');
    expect(client.remotePort).toBe(7000);
  });

  it('refuses a connection to a closed port with ECONNREFUSED', async () => {
    const { clock, a } = pair();
    const s = a.connect({ host: '10.0.0.2', port: 9 });
    let err: (Error & { code?: string }) | undefined;
    s.on('error', (e) => {
      err = e;
    });
    await until(clock, () => err !== undefined);
    expect(err?.code).toBe('ECONNREFUSED');
  });

  it('applies backpressure: the writer stalls while the reader does not read', async () => {
    const { clock, a, b } = pair({ tcp: { recvBuffer: 16_384, sendBuffer: 16_384 } });
    let serverSide: TcpSocket | undefined;
    b.createServer((s) => {
      serverSide = s;
      s.pause();
    }).listen(7001);
    const client = a.connect({ host: '10.0.0.2', port: 7001 });
    let accepted = 0;
    for (let i = 0; i < 20; i++) if (client.write(Buffer.alloc(8192))) accepted++;
    await clock.advance(5000);
    // What the peer holds is bounded by its window and our send buffer: the rest waits here.
    expect(client.writableLength).toBeGreaterThan(100_000);
    expect(accepted).toBeLessThan(20);
    let drained = false;
    client.on('drain', () => {
      drained = true;
    });
    serverSide!.resume();
    await until(clock, () => drained, 60_000);
    expect(drained).toBe(true);
  });

  it('resets the peer on destroy with unread data, and the peer sees ECONNRESET', async () => {
    const { clock, a, b } = pair();
    let serverSide: TcpSocket | undefined;
    b.createServer((s) => {
      serverSide = s;
      s.pause();
    }).listen(7002);
    const client = a.connect({ host: '10.0.0.2', port: 7002 });
    client.write('hello');
    await until(clock, () => serverSide !== undefined && serverSide.conn.tcb.readableLength > 0);
    let err: (Error & { code?: string }) | undefined;
    client.on('error', (e) => {
      err = e;
    });
    serverSide!.destroy();
    await until(clock, () => err !== undefined);
    expect(err?.code).toBe('ECONNRESET');
  });

  it('emits timeout after setTimeout idle time, and keeps the socket open', async () => {
    const { clock, a, b } = pair();
    b.createServer(() => undefined).listen(7003);
    const client = a.connect({ host: '10.0.0.2', port: 7003, timeout: 2000 });
    let timeouts = 0;
    client.on('timeout', () => timeouts++);
    await clock.advance(2100);
    expect(timeouts).toBe(1);
    expect(client.destroyed).toBe(false);
    expect(client.setNoDelay(true)).toBe(client);
    expect(client.setKeepAlive(true, 1000)).toBe(client);
  });

  it('fails connects with ENETUNREACH once the link is gone', async () => {
    const { clock, a, la } = pair();
    la.emit('dead');
    const s = a.connect({ host: '10.0.0.2', port: 80 });
    let err: (Error & { code?: string }) | undefined;
    s.on('error', (e) => {
      err = e;
    });
    await clock.advance(10);
    expect(err?.code).toBe('ENETUNREACH');
  });

  it('recovers from loss: every 7th packet dropped, 256 KiB arrive intact', async () => {
    const { clock, a, b, la, lb } = pair();
    la.filter = (_p, i) => i % 7 !== 3;
    lb.filter = (_p, i) => i % 11 !== 5;
    const got: Buffer[] = [];
    let ended = false;
    b.createServer((s) => {
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => {
        ended = true;
      });
    }).listen(7004);
    const payload = Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => (i * 7) & 0xff));
    a.connect({ host: '10.0.0.2', port: 7004 }).end(payload);
    await until(clock, () => ended, 600_000);
    expect(sha(Buffer.concat(got))).toBe(sha(payload));
    const s = a.stats().tcp;
    expect(s.segmentsOut).toBeGreaterThan(180);
  });
});

describe('NetStack errors', () => {
  it('turns an ICMP host unreachable during the handshake into EHOSTUNREACH', async () => {
    const { clock, a, la } = pair();
    const { emitIcmp, IcmpType } = await import('../../src/ip/icmp.js');
    const { emitIpv4Packet, IpProtocol } = await import('../../src/ip/ipv4.js');
    const { parseIpv4 } = await import('../../src/util/ipv4.js');
    let syn: Uint8Array | undefined;
    la.filter = (p) => {
      syn ??= p;
      return false; // the SYN goes nowhere
    };
    const s = a.connect({ host: '10.0.0.9', port: 80 });
    let err: (Error & { code?: string }) | undefined;
    s.on('error', (e) => {
      err = e;
    });
    await clock.advance(10);
    expect(syn).toBeDefined();
    // A router answers: RFC 792 Destination Unreachable, code 1 (host), with the SYN's header and 8 octets.
    const icmp = emitIcmp({
      type: IcmpType.DestinationUnreachable,
      code: 1,
      rest: 0,
      body: syn!.subarray(0, 28),
    });
    la.emit(
      'ip',
      emitIpv4Packet({
        source: parseIpv4('10.0.0.254'),
        destination: parseIpv4('10.0.0.1'),
        protocol: IpProtocol.ICMP,
        identification: 1,
        payload: icmp,
      }),
    );
    await clock.advance(10);
    expect(err?.code).toBe('EHOSTUNREACH');
  });

  it('reports ECONNRESET when the peer aborts, and refuses later writes as net.Socket does', async () => {
    const { clock, a, b } = pair();
    let serverSide: TcpSocket | undefined;
    b.createServer((s) => {
      serverSide = s;
    }).listen(7010);
    const client = a.connect({ host: '10.0.0.2', port: 7010 });
    await until(clock, () => serverSide !== undefined);
    const errors: string[] = [];
    client.on('error', (e: Error & { code?: string }) => errors.push(e.code ?? ''));
    serverSide!.on('error', () => undefined);
    serverSide!.destroy(new Error('boom')); // RST
    await clock.advance(50);
    expect(errors).toEqual(['ECONNRESET']);
    let writeErr: (Error & { code?: string }) | undefined;
    client.write('late', (e) => {
      writeErr = e ?? undefined;
    });
    await clock.advance(50);
    expect(writeErr?.code).toBe('ERR_STREAM_DESTROYED');
  });
});
