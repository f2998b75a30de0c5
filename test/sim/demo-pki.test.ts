import { X509Certificate } from 'node:crypto';
import { createServer, connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { makeDemoPki } from '../../src/sim/demo-pki.js';

describe('makeDemoPki', () => {
  it('makes a CA, a server certificate for the broker names and a client certificate that node:tls accepts both ways', async () => {
    const pki = makeDemoPki();
    const ca = new X509Certificate(pki.ca);
    const server = new X509Certificate(pki.serverCert);
    const client = new X509Certificate(pki.clientCert);
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(server.checkHost('broker.sim')).toBe('broker.sim');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    const srv = createServer(
      { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
      (s) => {
        s.end(`hello ${(s.getPeerCertificate() as { subject?: { CN?: string } }).subject?.CN}`);
      },
    );
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const c = tlsConnect({
          host: '127.0.0.1',
          port,
          servername: 'broker.sim',
          ca: pki.ca,
          cert: pki.clientCert,
          key: pki.clientKey,
        });
        let got = '';
        c.on('data', (d: Buffer) => {
          got += d.toString();
        });
        c.on('end', () => resolve(got));
        c.on('error', reject);
      });
      expect(text).toBe('hello cellstack-demo');
    } finally {
      srv.close();
    }
  });
});
