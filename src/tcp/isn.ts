import { createHash, randomBytes } from 'node:crypto';

/**
 * Initial sequence numbers (RFC 6528 section 3): ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey), M a timer ticking every 4 microseconds, F a keyed hash (SHA-256
 * here) so that off-path attackers cannot guess the sequence numbers of a connection.
 */
export class IsnGenerator {
  private readonly secret: Buffer;

  constructor(secret: Uint8Array = randomBytes(16)) {
    this.secret = Buffer.from(secret);
  }

  isn(
    localAddress: number,
    localPort: number,
    remoteAddress: number,
    remotePort: number,
    nowMs: number,
  ): number {
    const tuple = Buffer.alloc(12);
    tuple.writeUInt32BE(localAddress >>> 0, 0);
    tuple.writeUInt16BE(localPort, 4);
    tuple.writeUInt32BE(remoteAddress >>> 0, 6);
    tuple.writeUInt16BE(remotePort, 10);
    const f = createHash('sha256').update(tuple).update(this.secret).digest().readUInt32BE(0);
    const m = Math.floor(nowMs * 250) >>> 0; // 4 us ticks
    return (m + f) >>> 0;
  }
}
