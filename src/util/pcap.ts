import { closeSync, openSync, writeSync } from 'node:fs';
import { CellstackError, ConfigError } from './errors.js';
import { createLogger } from './log.js';

const log = createLogger('pcap');

/**
 * Link-layer header types (https://www.tcpdump.org/linktypes.html) a `PcapWriter` can write.
 *
 * - `LINKTYPE_PPP_WITH_DIR` (204), the default: one direction octet (0x00 received by this
 *   host, 0x01 sent), then the PPP frame starting at Address 0xff, Control 0x03. This is what
 *   Wireshark/tshark read as "PPP with Directional Info" and decode fully.
 * - `LINKTYPE_PPP_PPPD` (166): libpcap's "PPP in HDLC-like encapsulation, like
 *   LINKTYPE_PPP_HDLC, but with the 0xff address byte replaced by a direction indication"
 *   (the packets pppd hands its active-filter). Written as libpcap defines it; Wireshark 4.0
 *   does not read this type at all ("network type 166 unknown or unsupported"), hence it is
 *   not the default.
 * - `LINKTYPE_PPP` (9) and `LINKTYPE_PPP_HDLC` (50): the frame from Address 0xff, no direction.
 */
export const LINKTYPE_PPP = 9;
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_PPP_PPPD = 166;
export const LINKTYPE_PPP_WITH_DIR = 204;

const LINK_TYPES: ReadonlySet<number> = new Set([
  LINKTYPE_PPP,
  LINKTYPE_PPP_HDLC,
  LINKTYPE_PPP_PPPD,
  LINKTYPE_PPP_WITH_DIR,
]);

/** Classic pcap, microsecond timestamps, version 2.4. */
const PCAP_MAGIC = 0xa1b2c3d4;
const SNAPLEN = 65535;
const PPP_ADDRESS = 0xff;
const PPP_CONTROL = 0x03;

export interface PcapWriterOptions {
  /** One of the `LINKTYPE_*` constants above. Default `LINKTYPE_PPP_WITH_DIR` (204). */
  linkType?: number;
  /** The clock for packet timestamps, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Told (once) about the first write error; the capture stops there. Also logged. */
  onError?: (error: Error) => void;
}

export interface PcapStats {
  /** Packets written. */
  packets: number;
  /** Octets written, file and record headers included. */
  bytes: number;
  /** Write errors (the first one stops the capture). */
  errors: number;
  /** Frames not written because the capture had stopped (error or `close()`). */
  dropped: number;
}

/**
 * Writes every PPP frame in and out to a classic pcap file for Wireshark/tshark/tcpdump.
 *
 * Frames are given as PPP sees them after HDLC unescaping, without FCS (RFC 1662 section 3.1):
 * from Address 0xff Control 0x03, or from the Protocol field when Address-and-Control-Field-
 * Compression is in use; the writer puts 0xff 0x03 back in front of the latter so that every
 * record has the same shape (Wireshark 4.0 decodes ACFC frames without them too, but the 166
 * layout puts the direction in the Address octet's place).
 * A Protocol field compressed to one octet (PFC) is left alone: Wireshark's PPP dissector
 * tells a one-octet Protocol by its odd first octet (RFC 1661 section 2).
 *
 * Writes are synchronous, one `writeSync` of header and frame per packet: a PPP link over a
 * serial or USB modem carries at most some thousands of frames a second, a write to a regular
 * file is a copy into the page cache (microseconds, no waiting for the disk), the capture is a
 * debugging aid, and a synchronous writer needs no queue, no back-pressure and no bound, and
 * leaves a file that is complete up to the last frame when the process dies, which is when a
 * capture is wanted most. An I/O error never reaches the caller of `write()`: it is counted,
 * reported once (log and `onError`), and the capture stops.
 */
export class PcapWriter {
  readonly stats: PcapStats = { packets: 0, bytes: 0, errors: 0, dropped: 0 };
  readonly linkType: number;
  private readonly now: () => number;
  private readonly onError: ((error: Error) => void) | undefined;
  private fd: number | undefined;

  /** Creates (truncates) `file` and writes the pcap header; throws if the file cannot be opened. */
  constructor(
    readonly file: string,
    options: PcapWriterOptions = {},
  ) {
    const linkType = options.linkType ?? LINKTYPE_PPP_WITH_DIR;
    if (!LINK_TYPES.has(linkType)) throw new ConfigError(`pcap link type ${linkType} is not a PPP link type`);
    this.linkType = linkType;
    this.now = options.now ?? Date.now;
    this.onError = options.onError;
    try {
      this.fd = openSync(file, 'w');
    } catch (err) {
      throw new CellstackError('PCAP_OPEN', `cannot open pcap file ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const header = Buffer.alloc(24);
    header.writeUInt32LE(PCAP_MAGIC, 0);
    header.writeUInt16LE(2, 4); // version 2.4
    header.writeUInt16LE(4, 6);
    header.writeInt32LE(0, 8); // thiszone: timestamps are UTC
    header.writeUInt32LE(0, 12); // sigfigs
    header.writeUInt32LE(SNAPLEN, 16);
    header.writeUInt32LE(linkType, 20);
    this.put(header);
  }

  /** True until `close()` or the first write error. */
  get open(): boolean {
    return this.fd !== undefined;
  }

  /** Records one frame, `in` as received, `out` as sent. Never throws. */
  write(direction: 'in' | 'out', frame: Uint8Array): void {
    if (this.fd === undefined) {
      this.stats.dropped++;
      return;
    }
    const hasAddress = frame.length >= 2 && frame[0] === PPP_ADDRESS && frame[1] === PPP_CONTROL;
    const body = hasAddress ? frame.subarray(2) : frame;
    let prefix: number[];
    const dir = direction === 'in' ? 0x00 : 0x01;
    switch (this.linkType) {
      case LINKTYPE_PPP_WITH_DIR:
        prefix = [dir, PPP_ADDRESS, PPP_CONTROL];
        break;
      case LINKTYPE_PPP_PPPD:
        prefix = [dir, PPP_CONTROL]; // the direction takes the Address octet's place
        break;
      default:
        prefix = [PPP_ADDRESS, PPP_CONTROL];
    }
    const length = prefix.length + body.length;
    const captured = Math.min(length, SNAPLEN);
    const record = Buffer.allocUnsafe(16 + captured);
    const ms = this.now();
    const sec = Math.floor(ms / 1000);
    const usec = Math.min(999_999, Math.max(0, Math.floor((ms - sec * 1000) * 1000)));
    record.writeUInt32LE(sec >>> 0, 0);
    record.writeUInt32LE(usec, 4);
    record.writeUInt32LE(captured, 8);
    record.writeUInt32LE(length, 12);
    for (let i = 0; i < prefix.length; i++) record[16 + i] = prefix[i]!;
    record.set(body.subarray(0, captured - prefix.length), 16 + prefix.length);
    if (this.put(record)) this.stats.packets++;
  }

  /** Closes the file. Later `write()`s are counted as dropped. Never throws. */
  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch (err) {
      this.fail(err);
    }
  }

  private put(bytes: Uint8Array): boolean {
    const fd = this.fd;
    if (fd === undefined) return false;
    try {
      let done = 0;
      while (done < bytes.length) {
        const n = writeSync(fd, bytes, done, bytes.length - done);
        if (n <= 0) throw new Error('write made no progress');
        done += n;
      }
      this.stats.bytes += bytes.length;
      return true;
    } catch (err) {
      this.fail(err);
      this.close();
      return false;
    }
  }

  private fail(err: unknown): void {
    this.stats.errors++;
    if (this.stats.errors > 1) return;
    const error = new CellstackError(
      'PCAP_WRITE',
      `pcap capture to ${this.file} stopped: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
    log('%s', error.message);
    try {
      this.onError?.(error);
    } catch {
      // the data path must not see an error from a capture callback either
    }
  }
}
