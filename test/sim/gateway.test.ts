import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NetStack } from '../../src/ip/stack.js';
import { SimGateway, type SimGatewayOptions } from '../../src/sim/gateway/gateway.js';
import { GatewayLink, waitFor } from './gateway-helpers.js';

/**
 * The gateway end to end on this machine: our own NetStack as the device, a SimGateway as
 * the network, and real loopback servers behind it (nothing but 127.0.0.1 is ever opened).
 */
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function setup(options: SimGatewayOptions = {}) {
  const connects: net.TcpNetConnectOpts[] = [];
  const gateway = new SimGateway({
    dns: { 'svc.test': '127.0.0.1' },
    ...options,
    connect: (o) => {
      connects.push(o);
      return net.connect(o);
    },
  });
  const stack = new NetStack(new GatewayLink(gateway));
  const connect = stack.connect.bind(stack);
  // Sockets still open when a test ends are destroyed by stack.close(): keep that quiet.
  stack.connect = (o, cb) => connect(o, cb).on('error', () => undefined);
  cleanups.push(() => {
    stack.close();
    gateway.close();
  });
  return { gateway, stack, connects };
}

async function server(onConnection: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => srv.close());
  return (srv.address() as net.AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('SimGateway: TCP to real loopback sockets', () => {
  it('moves 1 MiB each way intact and half-closes (device first)', async () => {
    const payload = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 31) & 0xff));
    const reply = Buffer.alloc(1 << 20, 7);
    const got: Buffer[] = [];
    let remote: string | undefined;
    const port = await server((s) => {
      remote = s.remoteAddress;
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => s.end(reply)); // the device's FIN came: answer, then ours
    });
    const { stack, gateway, connects } = setup();
    const client = stack.connect({ host: '127.0.0.1', port });
    const back: Buffer[] = [];
    let closed: boolean | undefined;
    client.on('data', (d: Buffer) => back.push(d));
    client.on('close', (hadError: boolean) => {
      closed = hadError;
    });
    client.end(payload);
    await waitFor(() => closed !== undefined, 15_000);
    expect(closed).toBe(false);
    expect(sha(Buffer.concat(got))).toBe(sha(payload));
    expect(sha(Buffer.concat(back))).toBe(sha(reply));
    expect(client.remoteAddress).toBe('127.0.0.1');
    expect(remote).toBe('127.0.0.1');
    expect(connects).toEqual([{ host: '127.0.0.1', port, allowHalfOpen: true }]);
    const s = gateway.stats();
    expect(s.tcp.established).toBe(1);
    expect(s.tcp.bytesFromDevice).toBe(1 << 20);
    expect(s.tcp.bytesToDevice).toBe(1 << 20);
    await waitFor(() => gateway.stats().shell.sockets === 0);
  });

  it('half-closes the other way: the server ends first, the device still sends', async () => {
    const got: Buffer[] = [];
    let serverClosed = false;
    const port = await server((s) => {
      s.end('bye');
      s.on('data', (d: Buffer) => got.push(d));
      s.on('close', () => {
        serverClosed = true;
      });
    });
    const { stack } = setup();
    const client = stack.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const back: Buffer[] = [];
    let ended = false;
    client.on('data', (d: Buffer) => back.push(d));
    client.on('end', () => {
      ended = true;
      client.write('still here');
      client.end(' and done');
    });
    await waitFor(() => serverClosed);
    expect(ended).toBe(true);
    expect(Buffer.concat(back).toString()).toBe('bye');
    expect(Buffer.concat(got).toString()).toBe('still here and done');
  });

  it('refuses a closed port with ECONNREFUSED', async () => {
    const port = await closedPort();
    const { stack, gateway } = setup();
    const client = stack.connect({ host: '127.0.0.1', port });
    let err: (Error & { code?: string }) | undefined;
    client.on('error', (e) => {
      err = e;
    });
    await waitFor(() => err !== undefined);
    expect(err?.code).toBe('ECONNREFUSED');
    expect(gateway.stats().tcp.failed).toBe(1);
  });

  it('resets a destination outside allow and never connects to it', async () => {
    const { stack, gateway, connects } = setup();
    const errors: string[] = [];
    for (const host of ['192.0.2.1', '10.1.2.3', '10.0.0.1']) {
      const c = stack.connect({ host, port: 80 });
      c.on('error', (e: Error & { code?: string }) => errors.push(`${host} ${e.code}`));
    }
    await waitFor(() => errors.length === 3);
    expect(errors.sort()).toEqual([
      '10.0.0.1 ECONNREFUSED',
      '10.1.2.3 ECONNREFUSED',
      '192.0.2.1 ECONNREFUSED',
    ]);
    expect(connects).toEqual([]);
    const s = gateway.stats();
    expect(s.tcp.denied).toBe(3);
    expect(s.tcp.connectRequests).toBe(0);
    expect(s.shell.denied).toBe(0);
  });

  it('honours a narrower allow list', async () => {
    const port = await server((s) => s.end());
    const { stack, connects } = setup({ allow: ['127.0.0.2/32'] });
    const c = stack.connect({ host: '127.0.0.1', port });
    let code: string | undefined;
    c.on('error', (e: Error & { code?: string }) => {
      code = e.code;
    });
    await waitFor(() => code !== undefined);
    expect(code).toBe('ECONNREFUSED');
    expect(connects).toEqual([]);
  });

  it('resets connections beyond limits.tcpConnections', async () => {
    const held: net.Socket[] = [];
    const port = await server((s) => held.push(s));
    cleanups.push(() => {
      for (const s of held) s.destroy();
    });
    const { stack, gateway } = setup({ limits: { tcpConnections: 2 } });
    let connected = 0;
    for (let i = 0; i < 2; i++) stack.connect({ host: '127.0.0.1', port }).on('connect', () => connected++);
    await waitFor(() => connected === 2);
    const third = stack.connect({ host: '127.0.0.1', port });
    let code: string | undefined;
    third.on('error', (e: Error & { code?: string }) => {
      code = e.code;
    });
    await waitFor(() => code !== undefined);
    expect(code).toBe('ECONNREFUSED');
    const s = gateway.stats();
    expect(s.tcp.overLimit).toBe(1);
    expect(s.tcp.connections).toBe(2);
  });

  it('passes a reset from the real server to the device as ECONNRESET', async () => {
    const port = await server((s) => setTimeout(() => s.resetAndDestroy(), 20));
    const { stack } = setup();
    const c = stack.connect({ host: '127.0.0.1', port });
    let code: string | undefined;
    c.on('error', (e: Error & { code?: string }) => {
      code = e.code;
    });
    await waitFor(() => code !== undefined);
    expect(code).toBe('ECONNRESET');
  });

  it('resets the real socket when the device resets its connection', async () => {
    let serverError: string | undefined;
    let serverClosed = false;
    const port = await server((s) => {
      s.on('error', (e: Error & { code?: string }) => {
        serverError = e.code;
      });
      s.on('close', () => {
        serverClosed = true;
      });
    });
    const { stack } = setup();
    const c = stack.connect({ host: '127.0.0.1', port });
    await new Promise<void>((r) => c.once('connect', () => r()));
    c.on('error', () => undefined);
    c.destroy(new Error('abort')); // like close(2) with an error: a RST
    await waitFor(() => serverClosed);
    expect(serverError).toBe('ECONNRESET');
  });
});

describe('SimGateway: DNS, UDP and ICMP', () => {
  it('answers names from the static map and ENOTFOUND for the rest', async () => {
    const port = await server((s) => s.end('hi'));
    const { stack, gateway } = setup({ dns: { 'Svc.Test.': '127.0.0.1' } });
    expect((await stack.resolve('svc.test')).addresses).toEqual(['127.0.0.1']);
    await expect(stack.resolve('unknown.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const c = stack.connect({ host: 'svc.test', port });
    const data: Buffer[] = [];
    c.on('data', (d: Buffer) => data.push(d));
    await new Promise<void>((r) => c.on('end', () => r()));
    expect(Buffer.concat(data).toString()).toBe('hi');
    const s = gateway.stats();
    expect(s.dns.answers).toBeGreaterThanOrEqual(1);
    expect(s.dns.nxdomain).toBe(1);
  });

  it('relays UDP to a real dgram socket on 127.0.0.1 and back', async () => {
    const echo = dgram.createSocket('udp4');
    echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
    cleanups.push(() => echo.close());
    const port = echo.address().port;
    const { stack, gateway } = setup();
    const sock = stack.createUdpSocket();
    cleanups.push(() => sock.close());
    const got: { msg: string; address: string; port: number }[] = [];
    sock.on('message', (m: Buffer, r: { address: string; port: number }) =>
      got.push({ msg: m.toString(), address: r.address, port: r.port }),
    );
    sock.send(Buffer.from('one'), port, '127.0.0.1');
    sock.send(Buffer.from('two'), port, '127.0.0.1');
    await waitFor(() => got.length === 2);
    expect(got.map((g) => g.msg).sort()).toEqual(['echo:one', 'echo:two']);
    expect(got[0]).toMatchObject({ address: '127.0.0.1', port });
    const s = gateway.stats();
    expect(s.udp.flows).toBe(1);
    expect(s.udp.datagramsFromDevice).toBe(2);
    expect(s.udp.datagramsToDevice).toBe(2);
  });

  it('answers pings to the gateway and allowed destinations, drops the rest', async () => {
    const { stack, gateway } = setup();
    expect((await stack.ping('10.0.0.1', { timeoutMs: 2000 })).address).toBe('10.0.0.1');
    expect((await stack.ping('127.0.0.1', { timeoutMs: 2000 })).address).toBe('127.0.0.1');
    await expect(stack.ping('192.0.2.1', { timeoutMs: 100 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const s = gateway.stats();
    expect(s.icmp.echoReplies).toBe(2);
    expect(s.icmp.echoDenied).toBe(1);
  });
});
