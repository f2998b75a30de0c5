import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

/**
 * node:tls over `transport` (one of our TcpSockets) to the guest's `openssl s_server -www`:
 * `GET /` once the handshake is done, the whole answer read until the server closes.
 */
export async function nodeTlsGet(
  transport: Duplex,
  options: { ca: Buffer; servername: string },
): Promise<{ authorized: boolean; body: string }> {
  const socket = tls.connect({
    socket: transport as unknown as net.Socket,
    ca: options.ca,
    servername: options.servername,
    minVersion: 'TLSv1.2',
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  socket.write('GET / HTTP/1.0\r\n\r\n');
  const body = await new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
    });
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
  return { authorized: socket.authorized, body };
}
