import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TlsClientCore } from '../../src/tls/client-core.js';
import { connect } from '../../src/tls/connect.js';
import { TlsSocket } from '../../src/tls/socket.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { hex, illustratedCore, X } from './helpers.js';

/** A transport that keeps what we write and delivers what the test pushes. */
class FakeTransport extends Duplex {
  written: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, callback: () => void): void {
    this.written.push(chunk);
    callback();
  }
}

/** Record headers in a byte string, for counting. */
function countRecords(bytes: Buffer): number {
  let n = 0;
  for (let off = 0; off < bytes.length; off += 5 + bytes.readUInt16BE(off + 3)) n++;
  return n;
}

const SERVER_FLIGHT = hex(
  X.serverhello + X.servercert + X.serverkeyexchange + X.serverhellodone + X.serverccs + X.serverfinished,
);

describe('TlsSocket.stats()', () => {
  it('counts records, octets and alerts both ways', async () => {
    const transport = new FakeTransport();
    const socket = new TlsSocket(transport, illustratedCore(), { clock: new ManualClock(0) });
    expect(socket.stats()).toEqual({
      recordsIn: 0,
      recordsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      alertsSent: 0,
      alertsReceived: 0,
    });
    socket.startHandshake();
    const connected = once(socket, 'secureConnect');
    transport.push(SERVER_FLIGHT);
    await connected;
    const afterHandshake = socket.stats();
    expect(afterHandshake).toEqual({
      recordsIn: countRecords(SERVER_FLIGHT),
      // ClientHello, ClientKeyExchange, ChangeCipherSpec, Finished.
      recordsOut: 4,
      bytesIn: SERVER_FLIGHT.length,
      bytesOut: Buffer.concat(transport.written).length,
      alertsSent: 0,
      alertsReceived: 0,
    });
    const data = once(socket, 'data');
    transport.push(hex(X.serverdata));
    expect(Buffer.from((await data)[0] as Buffer).toString()).toBe('pong');
    socket.end();
    await once(socket, 'finish');
    const end = socket.stats();
    expect(end.recordsIn).toBe(afterHandshake.recordsIn + 1);
    expect(end.bytesIn).toBe(afterHandshake.bytesIn + hex(X.serverdata).length);
    expect(end.alertsSent).toBe(1); // close_notify
    expect(end.recordsOut).toBe(5);
    expect(end.bytesOut).toBe(Buffer.concat(transport.written).length);
    // A snapshot, not the live object.
    end.recordsIn = 1000;
    expect(socket.stats().recordsIn).toBe(afterHandshake.recordsIn + 1);
    socket.destroy();
  });
});

describe('handshake timeout', () => {
  it('the core: a deadline while the handshake runs, none once connected or without a timeout', () => {
    const core = illustratedCore();
    expect(core.nextDeadline()).toBeUndefined();
    core.start(1000);
    expect(core.nextDeadline()).toBe(61_000); // 60 s by default
    core.input(SERVER_FLIGHT, 2000);
    expect(core.connected).toBe(true);
    expect(core.nextDeadline()).toBeUndefined();
    core.tick(1_000_000);
    expect(core.connected).toBe(true);

    const none = illustratedCore({ handshakeTimeout: 0 });
    none.start(0);
    expect(none.nextDeadline()).toBeUndefined();
    none.tick(10_000_000);
    expect(none.closed).toBe(false);
    expect(() => new TlsClientCore({ handshakeTimeout: -1 })).toThrow(RangeError);
  });

  it('the core: ERR_TLS_HANDSHAKE_TIMEOUT at the deadline, and no alert sent', () => {
    const core = illustratedCore({ handshakeTimeout: 5000 });
    core.start(0);
    core.takeOutput();
    core.input(hex(X.serverhello), 100);
    core.tick(4999);
    expect(core.takeEvents()).toEqual([]);
    core.tick(5000);
    const events = core.takeEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'error',
      error: { name: 'TlsError', code: 'ERR_TLS_HANDSHAKE_TIMEOUT' },
    });
    expect(core.closed).toBe(true);
    expect(core.takeOutput()).toEqual([]);
    expect(core.nextDeadline()).toBeUndefined();
  });

  it('TlsSocket on a ManualClock: destroyed with ERR_TLS_HANDSHAKE_TIMEOUT when the server stays silent', async () => {
    const clock = new ManualClock(0);
    const transport = new FakeTransport();
    const socket = new TlsSocket(transport, illustratedCore({ handshakeTimeout: 5000 }), { clock });
    const errors: Error[] = [];
    socket.on('error', (e) => errors.push(e));
    socket.startHandshake();
    expect(clock.pending).toBe(1);
    await clock.advance(4999);
    expect(errors).toEqual([]);
    await clock.advance(1);
    expect(errors.map((e) => (e as Error & { code: string }).code)).toEqual(['ERR_TLS_HANDSHAKE_TIMEOUT']);
    expect(socket.destroyed).toBe(true);
    // Only the ClientHello went out: no alert for a timeout.
    expect(transport.written).toHaveLength(1);
  });

  it('TlsSocket: the timer is disarmed once connected', async () => {
    const clock = new ManualClock(0);
    const transport = new FakeTransport();
    const socket = new TlsSocket(transport, illustratedCore(), { clock });
    socket.startHandshake();
    expect(clock.pending).toBe(1);
    const connected = once(socket, 'secureConnect');
    transport.push(SERVER_FLIGHT);
    await connected;
    expect(clock.pending).toBe(0);
    await clock.advance(120_000);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });

  for (const engine of ['own', 'node'] as const) {
    it(`connect({ engine: '${engine}' }): 60 s by default, then ERR_TLS_HANDSHAKE_TIMEOUT`, async () => {
      const clock = new ManualClock(0);
      const transport = new FakeTransport();
      const socket = connect({ socket: transport, servername: 'localhost', clock, engine });
      const failed = new Promise<Error>((resolve) => socket.on('error', resolve));
      await clock.advance(59_999);
      expect(socket.destroyed).toBe(false);
      await clock.advance(1);
      expect(await failed).toMatchObject({ name: 'TlsError', code: 'ERR_TLS_HANDSHAKE_TIMEOUT' });
    });
  }

  it('connect(): a bad handshakeTimeout is refused before anything is sent', () => {
    const transport = new FakeTransport();
    expect(() => connect({ socket: transport, handshakeTimeout: -5 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(transport.written).toEqual([]);
  });
});
