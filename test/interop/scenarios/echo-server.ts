import { createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP echo server in the test process (RFC 862, with half-close: after the client's FIN it
 * sends what is left, then its own FIN), on 127.0.0.1 or on a Unix socket path.
 */
export interface EchoServer {
  /** The TCP port (for `{ host }`) or 0 (for `{ path }`). */
  port: number;
  connections: number;
  close(): Promise<void>;
}

export async function startEchoServer(listen: { host: '127.0.0.1' } | { path: string }): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  const out: EchoServer = { port: 0, connections: 0, close: async () => undefined };
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    out.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s); // pipe ends the writable side after the readable side's end: the half-close
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in listen) server.listen(listen.path, resolve);
    else server.listen(0, listen.host, resolve);
  });
  const a = server.address();
  out.port = typeof a === 'object' && a ? a.port : 0;
  out.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return out;
}

/** A TCP port of 127.0.0.1 where nothing listens (bound, then released). */
export async function closedLoopbackPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const a = srv.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
