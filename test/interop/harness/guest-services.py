#!/usr/bin/env python3
"""TCP/UDP test services for the cellstack UML peer, and its connect-back helper.

Runs inside the guest (stdlib only, the host's python3 through hostfs), bound to the peer's
PPP address, so it is reachable only through the PPP link. One process serves every
selected service (python starts slowly in UML):

  serve --bind ADDR --lifetime S --serve NAME[,NAME...] [--certs DIR]
    echo     tcp+udp 7   echoes (RFC 862)
    discard  tcp+udp 9   reads and drops (RFC 863)
    chargen  tcp 19      RFC 864 line pattern until the client closes (at most 64 MiB)
    source   tcp 5001    client sends "N\\n"; gets exactly N bytes of the rig stream, then
                         the server half-closes and waits (<= 30 s) for the client to close
    sink     tcp 5002    reads until the client half-closes, answers
                         "OK bytes=N sha256=HEX secs=T\\n" (T: first byte to EOF), closes
    http     tcp 8080    HTTP/1.1 (keep-alive): GET / -> short text, GET /bytes/N -> N bytes
                         of the rig stream with Content-Length
    tls-echo tcp 4434    TLS 1.2 only (python ssl = the host's OpenSSL, cert from --certs):
                         echoes the decrypted bytes back until the client closes
    hello-request tcp 4435  not TLS: reads the client's first flight (the ClientHello) and
                         answers with a plaintext TLS 1.2 HelloRequest record, then reads
                         until the client closes (<= 2 s; then the server closes)

  connect SEQ PORT ADDR HEXPAYLOAD shut|noshut TIMEOUT
    Opens a TCP connection to ADDR:PORT, sends the payload, half-closes if `shut`, reads
    until EOF and prints one console line:
      CELLSTACK@@CTL SEQ connect-done bytes=N sha256=HEX secs=T head=HEX
    or CELLSTACK@@CTL SEQ connect-error <reason>.

Rig stream: the concatenation of SHA-256(b"cellstack-rig" + uint32_be(i)), i = 0, 1, 2, ...

Every connection is bounded by an idle timeout and a lifetime; the process exits after
--lifetime seconds.
"""
import argparse
import hashlib
import http.server
import ipaddress
import os
import socket
import ssl
import sys
import threading
import time

IDLE_S = 300.0
CONN_LIFETIME_S = 1800.0
MAX_SOURCE = 1 << 30
MAX_HTTP = 256 << 20
MAX_CHARGEN = 64 << 20
MARK = 'CELLSTACK@@'


def log(name, *args):
    print('[%s]' % name, *args, flush=True)


def rig_digest(i):
    return hashlib.sha256(b'cellstack-rig' + i.to_bytes(4, 'big')).digest()


BLOCK = b''.join(rig_digest(i) for i in range(2048))  # the first 64 KiB of the stream


def rig_stream(offset, n):
    """Bytes [offset, offset + n) of the rig stream."""
    out = bytearray()
    i, skip = divmod(offset, 32)
    while len(out) < n + skip:
        if i < 2048:
            k = min(2048, i + (n + skip - len(out) + 31) // 32)
            out += BLOCK[i * 32:k * 32]
            i = k
        else:
            out += rig_digest(i)
            i += 1
    return bytes(out[skip:skip + n])


def send_stream(conn, n, end):
    off = 0
    while off < n and time.monotonic() < end:
        k = min(65536, n - off)
        conn.sendall(rig_stream(off, k))
        off += k
    return off


CHARGEN = (lambda pat: b''.join((pat[i:] + pat[:i])[:72] + b'\r\n' for i in range(95)))(bytes(range(33, 127)))


def serve_conn(kind, conn, addr):
    conn.settimeout(IDLE_S)
    end = time.monotonic() + CONN_LIFETIME_S
    n_in = n_out = 0
    log(kind, 'tcp connect', '%s:%d' % addr[:2])
    try:
        if kind in ('echo', 'discard', 'tls-echo'):
            while time.monotonic() < end:
                data = conn.recv(65536)
                if not data:
                    break
                n_in += len(data)
                if kind != 'discard':
                    conn.sendall(data)
                    n_out += len(data)
        elif kind == 'hello-request':
            conn.settimeout(10)
            data = conn.recv(65536)
            n_in += len(data)
            if data:
                # handshake record, TLS 1.2, 4 octets: HelloRequest (type 0, empty body)
                conn.sendall(bytes([22, 3, 3, 0, 4, 0, 0, 0, 0]))
                n_out += 9
                # A client that ignores it waits for a ServerHello: hang up after 2 s.
                conn.settimeout(2)
                try:
                    while True:
                        data = conn.recv(65536)
                        if not data:
                            break
                        n_in += len(data)
                except socket.timeout:
                    log(kind, 'no close from the client within 2 s: closing')
        elif kind == 'chargen':
            while time.monotonic() < end and n_out < MAX_CHARGEN:
                conn.sendall(CHARGEN)
                n_out += len(CHARGEN)
        elif kind == 'source':
            buf = b''
            while b'\n' not in buf and len(buf) < 32:
                data = conn.recv(64)
                if not data:
                    break
                buf += data
            try:
                n = int(buf.split(b'\n')[0].strip() or b'0')
            except ValueError:
                n = 0
            n = max(0, min(n, MAX_SOURCE))
            t0 = time.monotonic()
            n_out = send_stream(conn, n, end)
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(30)
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass
            log(kind, 'sent %d bytes in %.3f s' % (n_out, time.monotonic() - t0))
        elif kind == 'sink':
            h = hashlib.sha256()
            t0 = None
            while time.monotonic() < end:
                data = conn.recv(65536)
                if not data:
                    break
                if t0 is None:
                    t0 = time.monotonic()
                n_in += len(data)
                h.update(data)
            secs = time.monotonic() - t0 if t0 is not None else 0.0
            msg = 'OK bytes=%d sha256=%s secs=%.6f\n' % (n_in, h.hexdigest(), secs)
            conn.sendall(msg.encode())
            log(kind, msg.strip())
    except (OSError, ssl.SSLError) as e:
        log(kind, 'tcp error', addr[0], e)
    finally:
        try:
            conn.close()
        except OSError:
            pass
        log(kind, 'tcp close', '%s:%d' % addr[:2], 'in=%d out=%d' % (n_in, n_out))


def tcp_server(bind, port, kind, tls=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, port))
    s.listen(16)
    return s


def accept_loop(s, kind, tls=None):
    while True:
        conn, addr = s.accept()
        if tls is not None:
            def handshake(conn=conn, addr=addr):
                conn.settimeout(60)
                try:
                    t = tls.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError) as e:
                    log(kind, 'tls handshake failed', addr[0], e)
                    conn.close()
                    return
                log(kind, 'tls', t.version(), t.cipher()[0])
                serve_conn(kind, t, addr)
            threading.Thread(target=handshake, daemon=True).start()
        else:
            threading.Thread(target=serve_conn, args=(kind, conn, addr), daemon=True).start()


def udp_loop(s, kind):
    while True:
        data, addr = s.recvfrom(65535)
        log(kind, 'udp', '%s:%d' % addr[:2], 'bytes=%d' % len(data))
        if kind == 'echo':
            s.sendto(data, addr)


class HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'cellstack-rig-http/1'
    timeout = IDLE_S

    def do_GET(self):
        path = self.path.split('?', 1)[0]
        if path == '/':
            body = b'cellstack rig http\n'
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path.startswith('/bytes/') and path[7:].isdigit() and int(path[7:]) <= MAX_HTTP:
            n = int(path[7:])
            self.send_response(200)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Content-Length', str(n))
            self.end_headers()
            send_stream(self.connection, n, time.monotonic() + CONN_LIFETIME_S)
            return
        body = b'not found\n'
        self.send_response(404)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        log('http', self.address_string(), fmt % args)


class HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


PORTS = {'echo': 7, 'discard': 9, 'chargen': 19, 'source': 5001, 'sink': 5002, 'http': 8080, 'tls-echo': 4434,
         'hello-request': 4435}
UDP = {'echo', 'discard'}


def serve(a):
    names = [n for n in a.serve.split(',') if n]
    for n in names:
        if n not in PORTS:
            raise SystemExit('unknown service %r' % n)
    for n in names:
        port = PORTS[n]
        if n == 'http':
            srv = HttpServer((a.bind, port), HttpHandler)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            log(n, 'listening on %s tcp %d' % (a.bind, port))
            continue
        tls = None
        if n == 'tls-echo':
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.minimum_version = ssl.TLSVersion.TLSv1_2
            tls.maximum_version = ssl.TLSVersion.TLSv1_2
            tls.load_cert_chain(os.path.join(a.certs, 'server.crt'), os.path.join(a.certs, 'server.key'))
        s = tcp_server(a.bind, port, n)
        threading.Thread(target=accept_loop, args=(s, n, tls), daemon=True).start()
        extra = ''
        if n in UDP:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((a.bind, port))
            threading.Thread(target=udp_loop, args=(u, n), daemon=True).start()
            extra = ' udp %d' % port
        log(n, 'listening on %s tcp %d%s' % (a.bind, port, extra))
    time.sleep(a.lifetime)


def connect(a):
    """The guest as a TCP client of the PPP client's own listener (connectFromGuest)."""
    seq = a.seq

    def report(s):
        print('%sCTL %d %s' % (MARK, seq, s), flush=True)

    try:
        port = int(a.port)
        addr = str(ipaddress.IPv4Address(a.addr))
        payload = bytes.fromhex(a.payload) if a.payload != '-' else b'cellstack connect-from-guest\n'
        timeout = float(a.timeout)
        if not (0 < port < 65536 and 0 < timeout <= 600):
            raise ValueError('port or timeout out of range')
    except ValueError as e:
        report('connect-error bad-arguments %s' % e)
        return 2
    end = time.monotonic() + timeout
    t0 = time.monotonic()
    h = hashlib.sha256()
    n = 0
    head = b''
    try:
        s = socket.create_connection((addr, port), timeout=max(1.0, end - time.monotonic()))
        report('connect-open %s:%d' % s.getsockname()[:2])
        s.sendall(payload)
        if a.shut == 'shut':
            s.shutdown(socket.SHUT_WR)
        while n < (256 << 20):
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError('no EOF within %.0f s (%d bytes)' % (timeout, n))
            s.settimeout(left)
            data = s.recv(65536)
            if not data:
                break
            if len(head) < 256:
                head += data[:256 - len(head)]
            n += len(data)
            h.update(data)
        s.close()
    except (OSError, TimeoutError) as e:
        report('connect-error %s' % str(e).replace('\n', ' '))
        return 1
    report('connect-done bytes=%d sha256=%s secs=%.6f head=%s' % (n, h.hexdigest(), time.monotonic() - t0,
                                                                    head.hex() or '-'))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('serve')
    s.add_argument('--bind', required=True)
    s.add_argument('--serve', required=True)
    s.add_argument('--certs', default=None)
    s.add_argument('--lifetime', type=float, default=3600)
    c = sub.add_parser('connect')
    c.add_argument('seq', type=int)
    c.add_argument('port')
    c.add_argument('addr')
    c.add_argument('payload')
    c.add_argument('shut', choices=['shut', 'noshut'])
    c.add_argument('timeout')
    a = ap.parse_args()
    if a.cmd == 'serve':
        serve(a)
        return 0
    return connect(a)


if __name__ == '__main__':
    sys.exit(main())
