#!/usr/bin/env python3
"""Echo and discard (RFC 862 / RFC 863) on TCP and UDP for the cellstack UML peer.

Runs inside the guest, bound to the peer's PPP address, so it is reachable only through
the PPP link. Every connection is bounded by an idle timeout and a lifetime; the process
itself exits after --lifetime seconds.
"""
import argparse
import socket
import sys
import threading
import time

IDLE_S = 300.0
CONN_LIFETIME_S = 1800.0


def log(*args):
    print(*args, flush=True)


def serve_tcp_conn(kind, conn, addr):
    conn.settimeout(IDLE_S)
    end = time.monotonic() + CONN_LIFETIME_S
    total = 0
    log(kind, 'tcp connect', addr)
    try:
        while time.monotonic() < end:
            data = conn.recv(65536)
            if not data:
                break
            total += len(data)
            if kind == 'echo':
                conn.sendall(data)
    except OSError as e:
        log(kind, 'tcp error', addr, e)
    finally:
        conn.close()
        log(kind, 'tcp close', addr, 'bytes=%d' % total)


def tcp_server(bind, port, kind):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, port))
    s.listen(16)
    while True:
        conn, addr = s.accept()
        threading.Thread(target=serve_tcp_conn, args=(kind, conn, addr), daemon=True).start()


def udp_server(bind, port, kind):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, port))
    while True:
        data, addr = s.recvfrom(65535)
        log(kind, 'udp', addr, 'bytes=%d' % len(data))
        if kind == 'echo':
            s.sendto(data, addr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bind', required=True)
    ap.add_argument('--lifetime', type=float, default=3600)
    a = ap.parse_args()
    for port, kind in ((7, 'echo'), (9, 'discard')):
        threading.Thread(target=tcp_server, args=(a.bind, port, kind), daemon=True).start()
        threading.Thread(target=udp_server, args=(a.bind, port, kind), daemon=True).start()
    log('listening on %s tcp+udp 7 (echo), 9 (discard)' % a.bind)
    time.sleep(a.lifetime)
    return 0


if __name__ == '__main__':
    sys.exit(main())
