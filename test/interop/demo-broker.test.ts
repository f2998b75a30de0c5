import { connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { MqttClient } from '../../src/mqtt/client.js';
import { type DemoBroker, findMosquitto, startDemoBroker } from '../../src/sim/demo-broker.js';
import { makeDemoPki } from '../../src/sim/demo-pki.js';
import { peer } from './harness/peers.js';

/** The demo's brokers (mosquitto, or aedes in process): TLS with a required client certificate. */
const mosquitto = peer(
  'mosquitto',
  findMosquitto() ? undefined : 'mosquitto is not installed (apt-get install mosquitto)',
);
const pki = makeDemoPki();

async function roundTrip(broker: DemoBroker, withCert: boolean): Promise<string> {
  const socket = tlsConnect({
    host: broker.host,
    port: broker.port,
    servername: 'broker.sim',
    ca: pki.ca,
    ...(withCert ? { cert: pki.clientCert, key: pki.clientKey } : {}),
  });
  const client = new MqttClient();
  client.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    await client.connect(socket, { clientId: `demo-${broker.kind}`, protocolVersion: 4 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(String(p))));
    await client.subscribe('demo/t', { qos: 1 });
    await client.publish('demo/t', `via ${broker.kind}`, { qos: 1 }).acked;
    return await got;
  } finally {
    await client.end().catch(() => undefined);
    socket.destroy();
  }
}

describe('startDemoBroker', () => {
  it('aedes in process: TLS, a client certificate required, QoS 1 round trip', async () => {
    const broker = await startDemoBroker(pki, { prefer: 'aedes' });
    try {
      expect(broker.kind).toBe('aedes');
      expect(await roundTrip(broker, true)).toBe('via aedes');
      await expect(roundTrip(broker, false)).rejects.toThrow();
    } finally {
      await broker.stop();
    }
  });

  it.skipIf(mosquitto.skip)('mosquitto: TLS, a client certificate required, QoS 1 round trip', async () => {
    const broker = await startDemoBroker(pki, { prefer: 'mosquitto' });
    try {
      expect(broker.kind).toBe('mosquitto');
      expect(await roundTrip(broker, true)).toBe('via mosquitto');
      await expect(roundTrip(broker, false)).rejects.toThrow();
    } finally {
      await broker.stop();
    }
  });
});
