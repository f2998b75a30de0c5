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

/** A self-signed test CA (RSA 2048, SHA-256, 30 days) as ca.key/ca.crt in `dir` (created if needed). */
export async function makeTestCa(dir: string, subject: string): Promise<string> {
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
    subject,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return join(dir, 'ca.crt');
}

export const RSA_2048 = ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
export const P_256 = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];

/**
 * `name`.key (`openssl genpkey` with `keyArgs`) and `name`.crt signed by the CA that
 * makeTestCa() wrote into `dir` (SHA-256, 30 days), with the extensions in the file `ext`.
 */
export async function issueTestLeaf(
  dir: string,
  name: string,
  o: { keyArgs: string[]; subject: string; ext: string; serial: number },
): Promise<{ cert: string; key: string }> {
  await openssl(dir, ['genpkey', ...o.keyArgs, '-out', `${name}.key`]);
  await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', o.subject]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    String(o.serial),
    '-out',
    `${name}.crt`,
    '-days',
    '30',
    '-sha256',
    '-extfile',
    o.ext,
  ]);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** Writes ca.crt/.key, server.crt/.key, client.crt/.key into `dir` (created if needed). */
export async function makeTestCerts(dir: string): Promise<PeerCerts> {
  const ca = await makeTestCa(dir, '/O=cellstack test/CN=cellstack test CA');
  const ext = (usage: string, san?: string) =>
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
    `extendedKeyUsage=${usage}\n` +
    (san ? `subjectAltName=${san}\n` : '');
  writeFileSync(join(dir, 'server.ext'), ext('serverAuth', SERVER_SAN.join(',')));
  writeFileSync(join(dir, 'client.ext'), ext('clientAuth'));
  const [server, client] = await Promise.all(
    (
      [
        ['server', SERVER_CN, 2],
        ['client', CLIENT_CN, 3],
      ] as const
    ).map(([who, cn, serial]) =>
      issueTestLeaf(dir, who, {
        keyArgs: RSA_2048,
        subject: `/O=cellstack test/CN=${cn}`,
        ext: `${who}.ext`,
        serial,
      }),
    ),
  );
  return {
    ca,
    serverCert: server!.cert,
    serverKey: server!.key,
    clientCert: client!.cert,
    clientKey: client!.key,
  };
}
