import { Connection } from './connection.js';
import type { ConnectOptions } from './options.js';

/**
 * The library's front door: keeps a device connected to an MQTT broker over a cellular modem
 * (or this host's network without `modem`), from the AT port to the CONNACK, through every
 * failure, until `end()`. Returns at once; listen for `state` and `connect`, or await
 * `ready()`. Options are checked now: a broken configuration throws a `ConfigError` here.
 *
 * ```ts
 * const conn = connect({
 *   modem: { path: '/dev/ttyUSB2', apn: 'iot.example' },
 *   mqtt: { url: 'mqtts://broker.example', clientId: 'pump-7', ca, cert, key, store: '/var/lib/pump' },
 * });
 * conn.on('state', (s) => console.log(s.state, s.reason?.message ?? ''));
 * await conn.publish('pumps/7/pressure', JSON.stringify({ bar: 2.1 }), { qos: 1 });
 * ```
 */
export function connect(options: ConnectOptions): Connection {
  const conn = new Connection(options);
  setImmediate(() => conn.start());
  return conn;
}

export { Backoff } from './backoff.js';
export { Connection, type ConnectionEvents, type ConnectionStats } from './connection.js';
export type {
  ConnectionState,
  ConnectOptions,
  ModemLinkOptions,
  MqttEndpointOptions,
  ReconnectOptions,
  RecoveryLevel,
  StateChange,
} from './options.js';
export { AWS_IOT_ALPN, applyProfile, type BrokerLimits, MQTT_LIMITS } from './profile.js';
export { type BrokerTarget, parseBrokerUrl } from './url.js';
