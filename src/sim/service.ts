import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Clock } from '../util/clock.js';
import { CellstackError, ConfigError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import type { SimModemConfig } from './config.js';
import { createDuplexPair } from './duplex-pair.js';
import { SimGateway, type SimGatewayOptions } from './gateway/gateway.js';
import { SimModem } from './modem.js';
import { SimNetworkSide, type SimNetworkSideOptions } from './network-side.js';
import type { ModemPort } from './port.js';

const log = createLogger('sim:service');

export interface SimServiceOptions {
  /** The modem: vendor, SIM PIN, registration, signal... (see `SimModemConfig`). */
  modem?: SimModemConfig;
  /** What is behind CONNECT: the PPP peer and the link profile. */
  network?: SimNetworkSideOptions;
  /**
   * The gateway to this machine behind the PPP peer: which destinations the device may reach
   * (default loopback only) and the names its DNS server answers. Its address should be the
   * PPP peer's (both default to 10.0.0.1).
   */
  gateway?: Omit<SimGatewayOptions, 'clock'>;
  clock?: Clock;
}

/**
 * One virtual modem and the network behind it (PPP peer, link profile, gateway to this
 * machine's loopback with a static DNS), reachable three ways: in process (`port()`,
 * a `ModemPort` for `openModem`/`connect({ modem: { openPort } })`), on a TCP port of this
 * machine (`listenTcp`), and on a pseudo-terminal at a path any program can open, as a USB
 * dongle's /dev/ttyUSB2 would be (`openPty`, through socat). One host at a time, as on a
 * serial line: a new one replaces the previous, which is hung up (DTR off).
 */
export class SimService {
  readonly sim: SimModem;
  readonly network: SimNetworkSide;
  readonly gateway: SimGateway;
  private current: Duplex | undefined;
  private server: Server | undefined;
  private socat: ChildProcess | undefined;
  private closed = false;

  constructor(options: SimServiceOptions = {}) {
    this.sim = new SimModem(options.modem ?? {}, options.clock ? { clock: options.clock } : {});
    this.network = new SimNetworkSide(this.sim, {
      ...options.network,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.gateway = new SimGateway({ ...options.gateway, ...(options.clock ? { clock: options.clock } : {}) });
    this.network.on('ip', (packet) => this.gateway.input(packet));
    this.gateway.on('ip', (packet) => {
      this.network.sendIp(packet);
    });
  }

  /** Connects the modem to `stream` (the host's end of a line); the previous host is hung up. */
  attach(stream: Duplex): void {
    if (this.closed) throw new CellstackError('CLOSED', 'sim: the service is closed');
    if (this.current && this.current !== stream) this.sim.setDtr(false);
    this.current = stream;
    this.sim.attach(stream);
    this.sim.setDtr(true);
    const gone = (): void => {
      if (this.current !== stream) return;
      this.current = undefined;
      // The host closed the port: DTR drops, the modem hangs up (V.250 &D2).
      this.sim.setDtr(false);
      this.sim.detach();
    };
    stream.once('close', gone);
    stream.once('end', gone);
  }

  /** An in-process port to this modem (for `openModem` or the manager's `openPort`). */
  port(): ModemPort {
    const [host, device] = createDuplexPair();
    this.attach(device);
    return {
      path: 'sim',
      stream: host,
      setDtr: async (value: boolean) => {
        if (this.current === device) this.sim.setDtr(value);
      },
      getSignals: async () => ({ dcd: this.sim.core.carrier, dsr: true, cts: true }),
      close: async () => {
        host.destroy();
        device.destroy();
      },
    };
  }

  /** Serves the modem on a TCP port (default host 127.0.0.1); resolves with the port. */
  listenTcp(port: number, host = '127.0.0.1'): Promise<number> {
    if (this.server) throw new ConfigError('sim: already listening on TCP');
    const server = createServer((socket: Socket) => {
      socket.setNoDelay(true);
      socket.on('error', (err) => log('tcp host: %s', err.message));
      log('tcp host connected from %s:%d', socket.remoteAddress, socket.remotePort);
      this.attach(socket);
    });
    this.server = server;
    return new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  /**
   * Makes `path` a pseudo-terminal that any program can open as the modem's serial port
   * (socat makes the pty; its other side is this process). Each time the program closes it,
   * the modem hangs up and the pty is made again for the next one. Needs socat on the PATH.
   */
  async openPty(path: string, socat = 'socat'): Promise<void> {
    if (existsSync(path)) throw new ConfigError(`sim: ${path} exists already`);
    const start = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(socat, ['-d', '-d', `pty,raw,echo=0,link=${path},wait-slave`, 'STDIO'], {
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        this.socat = child;
        let stderr = '';
        let ready = false;
        child.stderr?.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        const t0 = Date.now();
        const poll = setInterval(() => {
          if (existsSync(path)) {
            ready = true;
            clearInterval(poll);
            resolve();
          } else if (Date.now() - t0 > 5000) {
            clearInterval(poll);
            child.kill('SIGKILL'); // the exit handler reports it
          }
        }, 10);
        child.on('error', (err) =>
          reject(
            new CellstackError('ENOENT', `sim --pty needs socat (apt-get install socat): ${err.message}`),
          ),
        );
        const line = new Duplex({
          read() {},
          write(chunk: Buffer, _enc, cb) {
            if (child.stdin?.writable) child.stdin.write(chunk, () => cb());
            else cb();
          },
        });
        child.stdout?.on('data', (d: Buffer) => line.push(d));
        child.stdin?.on('error', () => {});
        this.attach(line);
        child.on('exit', (code) => {
          clearInterval(poll);
          line.push(null);
          line.destroy();
          if (!ready) {
            reject(
              new CellstackError(
                'EPTY',
                `socat could not make ${path}: ${stderr.trim().split('\n').at(-1) ?? code}`,
              ),
            );
            return;
          }
          // The program closed the pty: make it again for the next one.
          if (!this.closed && this.socat === child)
            void start().catch((err: Error) => log('pty: %s', err.message));
        });
      });
    await start();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server?.close();
    this.socat?.kill('SIGTERM');
    this.gateway.close();
    this.network.close();
    this.sim.close();
  }
}
