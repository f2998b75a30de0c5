import type { MqttClient } from '../../src/mqtt/client.js';
import type { AckInfo } from '../../src/mqtt/client-core.js';
import type { Granted, QoS } from '../../src/mqtt/options.js';

/**
 * Helpers the MQTT interop files share (mqtt-local.test.ts over node:net/node:tls,
 * mqtt-uml.test.ts over our TCP/TLS over PPP): a bounded wait and one publish/subscribe round
 * trip of our own client.
 */

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** One message as the subscriber's handler saw it. */
export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

export interface RoundTrip {
  /** What SUBACK granted for the one filter. */
  granted: Granted[];
  /** `publish().acked` of each payload, in order: undefined for QoS 0, else the PUBACK/PUBCOMP. */
  acks: Array<AckInfo | undefined>;
  /** What came back on the subscription, in arrival order. */
  received: Received[];
}

/**
 * Subscribes `client` (connected) to `topic` at `qos`, then publishes every payload on it at
 * the same QoS, all at once (several QoS 1/2 flows in flight), waits for each `acked` and for
 * as many messages to come back. Every wait is bounded by `ms` in all.
 */
export async function pubSubRoundTrip(
  client: MqttClient,
  topic: string,
  qos: QoS,
  payloads: readonly Buffer[],
  ms = 20_000,
): Promise<RoundTrip> {
  const deadline = Date.now() + ms;
  const left = () => Math.max(1, deadline - Date.now());
  const received: Received[] = [];
  let arrived: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const granted = await within(
    client.subscribe(topic, { qos }, (t, payload, packet) => {
      received.push({ topic: t, payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain });
      if (received.length >= payloads.length) arrived();
    }),
    left(),
    `SUBACK for ${topic}`,
  );
  const publishes = payloads.map((p) => client.publish(topic, p, { qos }));
  await within(Promise.all(publishes), left(), `publish() of ${payloads.length} on ${topic}`);
  const acks = await within(
    Promise.all(publishes.map((p) => p.acked)),
    left(),
    `acked (QoS ${qos}) of ${payloads.length} on ${topic}`,
  );
  if (payloads.length > 0)
    await within(all, left(), `${payloads.length} messages back on ${topic} (got ${received.length})`);
  return { granted, acks, received };
}
