import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { which } from './peers.js';

/**
 * A per-run test CA, a server certificate and a client certificate, made with the host's
 * `openssl` (RSA 2048, SHA-256, PEM, valid 30 days). The server certificate names the peer
 * as it is reached over PPP; the client certificate is for mutual-TLS tests.
 */
export interface PeerCerts {
  /** The test CA (trust anchor) certificate. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Subject alternative names of the server certificate. */
export const SERVER_SAN = [
  'DNS:rig.test',
  'IP:10.64.0.1',
  'DNS:cellstack.test',
  'DNS:peer.cellstack.test',
  'DNS:broker.cellstack.test',
];
export const SERVER_CN = 'rig.test';
export const CLIENT_CN = 'cellstack-client';

const run = promisify(execFile);

async function openssl(dir: string, args: string[]): Promise<void> {
  const bin = which('openssl');
  if (!bin) throw new Error('openssl is not installed (apt-get install openssl)');
  await run(bin, args, { cwd: dir, timeout: 30_000 });
}

/** Writes ca.crt/.key, server.crt/.key, client.crt/.key into `dir` (created if needed). */
export async function makeTestCerts(dir: string): Promise<PeerCerts> {
  mkdirSync(dir, { recursive: true });
  await openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '30',
    '-sha256',
    '-subj',
    '/O=cellstack test/CN=cellstack test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const ext = (usage: string, san?: string) =>
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
    `extendedKeyUsage=${usage}\n` +
    (san ? `subjectAltName=${san}\n` : '');
  writeFileSync(join(dir, 'server.ext'), ext('serverAuth', SERVER_SAN.join(',')));
  writeFileSync(join(dir, 'client.ext'), ext('clientAuth'));
  await Promise.all(
    (
      [
        ['server', SERVER_CN],
        ['client', CLIENT_CN],
      ] as const
    ).map(async ([who, cn]) => {
      await openssl(dir, [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${who}.key`,
        '-out',
        `${who}.csr`,
        '-subj',
        `/O=cellstack test/CN=${cn}`,
      ]);
      await openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        who === 'server' ? '2' : '3',
        '-out',
        `${who}.crt`,
        '-days',
        '30',
        '-sha256',
        '-extfile',
        `${who}.ext`,
      ]);
    }),
  );
  return {
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}
