import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CellstackError, ConfigError } from '../../src/util/errors.js';
import { LINKTYPE_PPP, LINKTYPE_PPP_PPPD, LINKTYPE_PPP_WITH_DIR, PcapWriter } from '../../src/util/pcap.js';
import { peer, which } from '../interop/harness/peers.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];

/** The internet checksum (RFC 1071), to build packets Wireshark has nothing to complain about. */
function inetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 ICMP echo (request type 8, reply type 0) from `src` to `dst`. */
function icmpEcho(type: 0 | 8, src: number[], dst: number[]): Uint8Array {
  const icmp = Uint8Array.from([type, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, ...ascii('cellstack ping')]);
  const c = inetChecksum(icmp);
  icmp[2] = c >>> 8;
  icmp[3] = c & 0xff;
  const total = 20 + icmp.length;
  const ip = Uint8Array.from([
    0x45,
    0,
    total >>> 8,
    total & 0xff,
    0,
    1,
    0x40,
    0,
    64,
    1,
    0,
    0,
    ...src,
    ...dst,
  ]);
  const h = inetChecksum(ip);
  ip[10] = h >>> 8;
  ip[11] = h & 0xff;
  return Uint8Array.from([...ip, ...icmp]);
}

const LOCAL = [10, 64, 0, 1];
const REMOTE = [10, 64, 0, 2];
const SERVER = [8, 8, 8, 8];

/** What the link hands the writer: frames after HDLC unescaping, without FCS. */
const frames: { name: string; direction: 'in' | 'out'; frame: Uint8Array; protocols: string }[] = [
  {
    name: 'LCP Configure-Request (as pppd sends it)',
    direction: 'out',
    frame: hex('ff 03 c0 21 01 01 00 14 02 06 00 00 00 00 05 06 7e 1a 9e 22 07 02 08 02'),
    protocols: 'ppp:lcp',
  },
  {
    name: 'PAP Authenticate-Request',
    direction: 'out',
    frame: Uint8Array.from([0xff, 0x03, 0xc0, 0x23, 1, 1, 0, 14, 4, ...ascii('user'), 4, ...ascii('pass')]),
    protocols: 'ppp:pap',
  },
  {
    name: 'IPCP Configure-Request with IP-Address and DNS (RFC 1877)',
    direction: 'out',
    frame: hex('ff 03 80 21 01 01 00 16 03 06 00 00 00 00 81 06 00 00 00 00 83 06 00 00 00 00'),
    protocols: 'ppp:ipcp',
  },
  {
    name: 'IPv4 ICMP echo request in protocol 0x0021',
    direction: 'out',
    frame: Uint8Array.from([0xff, 0x03, 0x00, 0x21, ...icmpEcho(8, LOCAL, SERVER)]),
    protocols: 'ppp:ip:icmp:data',
  },
  {
    name: 'IPCP Configure-Ack received with ACFC (no Address/Control)',
    direction: 'in',
    frame: hex('80 21 02 01 00 0a 03 06 0a 40 00 01'),
    protocols: 'ppp:ipcp',
  },
  {
    name: 'ICMP echo reply received with PFC (one-octet Protocol 0x21)',
    direction: 'in',
    frame: Uint8Array.from([0xff, 0x03, 0x21, ...icmpEcho(0, SERVER, LOCAL)]),
    protocols: 'ppp:ip:icmp:data',
  },
  {
    name: 'ICMP echo request received with ACFC and PFC',
    direction: 'in',
    frame: Uint8Array.from([0x21, ...icmpEcho(8, REMOTE, LOCAL)]),
    protocols: 'ppp:ip:icmp:data',
  },
];

const work = mkdtempSync(join(tmpdir(), 'cellstack-pcap-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes every frame above, one second apart from a fixed clock. */
function capture(file: string, linkType?: number): PcapWriter {
  let t = Date.UTC(2026, 0, 2, 3, 4, 5) + 0.25; // a quarter of a millisecond: 250 us
  const pcap = new PcapWriter(file, {
    now: () => (t += 1000),
    ...(linkType === undefined ? {} : { linkType }),
  });
  for (const f of frames) pcap.write(f.direction, f.frame);
  pcap.close();
  return pcap;
}

describe('PcapWriter file format', () => {
  it('writes a classic pcap header and one record per frame, direction octet first', () => {
    const file = join(work, 'format.pcap');
    const pcap = capture(file);
    const bytes = readFileSync(file);
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(bytes.readUInt16LE(4)).toBe(2);
    expect(bytes.readUInt16LE(6)).toBe(4);
    expect(bytes.readUInt32LE(16)).toBe(65535);
    expect(bytes.readUInt32LE(20)).toBe(LINKTYPE_PPP_WITH_DIR);
    let at = 24;
    const first = Date.UTC(2026, 0, 2, 3, 4, 6) / 1000;
    for (const [i, f] of frames.entries()) {
      expect(bytes.readUInt32LE(at)).toBe(first + i);
      expect(bytes.readUInt32LE(at + 4)).toBe(250);
      const incl = bytes.readUInt32LE(at + 8);
      expect(bytes.readUInt32LE(at + 12)).toBe(incl);
      const body = bytes.subarray(at + 16, at + 16 + incl);
      expect(body[0]).toBe(f.direction === 'in' ? 0 : 1);
      // Address and Control always present: put back when the frame came with ACFC.
      expect([body[1], body[2]]).toEqual([0xff, 0x03]);
      const withAddress = f.frame[0] === 0xff ? f.frame : Uint8Array.from([0xff, 0x03, ...f.frame]);
      expect(Buffer.from(body.subarray(1)).equals(Buffer.from(withAddress))).toBe(true);
      at += 16 + incl;
    }
    expect(at).toBe(bytes.length);
    expect(pcap.stats).toEqual({ packets: frames.length, bytes: bytes.length, errors: 0, dropped: 0 });
  });

  it('writes the libpcap LINKTYPE_PPP_PPPD layout (direction in place of Address) and LINKTYPE_PPP', () => {
    const pppd = join(work, 'pppd.pcap');
    capture(pppd, LINKTYPE_PPP_PPPD);
    const a = readFileSync(pppd);
    expect(a.readUInt32LE(20)).toBe(166);
    expect([...a.subarray(24 + 16, 24 + 16 + 4)]).toEqual([0x01, 0x03, 0xc0, 0x21]);
    const plain = join(work, 'plain.pcap');
    capture(plain, LINKTYPE_PPP);
    const b = readFileSync(plain);
    expect(b.readUInt32LE(20)).toBe(9);
    expect([...b.subarray(24 + 16, 24 + 16 + 4)]).toEqual([0xff, 0x03, 0xc0, 0x21]);
    expect(() => new PcapWriter(join(work, 'x.pcap'), { linkType: 1 })).toThrow(ConfigError);
  });

  it('throws a typed error when the file cannot be opened', () => {
    const err = (() => {
      try {
        new PcapWriter(join(work, 'no', 'such', 'dir.pcap'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(CellstackError);
    expect((err as CellstackError).code).toBe('PCAP_OPEN');
  });

  it('never throws into the data path on an I/O error: counts it, reports once, stops', () => {
    const errors: Error[] = [];
    // /dev/full accepts open() and fails every write with ENOSPC.
    const pcap = new PcapWriter('/dev/full', { onError: (e) => errors.push(e) });
    expect(pcap.open).toBe(false); // the header write already failed
    for (const f of frames) expect(() => pcap.write(f.direction, f.frame)).not.toThrow();
    expect(() => pcap.close()).not.toThrow();
    expect(errors).toHaveLength(1);
    expect((errors[0] as CellstackError).code).toBe('PCAP_WRITE');
    expect(pcap.stats).toEqual({ packets: 0, bytes: 0, errors: 1, dropped: frames.length });
  });

  it('counts frames written after close() as dropped', () => {
    const pcap = new PcapWriter(join(work, 'closed.pcap'));
    pcap.write('in', frames[0]!.frame);
    pcap.close();
    pcap.close();
    pcap.write('in', frames[0]!.frame);
    expect(pcap.stats.packets).toBe(1);
    expect(pcap.stats.dropped).toBe(1);
  });
});

const tshark = peer(
  'tshark',
  which('tshark') ? undefined : 'tshark is not installed (apt-get install tshark)',
);

describe.skipIf(tshark.skip)('PcapWriter read back by tshark', () => {
  const run = (args: string[]) => {
    const r = spawnSync('tshark', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tshark ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  it('decodes every frame as LCP, PAP, IPCP or ICMP, with its direction, and nothing malformed', () => {
    const file = join(work, 'tshark.pcap');
    capture(file);
    const lines = run(['-r', file, '-T', 'fields', '-e', 'frame.protocols', '-e', 'frame.p2p_dir'])
      .trim()
      .split('\n');
    // frame.p2p_dir: 0 sent, 1 received (Wireshark's P2P_DIR_SENT / P2P_DIR_RECV).
    expect(lines).toEqual(frames.map((f) => `${f.protocols}\t${f.direction === 'out' ? 0 : 1}`));
    expect(run(['-r', file, '-Y', '_ws.malformed || _ws.expert.severity >= warning'])).toBe('');
    const detail = run([
      '-r',
      file,
      '-T',
      'fields',
      '-e',
      'pap.peer_id',
      '-e',
      'ipcp.opt.pri_dns_address',
      '-e',
      'icmp.type',
    ]);
    expect(detail).toContain('user');
    expect(detail).toContain('0.0.0.0');
    expect(detail).toMatch(/\t8\n/);
  });
});
