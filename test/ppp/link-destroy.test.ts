import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PppLink } from '../../src/ppp/link.js';
import { ManualClock } from '../../src/util/manual-clock.js';

describe('PppLink.destroy', () => {
  it('lets go of the line at once: no more bytes read or written, dead emitted, the stream left open', async () => {
    const clock = new ManualClock();
    const written: Buffer[] = [];
    // A line that swallows what is written (no echo) and stays readable.
    const line = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk);
        cb();
      },
    });
    const link = new PppLink(line, { clock });
    link.open();
    expect(written.length).toBe(1); // the first ConfReq
    let dead = 0;
    link.on('dead', () => dead++);
    link.destroy();
    link.destroy();
    expect(dead).toBe(1);
    expect(line.listenerCount('data')).toBe(0);
    const before = written.length;
    await clock.advance(60_000); // no ConfReq retransmission after destroy
    expect(written.length).toBe(before);
    line.push(Buffer.from([0x7e, 0xff, 0x03, 0xc0, 0x21, 0x7e])); // ignored, nothing thrown
    expect(line.destroyed).toBe(false);
    await link.close(); // resolves at once on a dead link
  });
});
