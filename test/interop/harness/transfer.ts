import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { NetStack } from '../../../src/ip/stack.js';
import { collect } from '../../helpers/collect.js';
import { rigStream } from './rig-stream.js';

/**
 * Bulk transfers through the guest's `sink` and `source` services (see README.md), checked
 * end to end: the sink's count and SHA-256 of what we sent, or the rig stream we received.
 */
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Sends `n` bytes of the rig stream to `sink` (tcp 5002), half-closes, checks its answer. */
export async function uploadToSink(stack: NetStack, peerAddress: string, n: number): Promise<void> {
  const data = rigStream(0, n);
  const s = stack.connect({ host: peerAddress, port: 5002, allowHalfOpen: true });
  s.end(data);
  const answer = (await collect(s)).toString();
  expect(answer).toMatch(new RegExp(`^OK bytes=${n} sha256=${sha(data)} `));
}

/** Asks `source` (tcp 5001) for `n` bytes and checks they are the rig stream's first `n`. */
export async function downloadFromSource(stack: NetStack, peerAddress: string, n: number): Promise<void> {
  const s = stack.connect({ host: peerAddress, port: 5001 });
  s.write(`${n}\n`);
  const got = await collect(s);
  expect(got.length).toBe(n);
  expect(sha(got)).toBe(sha(rigStream(0, n)));
}
