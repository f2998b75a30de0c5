import { ConfigError } from '../../util/errors.js';
import type { QoS } from '../options.js';
import type { MqttEndpointOptions } from './options.js';
import type { BrokerTarget } from './url.js';

/** The ALPN protocol AWS IoT Core expects for MQTT with client certificates on port 443. */
export const AWS_IOT_ALPN = 'x-amzn-mqtt-ca';

/** Limits a broker profile puts on what the caller may send; checked before a publish is stored. */
export interface BrokerLimits {
  /** Largest payload, bytes. */
  maxPayload: number;
  maxQos: QoS;
  /** Largest topic name, UTF-8 bytes. */
  maxTopicBytes: number;
  /** Most `/` separators in a topic name (AWS: 7, so 8 levels). */
  maxTopicSlashes: number;
}

/** MQTT's own limits (3.1.1 section 1.5.3 and 2.2.3: 65535-byte strings, 268435455-byte packets). */
export const MQTT_LIMITS: BrokerLimits = {
  maxPayload: 268_435_455 - 2 - 65_535 - 2 - 5,
  maxQos: 2,
  maxTopicBytes: 65_535,
  maxTopicSlashes: Number.POSITIVE_INFINITY,
};

export interface ProfileResult {
  options: MqttEndpointOptions;
  limits: BrokerLimits;
  /** Things the profile changed, for the log (never secrets). */
  adjustments: string[];
}

/**
 * Applies `options.profile` to the endpoint options. For `aws-iot` (AWS IoT Core's documented
 * quotas and protocol support): TLS only, on 8883, or on 443 with ALPN `x-amzn-mqtt-ca`; SNI
 * always (the endpoint is a name); Keep Alive clamped to 30..1200 s as the broker does it;
 * payloads up to 128 KB; QoS 0 and 1 only; topic names up to 256 bytes and 7 slashes; client
 * ids up to 128 bytes. Without a profile the options pass unchanged.
 */
export function applyProfile(options: MqttEndpointOptions, target: BrokerTarget): ProfileResult {
  if (options.profile === undefined) return { options, limits: MQTT_LIMITS, adjustments: [] };
  if (options.profile !== 'aws-iot')
    throw new ConfigError(`mqtt.profile: unknown profile "${String(options.profile)}" (aws-iot)`);
  const adjustments: string[] = [];
  const out: MqttEndpointOptions = { ...options };
  if (!target.tls) throw new ConfigError('aws-iot: the broker only takes TLS (mqtts://)');
  if (target.port !== 8883 && target.port !== 443)
    throw new ConfigError(`aws-iot: port ${target.port}: MQTT with certificates is on 8883 or 443`);
  if (/^[0-9.]+$/.test(target.host))
    throw new ConfigError('aws-iot: connect to the endpoint by name (SNI selects the account)');
  if (out.servername === '') throw new ConfigError('aws-iot: SNI cannot be turned off');
  if (target.port === 443) {
    const alpn = out.alpn ?? [];
    if (alpn.length === 0) {
      out.alpn = [AWS_IOT_ALPN];
      adjustments.push(`ALPN ${AWS_IOT_ALPN} on port 443`);
    } else if (!alpn.includes(AWS_IOT_ALPN)) {
      throw new ConfigError(`aws-iot: port 443 needs ALPN ${AWS_IOT_ALPN} (given: ${alpn.join(', ')})`);
    }
  }
  const keepalive = out.keepalive ?? 60;
  const clamped = Math.min(1200, Math.max(30, keepalive));
  if (clamped !== keepalive) adjustments.push(`keepalive ${keepalive} s -> ${clamped} s`);
  out.keepalive = clamped;
  const id = out.clientId ?? '';
  if (Buffer.byteLength(id) > 128) throw new ConfigError('aws-iot: client id longer than 128 bytes');
  if (out.will && (out.will.qos ?? 0) > 1) throw new ConfigError('aws-iot: Will QoS above 1');
  return {
    options: out,
    limits: { maxPayload: 128 * 1024, maxQos: 1, maxTopicBytes: 256, maxTopicSlashes: 7 },
    adjustments,
  };
}

/** Throws a `ConfigError` when a publish breaks the profile's limits. */
export function checkPublish(limits: BrokerLimits, topic: string, payloadBytes: number, qos: number): void {
  if (qos > limits.maxQos) throw new ConfigError(`QoS ${qos} is above the broker's maximum ${limits.maxQos}`);
  if (payloadBytes > limits.maxPayload)
    throw new ConfigError(`payload of ${payloadBytes} bytes is above the broker's ${limits.maxPayload}`);
  checkTopicSize(limits, topic);
}

/** Throws a `ConfigError` when a subscription asks for more than the profile allows. */
export function checkSubscribe(limits: BrokerLimits, filter: string, qos: number): void {
  if (qos > limits.maxQos) throw new ConfigError(`QoS ${qos} is above the broker's maximum ${limits.maxQos}`);
  checkTopicSize(limits, filter);
}

function checkTopicSize(limits: BrokerLimits, topic: string): void {
  if (Buffer.byteLength(topic) > limits.maxTopicBytes)
    throw new ConfigError(`topic longer than the broker's ${limits.maxTopicBytes} bytes`);
  let slashes = 0;
  for (const c of topic) if (c === '/') slashes++;
  if (slashes > limits.maxTopicSlashes)
    throw new ConfigError(`topic with more than ${limits.maxTopicSlashes} slashes`);
}
