import { describe, expect, it } from 'vitest';
import { ModemError } from '../../src/modem/errors.js';
import { MqttError } from '../../src/mqtt/errors.js';
import { Backoff } from '../../src/mqtt/manager/backoff.js';
import { AWS_IOT_ALPN, applyProfile, checkPublish, checkSubscribe } from '../../src/mqtt/manager/profile.js';
import { classify, type FailureContext } from '../../src/mqtt/manager/recovery.js';
import { parseBrokerUrl } from '../../src/mqtt/manager/url.js';
import { StoreLockedError } from '../../src/mqtt/store/errors.js';
import { PppError } from '../../src/ppp/errors.js';
import { CredentialsError } from '../../src/tls/x509/errors.js';
import { ConfigError } from '../../src/util/errors.js';

describe('Backoff (full jitter)', () => {
  it('draws under a ceiling that doubles up to the maximum, and starts over on reset', () => {
    const b = new Backoff({ initialDelayMs: 1000, maxDelayMs: 10_000 }, () => 0.999999);
    const delays = Array.from({ length: 7 }, () => b.next());
    expect(delays).toEqual([999, 1999, 3999, 7999, 9999, 9999, 9999]);
    expect(b.attempts).toBe(7);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(999);
  });

  it('spreads delays uniformly under the ceiling and never returns a tight-loop 0', () => {
    let x = 0;
    const b = new Backoff({ initialDelayMs: 1000, maxDelayMs: 1000 }, () => {
      x = (x + 0.37) % 1;
      return x;
    });
    const d = Array.from({ length: 100 }, () => b.next());
    expect(Math.min(...d)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...d)).toBeLessThanOrEqual(1000);
    expect(new Set(d).size).toBeGreaterThan(20);
    const zero = new Backoff({}, () => 0);
    expect(zero.next()).toBe(50);
    // A broken random source cannot produce NaN or a negative wait.
    expect(new Backoff({}, () => Number.NaN).next()).toBe(50);
  });

  it('rejects nonsense settings', () => {
    expect(() => new Backoff({ initialDelayMs: -1 })).toThrow(ConfigError);
    expect(() => new Backoff({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(ConfigError);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(ConfigError);
  });
});

describe('parseBrokerUrl', () => {
  it('reads schemes and default ports', () => {
    expect(parseBrokerUrl('mqtt://10.0.0.1')).toEqual({ tls: false, host: '10.0.0.1', port: 1883 });
    expect(parseBrokerUrl('mqtts://broker.example')).toEqual({
      tls: true,
      host: 'broker.example',
      port: 8883,
    });
    expect(parseBrokerUrl('tls://b.example:443')).toEqual({ tls: true, host: 'b.example', port: 443 });
    expect(parseBrokerUrl('tcp://b.example:1884')).toEqual({ tls: false, host: 'b.example', port: 1884 });
    // No scheme: TLS, as a device on a public network should default to.
    expect(parseBrokerUrl('b.example')).toEqual({ tls: true, host: 'b.example', port: 8883 });
  });

  it('rejects what it cannot connect to, with a ConfigError', () => {
    for (const bad of [
      'http://b.example',
      'ws://b.example/mqtt',
      'mqtt://user:pw@b.example',
      'mqtt://[::1]:1883',
      'mqtt://10.0.0.300',
      'mqtts://b.example/path',
      'mqtt://',
    ])
      expect(() => parseBrokerUrl(bad), bad).toThrow(ConfigError);
  });

  it('never echoes a password given in the URL', () => {
    try {
      parseBrokerUrl('mqtts://dev:hunter2secret@b.example');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2secret');
    }
  });
});

describe('aws-iot profile', () => {
  const t = (port: number, host = 'abc-ats.iot.eu-west-1.amazonaws.com') => ({ tls: true, host, port });

  it('offers ALPN x-amzn-mqtt-ca on 443, clamps keepalive into 30..1200 s, and sets the limits', () => {
    const r = applyProfile({ url: 'x', profile: 'aws-iot', keepalive: 5 }, t(443));
    expect(r.options.alpn).toEqual([AWS_IOT_ALPN]);
    expect(r.options.keepalive).toBe(30);
    expect(r.limits).toMatchObject({ maxPayload: 131072, maxQos: 1 });
    expect(applyProfile({ url: 'x', profile: 'aws-iot', keepalive: 5000 }, t(8883)).options.keepalive).toBe(
      1200,
    );
    expect(applyProfile({ url: 'x', profile: 'aws-iot' }, t(8883)).options.alpn).toBeUndefined();
    expect(applyProfile({ url: 'x', profile: 'aws-iot', keepalive: 300 }, t(8883)).adjustments).toEqual([]);
  });

  it('refuses what AWS IoT Core would refuse', () => {
    expect(() => applyProfile({ url: 'x', profile: 'aws-iot' }, { ...t(8883), tls: false })).toThrow(/TLS/);
    expect(() => applyProfile({ url: 'x', profile: 'aws-iot' }, t(1883))).toThrow(/8883 or 443/);
    expect(() => applyProfile({ url: 'x', profile: 'aws-iot' }, t(8883, '10.1.2.3'))).toThrow(/SNI/);
    expect(() => applyProfile({ url: 'x', profile: 'aws-iot', alpn: ['mqtt'] }, t(443))).toThrow(/ALPN/);
    expect(() => applyProfile({ url: 'x', profile: 'aws-iot', clientId: 'x'.repeat(129) }, t(8883))).toThrow(
      /128/,
    );
    const { limits } = applyProfile({ url: 'x', profile: 'aws-iot' }, t(8883));
    expect(() => checkPublish(limits, 'a/b', 10, 2)).toThrow(ConfigError);
    expect(() => checkPublish(limits, 'a/b', 128 * 1024 + 1, 1)).toThrow(/131072/);
    expect(() => checkPublish(limits, 'a/b/c/d/e/f/g/h/i', 1, 1)).toThrow(/slashes/);
    expect(() => checkPublish(limits, 't'.repeat(257), 1, 1)).toThrow(/256/);
    expect(() => checkSubscribe(limits, 'a/#', 2)).toThrow(ConfigError);
    expect(() => checkPublish(limits, 'a/b', 128 * 1024, 1)).not.toThrow();
  });

  it('leaves options alone without a profile', () => {
    const o = { url: 'x', keepalive: 5 };
    const r = applyProfile(o, t(1883));
    expect(r.options).toBe(o);
    expect(() => checkPublish(r.limits, 'a', 1_000_000, 2)).not.toThrow();
  });
});

describe('classify: how far to walk back', () => {
  const ctx = (stage: FailureContext['stage'], extra: Partial<FailureContext> = {}): FailureContext => ({
    stage,
    linkUp: true,
    portOpen: true,
    cellular: true,
    ...extra,
  });

  it('a broken TLS/TCP/MQTT connection over a healthy link reconnects the transport only', () => {
    expect(classify(new MqttError('EKEEPALIVE', 'x'), ctx('connected'))).toEqual({
      retry: true,
      level: 'transport',
    });
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' }), ctx('transport'))).toEqual({
      retry: true,
      level: 'transport',
    });
  });

  it('a link that went down redials; a modem that stopped answering is reopened', () => {
    expect(classify(new PppError('PEER_DEAD', 'x'), ctx('connected', { linkUp: false }))).toEqual({
      retry: true,
      level: 'link',
    });
    expect(classify(new ModemError('NO_CARRIER', 'x'), ctx('dial'))).toEqual({ retry: true, level: 'link' });
    expect(classify(new ModemError('TIMEOUT', 'x'), ctx('dial'))).toEqual({ retry: true, level: 'modem' });
    expect(classify(new ModemError('REGISTRATION_TIMEOUT', 'x'), ctx('modem'))).toEqual({
      retry: true,
      level: 'modem',
    });
    expect(classify(new MqttError('ECONNRESET', 'x'), ctx('connected', { portOpen: false }))).toEqual({
      retry: true,
      level: 'modem',
    });
  });

  it('stops on what only a person can fix: PUK, a refused PIN, bad config, bad credentials, a locked store', () => {
    for (const e of [
      new ModemError('SIM_PUK_REQUIRED', 'x'),
      new ModemError('PIN_REJECTED', 'x'),
      new ModemError('PIN_LAST_ATTEMPT', 'x'),
      new ConfigError('x'),
      new CredentialsError('ERR_TLS_KEY_PARSE', 'x'),
      new StoreLockedError('/tmp/x', 1),
    ])
      expect(classify(e, ctx('modem')), e.code).toEqual({ retry: false });
  });

  it('without a modem everything is a transport retry', () => {
    expect(
      classify(new PppError('PEER_DEAD', 'x'), ctx('connected', { cellular: false, linkUp: false })),
    ).toEqual({
      retry: true,
      level: 'transport',
    });
  });
});
