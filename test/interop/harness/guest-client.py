#!/usr/bin/env python3
"""The kernel client guest's programs (uml-client.ts): the Linux kernel's TCP as a client
of the UML peer, over PPP. stdlib only; every wait is bounded. Reports go to the console as
CELLSTACK@@ lines.

  xfer up|down HOST BYTES LIMIT_S
      Bulk transfer (port of the rig's guest_xfer.py): `up` sends BYTES to HOST:5002 (sink),
      half-closes and reads its report; `down` asks HOST:5001 (source) for BYTES and reads to
      EOF, checking the bytes against the rig stream. Prints XFER-START, then
      XFER dir=.. bytes=.. secs=.. retrans=.. timed_out=0|1 rtt_ms=.. ok=0|1 [sink=..]
      secs: up = first write -> sink report received; down = request sent -> last byte.

  pingpong HOST PORT N SIZE LIMIT_S
      Request/response against HOST:PORT (the peer's echo, 7): TCP_NODELAY, then N times send
      SIZE bytes (pingpong_payload(i)) and read exactly SIZE back, checking them; at most
      LIMIT_S. Prints PINGPONG-START, then PINGPONG count=.. secs=.. ok=0|1 (secs: first send
      -> last byte back), then closes.

  probe HOST CAFILE NAME[,NAME...]
      One check per service of the peer; prints PROBE <name> ok|fail <detail> each.

  listen ADDR PORT:KIND[,PORT:KIND...]
      Servers on this guest's own PPP address for the peer's connectFromGuest():
        greet  sends 100000 bytes of the rig stream, half-closes, drains until EOF, closes
        echo   echoes until EOF, then closes
      Runs in the background for the guest's lifetime; prints LISTENING when all listen.
"""
import hashlib
import os
import socket
import ssl
import struct
import sys
import threading
import time

MARK = 'CELLSTACK@@'


def say(s):
    print(MARK + s, flush=True)


def rig_stream(n):
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b'cellstack-rig' + i.to_bytes(4, 'big')).digest()
        i += 1
    return bytes(out[:n])


def snmp(name):
    try:
        lines = open('/proc/net/snmp').read().splitlines()
        tcp = [x.split() for x in lines if x.startswith('Tcp:')]
        return int(tcp[1][tcp[0].index(name)])
    except (OSError, ValueError, IndexError):
        return -1


def rtt_ms(s):
    try:
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        # struct tcp_info: 8 x u8, then u32s; tcpi_rtt is the 16th u32 (microseconds).
        return struct.unpack_from('I', info, 8 + 15 * 4)[0] / 1000.0
    except OSError:
        return -1.0


# ------------------------------------------------------------------------------ xfer
def xfer(d, host, n, limit):
    r0 = snmp('RetransSegs')
    s = socket.create_connection((host, 5002 if d == 'up' else 5001), timeout=min(60, limit))
    say('XFER-START %s' % d)
    t0 = time.monotonic()
    end = t0 + limit
    moved = 0
    extra = ''
    ok = 1
    timed_out = False
    rtt = -1.0
    if d == 'up':
        block = os.urandom(65536)
        s.settimeout(5)
        while moved < n:
            if time.monotonic() >= end:
                timed_out = True
                break
            try:
                moved += s.send(block[:min(len(block), n - moved)])
            except socket.timeout:
                continue
        rtt = rtt_ms(s)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(max(1.0, end + 60 - time.monotonic()))
        rep = b''
        try:
            while not rep.endswith(b'\n'):
                x = s.recv(4096)
                if not x:
                    break
                rep += x
        except socket.timeout:
            pass
        extra = ' sink=' + rep.decode(errors='replace').strip().replace(' ', ',')
        ok = int(rep.startswith(b'OK bytes=%d ' % n))
    else:
        s.sendall(b'%d\n' % n)
        s.settimeout(5)
        h = hashlib.sha256()
        while moved < n and time.monotonic() < end:
            try:
                x = s.recv(262144)
            except socket.timeout:
                continue
            if not x:
                break
            h.update(x)
            moved += len(x)
        rtt = rtt_ms(s)
        timed_out = moved < n
        ok = int(h.digest() == hashlib.sha256(rig_stream(n)).digest())
    secs = time.monotonic() - t0
    s.close()
    say('XFER dir=%s bytes=%d secs=%.6f retrans=%d timed_out=%d rtt_ms=%.1f ok=%d%s' % (
        d, moved, secs, snmp('RetransSegs') - r0, int(timed_out), rtt, ok, extra))


# -------------------------------------------------------------------------- pingpong
def pingpong_payload(i, size):
    # The same bytes as bench/vj-wire.bench.ts sends: 8 digits, then the alphabet, cut to size.
    base = b'%08d' % i + b'abcdefghijklmnopqrstuvwxyz' * (size // 26 + 1)
    return base[:size]


def pingpong(host, port, n, size, limit):
    s = socket.create_connection((host, port), timeout=min(30, limit))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(10)
    say('PINGPONG-START')
    t0 = time.monotonic()
    end = t0 + limit
    count = 0
    ok = 1
    try:
        while count < n and time.monotonic() < end:
            want = pingpong_payload(count, size)
            s.sendall(want)
            got = b''
            while len(got) < size:
                x = s.recv(size - len(got))
                if not x:
                    break
                got += x
            if got != want:
                ok = 0
                break
            count += 1
    except OSError as e:
        print('[pingpong] error %s' % e, flush=True)
        ok = 0
    secs = time.monotonic() - t0
    s.close()
    say('PINGPONG count=%d secs=%.6f ok=%d' % (count, secs, int(ok and count == n)))


# ----------------------------------------------------------------------------- probe
def recv_all(s, limit=1 << 20, until=None):
    buf = b''
    while len(buf) < limit:
        x = s.recv(65536)
        if not x:
            break
        buf += x
        if until is not None and until(buf):
            break
    return buf


def tls_ctx(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def mqtt_roundtrip(s):
    def pkt(t, body):
        return bytes([t, len(body)]) + body

    def mstr(b):
        return struct.pack('>H', len(b)) + b

    s.sendall(pkt(0x10, mstr(b'MQTT') + bytes([4, 2]) + struct.pack('>H', 30) + mstr(b'cellstack-probe')))
    ack = recv_all(s, 4, lambda b: len(b) >= 4)
    if ack != b'\x20\x02\x00\x00':
        raise RuntimeError('CONNACK %s' % ack.hex())
    topic = b'cellstack/probe'
    s.sendall(pkt(0x82, struct.pack('>H', 1) + mstr(topic) + b'\x00'))
    sub = recv_all(s, 5, lambda b: len(b) >= 5)
    if sub[:1] != b'\x90':
        raise RuntimeError('SUBACK %s' % sub.hex())
    s.sendall(pkt(0x30, mstr(topic) + b'hello'))
    want = pkt(0x30, mstr(topic) + b'hello')
    got = recv_all(s, len(want), lambda b: len(b) >= len(want))
    if got != want:
        raise RuntimeError('PUBLISH back %s' % got.hex())
    s.sendall(b'\xe0\x00')
    return 'connack+suback+publish'


def probe_one(name, host, cafile):
    c = lambda port: socket.create_connection((host, port), timeout=20)  # noqa: E731
    if name == 'echo':
        with c(7) as s:
            s.sendall(b'ping\n')
            got = recv_all(s, 5, lambda b: len(b) >= 5)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(5)
        u.sendto(b'udp-ping', (host, 7))
        ud = u.recvfrom(100)[0]
        u.close()
        return got == b'ping\n' and ud == b'udp-ping', 'tcp+udp'
    if name == 'discard':
        with c(9) as s:
            s.sendall(b'x' * 10000)
            s.shutdown(socket.SHUT_WR)
            got = recv_all(s)
        return got == b'', 'eof'
    if name == 'chargen':
        with c(19) as s:
            got = recv_all(s, 7400, lambda b: len(b) >= 7400)
        return got[:74] == bytes(range(33, 33 + 72)) + b'\r\n' and len(got) >= 7400, '%d bytes' % len(got)
    if name == 'source':
        with c(5001) as s:
            s.sendall(b'100000\n')
            got = recv_all(s)
        return got == rig_stream(100000), '%d bytes' % len(got)
    if name == 'sink':
        data = os.urandom(50000)
        with c(5002) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = recv_all(s)
        want = b'OK bytes=50000 sha256=%s secs=' % hashlib.sha256(data).hexdigest().encode()
        return got.startswith(want), got.decode(errors='replace').strip()
    if name == 'http':
        with c(8080) as s:
            s.sendall(b'GET / HTTP/1.1\r\nHost: rig.test\r\n\r\nGET /bytes/70000 HTTP/1.1\r\nHost: rig.test\r\n'
                      b'Connection: close\r\n\r\n')
            got = recv_all(s)
        second = got.split(b'HTTP/1.1 200', 2)
        body = got[-70000:]
        return (got.startswith(b'HTTP/1.1 200') and len(second) == 3 and b'cellstack rig http' in got
                and body == rig_stream(70000) and b'Content-Length: 70000' in got), '%d bytes' % len(got)
    if name == 'tls':
        with c(4433) as raw, tls_ctx(cafile).wrap_socket(raw, server_hostname=host) as s:
            s.sendall(b'GET / HTTP/1.0\r\n\r\n')
            got = recv_all(s)
            v = s.version()
        return got.startswith(b'HTTP/1.0 200 ok') and v == 'TLSv1.2', v
    if name == 'tls-echo':
        ctx = tls_ctx(cafile)
        with c(4434) as raw, ctx.wrap_socket(raw, server_hostname='rig.test') as s:
            s.sendall(b'secret echo\n')
            got = recv_all(s, 12, lambda b: len(b) >= 12)
            v = s.version()
        return got == b'secret echo\n' and v == 'TLSv1.2', v
    if name == 'mqtt':
        with c(1883) as s:
            return True, mqtt_roundtrip(s)
    if name == 'mqtts':
        with c(8883) as raw, tls_ctx(cafile).wrap_socket(raw, server_hostname=host) as s:
            return True, mqtt_roundtrip(s)
    return False, 'unknown service'


def probe(host, cafile, names):
    for n in names:
        try:
            ok, detail = probe_one(n, host, cafile)
        except Exception as e:  # report every failure, go on with the next service
            ok, detail = False, '%s: %s' % (type(e).__name__, e)
        say('PROBE %s %s %s' % (n, 'ok' if ok else 'fail', str(detail).replace('\n', ' ')))


# ---------------------------------------------------------------------------- listen
def serve(kind, conn):
    conn.settimeout(30)
    try:
        if kind == 'greet':
            conn.sendall(rig_stream(100000))
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):
                pass
        else:
            while True:
                x = conn.recv(65536)
                if not x:
                    break
                conn.sendall(x)
    except OSError as e:
        print('[listen] %s error %s' % (kind, e), flush=True)
    finally:
        conn.close()


def listen(addr, specs):
    for spec in specs:
        port, kind = spec.split(':')
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(port)))
        s.listen(8)

        def loop(s=s, kind=kind):
            while True:
                conn, peer = s.accept()
                print('[listen] %s connection from %s:%d' % (kind, peer[0], peer[1]), flush=True)
                threading.Thread(target=serve, args=(kind, conn), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()
    say('LISTENING')
    time.sleep(3600)


def main():
    a = sys.argv[1:]
    if a[0] == 'xfer':
        xfer(a[1], a[2], int(a[3]), float(a[4]))
    elif a[0] == 'pingpong':
        pingpong(a[1], int(a[2]), int(a[3]), int(a[4]), float(a[5]))
    elif a[0] == 'probe':
        probe(a[1], a[2], [x for x in a[3].split(',') if x])
    elif a[0] == 'listen':
        listen(a[1], [x for x in a[2].split(',') if x])
    else:
        raise SystemExit('usage: see the docstring')


if __name__ == '__main__':
    main()
