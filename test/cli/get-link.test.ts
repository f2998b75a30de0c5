import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { peer, which } from '../interop/harness/peers.js';
import { type PtyGuest, startPtyGuest } from '../interop/harness/pty-guest.js';
import { type UmlPeer, umlProblem } from '../interop/harness/uml.js';

/**
 * `cellstack get --device` over a PPP line (a pty) to pppd in the UML guest: the request goes
 * through our PPP, IPv4, TCP (and TLS), names through the link's DNS. The guest serves HTTP/1.1
 * on 8080 (python) and `openssl s_server -www -tls1_2` on 4433 with the harness's test CA.
 */
const uml = peer('uml', umlProblem());
const socat = peer('socat', which('socat') ? undefined : 'socat is not installed (apt-get install socat)');

describe.skipIf(uml.skip || socat.skip)('cellstack get over a PPP line to the guest', () => {
  let line: PtyGuest;
  let guest: UmlPeer;
  let device: string;

  beforeAll(async () => {
    line = await startPtyGuest({ auth: 'none', services: ['http', 'tls', 'dns'] });
    ({ guest, device } = line);
  });

  afterAll(async () => {
    await line?.stop();
  });

  const nextSession = () => line.nextSession();

  const get = (args: string[]) =>
    runCli(['get', ...args, '--direct', '--device', device], { timeoutMs: 90_000, binary: true });

  it('http by name through the link DNS; Content-Length bodies; 404 exits 1', async () => {
    const r = await get(['http://peer.cellstack.test:8080/']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('cellstack rig http\n');
    expect(r.stderr).toMatch(/^HTTP\/1\.[01] 200 OK$/m);
    await nextSession();
    const big = await get(['http://10.64.0.1:8080/bytes/200000']);
    expect(big.code, big.stderr).toBe(0);
    expect(big.stdout.length).toBe(200_000);
    await nextSession();
    const missing = await get(['http://10.64.0.1:8080/nowhere']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('not found\n');
    expect(missing.stderr).toMatch(/^cellstack: HTTP_404: /m);
  });

  it('https with the test CA, own engine and node:tls, the same suite', async () => {
    const seen: string[] = [];
    for (const engine of ['own', 'node']) {
      await nextSession();
      const r = await get(['https://10.64.0.1:4433/', '--ca', guest.certs!.ca, '--engine', engine]);
      expect(r.code, `${engine}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('Ciphers supported in s_server binary');
      const suite = /^tls: (TLSv1\.2 \S+)/m.exec(r.stderr)?.[1];
      expect(suite).toBeDefined();
      seen.push(suite!);
      expect(r.stderr).toMatch(/^peer: CN=rig\.test/m);
    }
    expect(seen[0]).toBe(seen[1]);
  });
});
