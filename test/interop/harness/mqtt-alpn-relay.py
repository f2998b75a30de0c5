#!/usr/bin/env python3
"""An MQTT-over-TLS listener shaped like AWS IoT Core's port 443, for the cellstack UML peer.

AWS IoT Core serves MQTT on port 443 only to clients that offer the ALPN protocol
"x-amzn-mqtt-ca" and authenticate with an X.509 client certificate (AWS IoT developer guide,
"Protocols, port mappings, and authentication"). mosquitto 2.0.11 cannot select an ALPN
protocol, so this TLS server stands in front of its plain listener:

  --bind ADDR --port 443 --upstream 1883 --alpn x-amzn-mqtt-ca --certs DIR --lifetime S

Per connection (one thread each, every step bounded in time):
  1. It reads the client's first flight (the ClientHello, RFC 5246 section 7.4.1.2) itself,
     before OpenSSL sees it, and finds the server_name (RFC 6066 section 3) and
     application_layer_protocol_negotiation (RFC 7301 section 3.1, type 16) extensions.
  2. Unless the ALPN list contains the protocol (or when there is no ALPN extension at all) it
     answers with a plaintext fatal alert no_application_protocol (120, RFC 7301 section 3.2)
     and closes. (Python's ssl cannot do this: its ALPN callback answers "no ALPN" and goes on
     when nothing matches, and OpenSSL does not call it when the client offers no ALPN.)
  3. Otherwise it runs the TLS 1.2 handshake over memory BIOs (python ssl = the host's OpenSSL
     3) with the test server certificate from DIR (server.crt, server.key), requires a client
     certificate issued by DIR/ca.crt, selects the protocol, and relays the decrypted bytes to
     ADDR:UPSTREAM (mosquitto's plain listener) and back until either side closes.

Console lines: `[mqtts-alpn] ...`, e.g.
  [mqtts-alpn] tls TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 alpn=x-amzn-mqtt-ca sni=broker.cellstack.test
  [mqtts-alpn] refused 10.64.0.2: alpn offered=[] sni=broker.cellstack.test: alert no_application_protocol
Stdlib only; the process exits after --lifetime seconds.
"""
import argparse
import os
import select
import socket
import ssl
import sys
import threading
import time

NAME = 'mqtts-alpn'
IDLE_S = 300.0
HELLO_S = 20.0
CONN_LIFETIME_S = 1800.0
MAX_HELLO = 1 << 16
ALERT_NO_APPLICATION_PROTOCOL = 120  # RFC 7301 section 3.2
EXT_SERVER_NAME = 0  # RFC 6066 section 3
EXT_ALPN = 16  # RFC 7301 section 3.1


def log(*args):
    print('[%s]' % NAME, *args, flush=True)


class Malformed(ValueError):
    pass


def u16(b, at):
    if at + 2 > len(b):
        raise Malformed('short')
    return (b[at] << 8) | b[at + 1]


def recv_until(conn, raw, n, deadline):
    """Appends to `raw` until it holds `n` octets; Malformed on EOF or at the deadline."""
    while len(raw) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Malformed('no complete ClientHello within %.0f s' % HELLO_S)
        conn.settimeout(left)
        data = conn.recv(16384)
        if not data:
            raise Malformed('the client closed before its ClientHello was complete')
        raw += data


def read_client_hello(conn, deadline):
    """Reads TLS records until the whole first handshake message is in (bounded).

    Returns (raw, hello): every byte read from the socket (to feed OpenSSL afterwards) and the
    ClientHello body (after its 4-octet handshake header)."""
    raw = bytearray()
    hs = bytearray()
    pos = 0
    while len(raw) < MAX_HELLO:
        if len(hs) >= 4:
            need = (hs[1] << 16) | (hs[2] << 8) | hs[3]
            if len(hs) >= 4 + need:
                if hs[0] != 1:
                    raise Malformed('first handshake message is type %d, not ClientHello' % hs[0])
                return bytes(raw), bytes(hs[4:4 + need])
        # one more record: 5-octet header, then its fragment (RFC 5246 section 6.2.1)
        recv_until(conn, raw, pos + 5, deadline)
        if raw[pos] != 22:
            raise Malformed('record type %d before the ClientHello' % raw[pos])
        n = u16(raw, pos + 3)
        recv_until(conn, raw, pos + 5 + n, deadline)
        hs += raw[pos + 5:pos + 5 + n]
        pos += 5 + n
    raise Malformed('ClientHello larger than %d octets' % MAX_HELLO)


def hello_extensions(hello):
    """(sni, alpn): the host name (str or None) and the ALPN list (list of bytes, or None)."""
    p = 2 + 32  # client_version, random
    if p >= len(hello):
        raise Malformed('short ClientHello')
    p += 1 + hello[p]  # session_id
    p += 2 + u16(hello, p)  # cipher_suites
    if p >= len(hello):
        raise Malformed('short ClientHello')
    p += 1 + hello[p]  # compression_methods
    sni = None
    alpn = None
    if p == len(hello):
        return sni, alpn  # no extensions
    end = p + 2 + u16(hello, p)
    if end > len(hello):
        raise Malformed('extensions overrun the ClientHello')
    p += 2
    while p + 4 <= end:
        kind, n = u16(hello, p), u16(hello, p + 2)
        data = hello[p + 4:p + 4 + n]
        p += 4 + n
        if len(data) != n:
            raise Malformed('extension %d overruns' % kind)
        if kind == EXT_ALPN:
            alpn = []
            q, stop = 2, 2 + u16(data, 0)
            while q < stop and q < len(data):
                k = data[q]
                alpn.append(bytes(data[q + 1:q + 1 + k]))
                q += 1 + k
        elif kind == EXT_SERVER_NAME and n >= 5 and data[2] == 0:
            sni = bytes(data[5:5 + u16(data, 3)]).decode('ascii', 'replace')
    return sni, alpn


def refuse(conn, addr, why):
    """A plaintext fatal alert (RFC 5246 section 7.2: level 2, then the description), then close."""
    log('refused %s: %s: alert no_application_protocol' % (addr[0], why))
    try:
        conn.sendall(bytes([21, 3, 3, 0, 2, 2, ALERT_NO_APPLICATION_PROTOCOL]))
        conn.shutdown(socket.SHUT_WR)
        # Let the client read the alert and close first, so no RST overtakes it (<= 2 s).
        conn.settimeout(2)
        while conn.recv(4096):
            pass
    except OSError:
        pass


def handle(conn, addr, ctx, a):
    deadline = time.monotonic() + HELLO_S
    n_in = n_out = 0
    up = None
    log('tcp connect %s:%d' % addr[:2])
    try:
        try:
            raw, hello = read_client_hello(conn, deadline)
            sni, alpn = hello_extensions(hello)
        except Malformed as e:
            log('no usable ClientHello from %s: %s' % (addr[0], e))
            return
        offered = [p.decode('latin1') for p in alpn or []]
        if a.alpn not in offered:
            refuse(conn, addr, 'alpn offered=%s sni=%s' % (offered if alpn is not None else 'none', sni))
            return
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_side=True)
        incoming.write(raw)

        def flush():
            out = outgoing.read()
            if out:
                conn.sendall(out)

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                flush()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError('handshake not done within %.0f s' % HELLO_S)
                conn.settimeout(left)
                data = conn.recv(65536)
                if not data:
                    raise EOFError('the client closed during the handshake')
                incoming.write(data)
            except ssl.SSLError:
                flush()  # our alert
                raise
        flush()
        selected = tls.selected_alpn_protocol()
        log('tls %s %s alpn=%s sni=%s' % (tls.version(), tls.cipher()[0], selected, sni))
        if selected != a.alpn:
            log('ALPN %r not selected: closing' % a.alpn)
            return
        up = socket.create_connection((a.bind, a.upstream), timeout=10)
        conn.settimeout(IDLE_S)
        up.settimeout(IDLE_S)
        end = time.monotonic() + CONN_LIFETIME_S
        closing = False
        while not closing and time.monotonic() < end:
            ready, _, _ = select.select([conn, up], [], [], IDLE_S)
            if not ready:
                log('idle for %.0f s: closing' % IDLE_S)
                break
            if conn in ready:
                data = conn.recv(65536)
                if not data:
                    break
                incoming.write(data)
                while True:
                    try:
                        plain = tls.read(65536)
                    except ssl.SSLWantReadError:
                        break
                    except ssl.SSLZeroReturnError:  # close_notify
                        closing = True
                        break
                    if not plain:
                        closing = True
                        break
                    n_in += len(plain)
                    up.sendall(plain)
                flush()
            if up in ready and not closing:
                data = up.recv(65536)
                if not data:
                    break
                n_out += len(data)
                tls.write(data)
                flush()
        try:
            tls.unwrap()  # our close_notify
        except (ssl.SSLError, ValueError):
            pass
        flush()
        # Half-close towards the broker and read what it still sends (a PUBREL in flight) until
        # it closes: closing with unread data would send an RST, and the broker would drop the
        # DISCONNECT we just relayed along with its receive queue (<= 2 s).
        try:
            up.shutdown(socket.SHUT_WR)
            up.settimeout(2)
            while up.recv(65536):
                pass
        except OSError:
            pass
    except (OSError, EOFError, TimeoutError, ssl.SSLError) as e:
        log('error %s: %s' % (addr[0], e))
    finally:
        for s in (up, conn):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        log('tcp close %s:%d in=%d out=%d' % (addr[0], addr[1], n_in, n_out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--bind', required=True)
    ap.add_argument('--port', type=int, default=443)
    ap.add_argument('--upstream', type=int, default=1883)
    ap.add_argument('--alpn', default='x-amzn-mqtt-ca')
    ap.add_argument('--certs', required=True)
    ap.add_argument('--lifetime', type=float, default=3600)
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(a.certs, 'server.crt'), os.path.join(a.certs, 'server.key'))
    ctx.load_verify_locations(os.path.join(a.certs, 'ca.crt'))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols([a.alpn])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(16)
    log('listening on %s tcp %d, alpn %s, relaying to %s:%d' % (a.bind, a.port, a.alpn, a.bind, a.upstream))

    def accept_loop():
        while True:
            conn, addr = s.accept()
            threading.Thread(target=handle, args=(conn, addr, ctx, a), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    time.sleep(a.lifetime)
    return 0


if __name__ == '__main__':
    sys.exit(main())
