import { Duplex } from 'node:stream';
import { ModemError } from './errors.js';

interface DataOwner {
  readonly mode: 'command' | 'data';
  writeRaw(bytes: Uint8Array): void;
  setFlowing(flowing: boolean): void;
}

/**
 * The byte stream of a data call: what PPP runs over once the modem said `CONNECT`. Reads
 * are the modem's bytes (including those that arrived in the same chunk as `CONNECT`),
 * writes go to the modem. The readable side ends when the call ends: on `NO CARRIER`
 * (`'carrier-lost'` is emitted first) or when the modem is hung up.
 */
export class DataStream extends Duplex {
  private ended = false;
  private lostCarrier = false;

  constructor(private readonly owner: DataOwner) {
    super({ allowHalfOpen: false });
  }

  /** Whether the call ended with `NO CARRIER` from the modem. */
  get carrierWasLost(): boolean {
    return this.lostCarrier;
  }

  /** Whether data mode is still on. */
  get active(): boolean {
    return !this.ended;
  }

  override _read(): void {
    this.owner.setFlowing(true);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.ended || this.owner.mode !== 'data') {
      callback(new ModemError('NO_CARRIER', 'the data call has ended'));
      return;
    }
    this.owner.writeRaw(chunk);
    callback();
  }

  /** @internal bytes from the modem */
  deliver(bytes: Uint8Array): void {
    if (this.ended) return;
    if (!this.push(Buffer.from(bytes))) this.owner.setFlowing(false);
  }

  /** @internal the modem said NO CARRIER */
  carrierLost(): void {
    this.lostCarrier = true;
    this.emit('carrier-lost');
    this.finish();
  }

  /** @internal data mode ended (hang-up, or the port closed) */
  finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.setFlowing(true);
    this.push(null);
  }
}
