import { describe, expect, it } from 'vitest';
import { MqttError, ReasonCode } from '../../src/mqtt/errors.js';
import { CoreHarness, stored } from './client-helpers.js';

/**
 * MQTT 5.0 3.2.2.3.4-6: a CONNACK's Maximum QoS, Retain Available and Maximum Packet Size bind
 * the Client ("MUST NOT send"). A stored publish beyond them is not sent (the broker would
 * disconnect us for it and the publish would be resent forever): it is reported as failed
 * with the reason code the broker would have used, and the next one goes.
 */
describe('the broker limits of a v5 CONNACK', () => {
  function limited(): CoreHarness {
    const h = new CoreHarness(5);
    h.open({}, { properties: { maximumQoS: 1, retainAvailable: false, maximumPacketSize: 120 } });
    return h;
  }

  it('QoS above Maximum QoS, retain without Retain Available, a packet over Maximum Packet Size: refused, not sent', () => {
    const h = limited();
    h.core.enqueue(stored(1, 't/a', 2), 0);
    h.core.enqueue(stored(2, 't/b', 1, { retain: true }), 0);
    h.core.enqueue(stored(3, 't/c', 1, { payload: new Uint8Array(200) }), 0);
    h.core.enqueue(stored(4, 't/d', 1, { payload: new Uint8Array(80) }), 0);
    const sent = h.sent();
    expect(sent.map((p) => p.cmd === 'publish' && p.topic)).toEqual(['t/d']);
    const acks = h.take('acked').map((e) => e.ack);
    expect(acks.map((a) => [a.key, a.reasonCode])).toEqual([
      [1, ReasonCode.QoSNotSupported],
      [2, ReasonCode.RetainNotSupported],
      [3, ReasonCode.PacketTooLarge],
    ]);
    for (const a of acks) expect(a.error).toBeInstanceOf(MqttError);
    expect(acks[2]?.error?.message).toMatch(/Maximum Packet Size 120/);
    expect(h.core.pending).toBe(1);
  });

  it('QoS 0 beyond the limits throws PUBLISH_FAILED and sends nothing', () => {
    const h = limited();
    expect(() => h.core.publish0('t', new Uint8Array(1), { retain: true }, 0)).toThrow(
      expect.objectContaining({ code: 'PUBLISH_FAILED', reasonCode: ReasonCode.RetainNotSupported }),
    );
    expect(() => h.core.publish0('t', new Uint8Array(500), {}, 0)).toThrow(/Maximum Packet Size/);
    expect(h.sent()).toEqual([]);
    h.core.publish0('t', new Uint8Array(10), {}, 0);
    expect(h.sent()).toHaveLength(1);
  });

  it('without limits in the CONNACK, QoS 2, retain and a large payload all go', () => {
    const h = new CoreHarness(5);
    h.open();
    h.core.enqueue(stored(1, 't', 2, { retain: true, payload: new Uint8Array(5000) }), 0);
    expect(h.sent().filter((p) => p.cmd === 'publish')).toHaveLength(1);
    expect(h.take('acked')).toEqual([]);
  });
});
