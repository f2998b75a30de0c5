import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { NetStack } from '../../src/ip/stack.js';
import { MqttClient } from '../../src/mqtt/client.js';
import { MemoryStore } from '../../src/mqtt/store/memory-store.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import { ManualClock } from '../../src/util/manual-clock.js';
import { MemoryLink } from '../helpers/memory-link.js';

/** The client over our own TcpSocket: two NetStacks back to back, a tiny broker on the far side. */
describe('MqttClient over our TcpSocket', () => {
  it.each([4, 5] as const)('v%d: connect, subscribe, QoS 1 round trip, keepalive ping, end', async (v) => {
    const clock = new ManualClock();
    const [la, lb] = MemoryLink.pair();
    const a = new NetStack(la, { clock });
    const b = new NetStack(lb, { clock });
    const seen: Packet['cmd'][] = [];
    b.createServer((s: TcpSocket) => {
      const parser = mqttPacket.parser({ protocolVersion: v });
      const send = (p: Packet) => s.write(mqttPacket.generate(p, { protocolVersion: v }));
      parser.on('packet', (p: Packet) => {
        seen.push(p.cmd);
        if (p.cmd === 'connect')
          send({
            cmd: 'connack',
            sessionPresent: false,
            ...(v === 5 ? { reasonCode: 0 } : { returnCode: 0 }),
          });
        if (p.cmd === 'subscribe') send({ cmd: 'suback', messageId: p.messageId as number, granted: [1] });
        if (p.cmd === 'pingreq') send({ cmd: 'pingresp' });
        if (p.cmd === 'publish') {
          send({ cmd: 'puback', messageId: p.messageId as number });
          send({
            cmd: 'publish',
            topic: p.topic || 'echo',
            payload: p.payload,
            qos: 0,
            retain: false,
            dup: false,
          });
        }
      });
      s.on('data', (d: Buffer) => parser.parse(d));
      s.on('end', () => s.end());
    }).listen(1883);
    const client = new MqttClient({ clock, store: new MemoryStore() });
    const socket = a.connect({ host: '10.0.0.2', port: 1883 });
    let connack: unknown;
    void client.connect(socket, { protocolVersion: v, clientId: 'tcp', keepalive: 5 }).then((c) => {
      connack = c;
    });
    expect(await clock.advanceUntil(() => connack !== undefined, 10_000, 5)).toBe(true);
    let granted: unknown;
    void client.subscribe('echo', { qos: 1 }).then((g) => {
      granted = g;
    });
    expect(await clock.advanceUntil(() => granted !== undefined, 10_000, 5)).toBe(true);
    const got: string[] = [];
    client.on('message', (_t, p) => got.push(p.toString()));
    let acked = false;
    void client.publish('echo', 'over-tcp', { qos: 1 }).acked.then(() => {
      acked = true;
    });
    expect(await clock.advanceUntil(() => acked && got.length === 1, 10_000, 5)).toBe(true);
    expect(got).toEqual(['over-tcp']);
    await clock.advance(6_000);
    expect(seen).toContain('pingreq');
    expect(client.connected).toBe(true);
    let ended = false;
    void client.end().then(() => {
      ended = true;
    });
    expect(await clock.advanceUntil(() => ended, 10_000, 5)).toBe(true);
    expect(seen.at(-1)).toBe('disconnect');
  });
});
