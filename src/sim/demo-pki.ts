import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/**
 * A throwaway PKI for the demo and for users' own tests against the virtual network: a CA, a
 * server certificate for the broker's names, and a client certificate, made in memory. Keys
 * come from node:crypto (fast, native); node-forge writes and signs the certificates (RSA,
 * SHA-256, RFC 5280 profile: basicConstraints, keyUsage, extendedKeyUsage, subjectAltName).
 * Nothing here is meant to be trusted beyond the process that made it.
 */
export interface DemoPki {
  /** CA certificate (PEM): the trust anchor to give the client and the broker. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export interface DemoPkiOptions {
  /** DNS names of the server certificate (default ['broker.sim', 'localhost']). */
  serverNames?: string[];
  /** IP addresses of the server certificate (default ['127.0.0.1']). */
  serverIps?: string[];
  /** The client certificate's CN (default 'cellstack-demo'). */
  clientName?: string;
  /** Validity in days, from an hour ago (default 2). */
  days?: number;
}

type Extension = Record<string, unknown>;

function rsaKeys(): { publicKey: forge.pki.PublicKey; privateKey: forge.pki.rsa.PrivateKey; pem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    privateKey: forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey,
    pem,
  };
}

function certificate(
  subjectCn: string,
  publicKey: forge.pki.PublicKey,
  issuer: { cert: forge.pki.Certificate | undefined; key: forge.pki.rsa.PrivateKey },
  extensions: Extension[],
  days: number,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive 16-octet serial (RFC 5280 4.1.2.2: at most 20 octets, positive).
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 3600_000);
  cert.validity.notAfter = new Date(now + days * 86_400_000);
  const subject = [
    { name: 'organizationName', value: 'cellstack demo' },
    { name: 'commonName', value: subjectCn },
  ];
  cert.setSubject(subject);
  cert.setIssuer(issuer.cert ? issuer.cert.subject.attributes : subject);
  cert.setExtensions(extensions);
  cert.sign(issuer.key, forge.md.sha256.create());
  return cert;
}

/** Makes the CA, the server and the client certificates (about 100 ms). */
export function makeDemoPki(options: DemoPkiOptions = {}): DemoPki {
  const days = options.days ?? 2;
  const caKeys = rsaKeys();
  const ca = certificate(
    'cellstack demo CA',
    caKeys.publicKey,
    { cert: undefined, key: caKeys.privateKey },
    [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
    days,
  );
  const issuer = { cert: ca, key: caKeys.privateKey };
  const serverKeys = rsaKeys();
  const altNames = [
    ...(options.serverNames ?? ['broker.sim', 'localhost']).map((value) => ({ type: 2, value })),
    ...(options.serverIps ?? ['127.0.0.1']).map((ip) => ({ type: 7, ip })),
  ];
  const server = certificate(
    (options.serverNames ?? ['broker.sim'])[0] ?? 'broker.sim',
    serverKeys.publicKey,
    issuer,
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
    days,
  );
  const clientKeys = rsaKeys();
  const client = certificate(
    options.clientName ?? 'cellstack-demo',
    clientKeys.publicKey,
    issuer,
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
    days,
  );
  return {
    ca: forge.pki.certificateToPem(ca),
    serverCert: forge.pki.certificateToPem(server),
    serverKey: serverKeys.pem,
    clientCert: forge.pki.certificateToPem(client),
    clientKey: clientKeys.pem,
  };
}
