#!/usr/bin/env python3
"""A subscriber at the broker, inside the UML guest (service 'mqtt-sub', see uml-services.ts).

The guest has no MQTT client program (mosquitto_sub is in another Debian package), so this is
a minimal MQTT 3.1.1 client on the standard library: CONNECT with a persistent session (clean
session 0), SUBSCRIBE to one filter at QoS 1, PUBACK every QoS 1 PUBLISH, PINGREQ when idle.
It reconnects (bounded) when the broker is not up yet or drops it; the broker keeps the
session meanwhile and delivers what it queued. One console line per event:

  [mqtt-sub] connected session-present=<0|1>
  [mqtt-sub] subscribed <filter> granted=<qos>
  [mqtt-sub] msg q<qos> dup<0|1> <topic> <payload>   (payload as text if printable ASCII, else hex:<hex>)
  [mqtt-sub] disconnected <why>
"""
import argparse
import select
import socket
import struct
import sys
import time


def log(*words):
    sys.stdout.write('[mqtt-sub] ' + ' '.join(str(w) for w in words) + '\n')
    sys.stdout.flush()


def enc_len(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def enc_str(s):
    b = s.encode('utf-8')
    return struct.pack('!H', len(b)) + b


def packet(first, body):
    return bytes([first]) + enc_len(len(body)) + body


def take_packet(buf):
    """(first byte, body, rest) from buf, or None while incomplete."""
    if len(buf) < 2:
        return None
    n, mult, i = 0, 1, 1
    while True:
        if i >= len(buf):
            return None
        b = buf[i]
        n += (b & 0x7F) * mult
        mult *= 128
        i += 1
        if not b & 0x80:
            break
        if i > 4:
            raise ValueError('bad remaining length')
    if len(buf) < i + n:
        return None
    return buf[0], bytes(buf[i:i + n]), buf[i + n:]


def shown(payload):
    if payload.isascii() and all(32 <= c < 127 for c in payload):
        return payload.decode('ascii')
    return 'hex:' + payload.hex()


def session(a, deadline):
    s = socket.create_connection((a.host, a.port), timeout=5)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        flags = 0x00 if a.persistent else 0x02
        s.sendall(packet(0x10, enc_str('MQTT') + bytes([4, flags]) + struct.pack('!H', a.keepalive)
                         + enc_str(a.client_id)))
        buf = bytearray()
        last_out = time.monotonic()
        subscribed = False
        while time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], 1.0)
            if r:
                d = s.recv(65536)
                if not d:
                    raise ConnectionError('the broker closed the connection')
                buf += d
            while True:
                p = take_packet(buf)
                if p is None:
                    break
                first, body, buf = p[0], p[1], bytearray(p[2])
                kind = first >> 4
                if kind == 2:  # CONNACK
                    if len(body) < 2 or body[1] != 0:
                        raise ConnectionError('CONNACK refused: %s' % body.hex())
                    log('connected', 'session-present=%d' % (body[0] & 1))
                    s.sendall(packet(0x82, struct.pack('!H', 1) + enc_str(a.filter) + bytes([a.qos])))
                    last_out = time.monotonic()
                elif kind == 9:  # SUBACK
                    if not subscribed:
                        log('subscribed', a.filter, 'granted=%d' % body[-1])
                    subscribed = True
                elif kind == 3:  # PUBLISH
                    qos = (first >> 1) & 3
                    dup = (first >> 3) & 1
                    tlen = struct.unpack('!H', body[:2])[0]
                    topic = body[2:2 + tlen].decode('utf-8', 'replace')
                    rest = body[2 + tlen:]
                    if qos > 0:
                        pid, payload = rest[:2], rest[2:]
                    else:
                        pid, payload = None, rest
                    log('msg', 'q%d' % qos, 'dup%d' % dup, topic, shown(payload))
                    if qos == 1:
                        s.sendall(packet(0x40, pid))
                        last_out = time.monotonic()
                    elif qos == 2:
                        s.sendall(packet(0x50, pid))  # PUBREC; the PUBREL is answered below
                        last_out = time.monotonic()
                elif kind == 6:  # PUBREL
                    s.sendall(packet(0x70, body[:2]))
                    last_out = time.monotonic()
            if time.monotonic() - last_out > a.keepalive / 2:
                s.sendall(packet(0xC0, b''))
                last_out = time.monotonic()
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, default=1883)
    ap.add_argument('--client-id', default='cellstack-sub')
    ap.add_argument('--filter', default='#')
    ap.add_argument('--qos', type=int, default=1, choices=[0, 1, 2])
    ap.add_argument('--keepalive', type=int, default=30)
    ap.add_argument('--clean', dest='persistent', action='store_false')
    ap.add_argument('--lifetime', type=float, default=1800)
    a = ap.parse_args()
    deadline = time.monotonic() + a.lifetime
    waiting = False
    # Bounded: at most one attempt every 0.2 s until the lifetime ends.
    while time.monotonic() < deadline:
        try:
            session(a, deadline)
        except ConnectionRefusedError:
            if not waiting:
                log('waiting for the broker')
            waiting = True
            time.sleep(0.2)
            continue
        except (OSError, ValueError, ConnectionError) as e:
            log('disconnected', e)
            time.sleep(0.2)


if __name__ == '__main__':
    main()
