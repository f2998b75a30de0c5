import { EventEmitter } from 'node:events';
import type { TcpSocket } from './socket.js';

/** Listening side, shaped like `net.Server`: `connection`, `listening`, `close`. */
export interface TcpServerHost {
  listen(server: TcpServer, port: number, backlog: number): void;
  unlisten(server: TcpServer): void;
  readonly localAddress: string;
}

export interface TcpServerEvents {
  connection: [TcpSocket];
  listening: [];
  close: [];
  error: [Error];
}

export class TcpServer extends EventEmitter<TcpServerEvents> {
  private port: number | undefined;
  private readonly sockets = new Set<TcpSocket>();

  constructor(private readonly host: TcpServerHost) {
    super();
  }

  get listening(): boolean {
    return this.port !== undefined;
  }

  address(): { address: string; family: 'IPv4'; port: number } | null {
    return this.port === undefined
      ? null
      : { address: this.host.localAddress, family: 'IPv4', port: this.port };
  }

  listen(port: number, callback?: () => void): this {
    try {
      this.host.listen(this, port, 128);
    } catch (err) {
      process.nextTick(() => this.emit('error', err as Error));
      return this;
    }
    this.port = port;
    if (callback) this.once('listening', callback);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /** Stops accepting; `close` follows once the accepted connections are gone, like net.Server. */
  close(callback?: () => void): this {
    if (this.port !== undefined) this.host.unlisten(this);
    this.port = undefined;
    if (callback) this.once('close', callback);
    this.maybeClosed();
    return this;
  }

  /** @internal */
  accepted(socket: TcpSocket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.maybeClosed();
    });
    this.emit('connection', socket);
  }

  private maybeClosed(): void {
    if (this.port === undefined && this.sockets.size === 0) process.nextTick(() => this.emit('close'));
  }
}
