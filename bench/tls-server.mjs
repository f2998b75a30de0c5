// The server half of bench/tls.bench.ts, in its own process so that the bench process's CPU
// time is the TLS client's alone: node:tls servers (OpenSSL) on 127.0.0.1, one per case.
// Usage: node bench/tls-server.mjs CONFIG.json; prints one JSON line {"ports": {name: port}}
// once every server listens, and exits on SIGTERM or when its stdin closes.
//
// CONFIG: { servers: [{ name, key, cert, ca?, requestCert?, noTickets?, role }] } with PEM
// strings; role 'handshake' (read and drop), 'sink' (an 8-byte big-endian length, then that
// many bytes; answers "ok\n"), 'source' (an 8-byte length; sends that many bytes).
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

function handshake(s) {
  s.resume();
}

function sink(s) {
  let want = -1;
  let got = 0;
  let head = Buffer.alloc(0);
  s.on('data', (d) => {
    if (want < 0) {
      head = Buffer.concat([head, d]);
      if (head.length < 8) return;
      want = Number(head.readBigUInt64BE(0));
      got = head.length - 8;
    } else got += d.length;
    if (got >= want) s.end('ok\n');
  });
}

function source(s) {
  let head = Buffer.alloc(0);
  const onData = (d) => {
    head = Buffer.concat([head, d]);
    if (head.length < 8) return;
    s.off('data', onData);
    s.resume();
    let left = Number(head.readBigUInt64BE(0));
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  };
  s.on('data', onData);
}

const roles = { handshake, sink, source };
const ports = {};
await Promise.all(
  config.servers.map(
    (c) =>
      new Promise((resolve, reject) => {
        const sessions = new Map();
        const server = createServer({
          key: c.key,
          cert: c.cert,
          ca: c.ca,
          requestCert: c.requestCert === true,
          rejectUnauthorized: c.requestCert === true,
          minVersion: 'TLSv1.2',
          maxVersion: 'TLSv1.2',
          ...(c.noTickets ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
        });
        if (c.noTickets) {
          // Resumption by session ID: node:tls keeps no server-side cache of its own.
          server.on('newSession', (id, data, cb) => {
            if (sessions.size > 10_000) sessions.clear();
            sessions.set(id.toString('hex'), data);
            cb();
          });
          server.on('resumeSession', (id, cb) => cb(null, sessions.get(id.toString('hex')) ?? null));
        }
        server.on('secureConnection', (s) => {
          s.on('error', () => {});
          roles[c.role](s);
        });
        server.on('tlsClientError', () => {});
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          ports[c.name] = server.address().port;
          resolve();
        });
      }),
  ),
);
process.stdout.write(`${JSON.stringify({ ports })}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
