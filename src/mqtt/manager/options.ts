import type { Duplex } from 'node:stream';
import type { ModemPort } from '../../modem/port.js';
import type { PppLinkOptions } from '../../ppp/link.js';
import type { SimModemConfig } from '../../sim/config.js';
import type { Clock } from '../../util/clock.js';
import type { MqttConnectOptions } from '../options.js';
import type { OutgoingStore } from '../store/types.js';

/**
 * Options of `connect()`, the connection manager: the whole chain from a modem's AT port to
 * an MQTT session, kept up until `end()`.
 */
export interface ConnectOptions {
  /** The cellular link. Without it the manager uses this host's own network (node:net). */
  modem?: ModemLinkOptions;
  mqtt: MqttEndpointOptions;
  /** When and how often to try again after a failure. */
  reconnect?: ReconnectOptions;
  /** Timers and time (default: `systemClock`); the MQTT client keeps the wall clock for its store. */
  clock?: Clock;
  /** Uniform [0, 1) for the backoff's jitter (default `Math.random`). */
  random?: () => number;
}

/** How to reach the network: the modem, its SIM, and the PPP session over the data call. */
export interface ModemLinkOptions {
  /** The modem's AT port (`/dev/ttyUSB2`), `sim` / `sim:<vendor>`, or with `direct` a line speaking PPP. */
  path: string;
  baudRate?: number;
  rtscts?: boolean;
  /** Access point name; left as the modem has it when not given. */
  apn?: string;
  /** PDP context id, default 1. */
  cid?: number;
  /** SIM PIN. Never logged. */
  pin?: string;
  /** Send the PIN even with one attempt left (see `Modem.unlock`). */
  forcePin?: boolean;
  /** PAP/CHAP user name and password. The password is never logged. */
  user?: string;
  password?: string;
  /** The line speaks PPP already (no AT stage): redialling restarts LCP on it. */
  direct?: boolean;
  /** Byte trace of the AT sessions (JSON Lines, secrets masked). */
  record?: string;
  /** Every PPP frame to this pcap file. */
  pcap?: string;
  /** Opens the port instead of `path` (a bridge, a test modem); called again for a modem reset. */
  openPort?: () => Promise<ModemPort>;
  /** Settings of the built-in test modem when `path` is `sim...`. */
  sim?: SimModemConfig;
  /** Registration wait per attempt (default 120 s). */
  registrationTimeoutMs?: number;
  /** Time for PPP to come up after CONNECT (default 60 s). */
  linkTimeoutMs?: number;
  /** LCP Echo-Request interval, seconds (default 20; 0 turns it off): a dead link found within a minute. */
  lcpEchoInterval?: number;
  /** Unanswered Echo-Requests before the link is declared dead (default 3). */
  lcpEchoFailure?: number;
  /** Further PPP options (VJ compression, MRU...). */
  ppp?: Omit<PppLinkOptions, 'clock' | 'pcap' | 'user' | 'password'>;
}

/** The broker and the MQTT session. */
export interface MqttEndpointOptions extends Omit<MqttConnectOptions, 'connectTimeout'> {
  /** `mqtt://host[:1883]`, `mqtts://host[:8883]`, `tls://`/`ssl://` as mqtts. */
  url: string;
  /** Trust these CAs (PEM) instead of Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Our certificate chain (PEM) for mutual TLS, with `key`. */
  cert?: string | Buffer | Array<string | Buffer>;
  /** Never logged. */
  key?: string | Buffer;
  /** PKCS#12 bundle instead of cert/key. */
  pfx?: Buffer;
  passphrase?: string;
  /** SNI and the name the certificate must match (default: the URL's host). */
  servername?: string;
  /** ALPN protocols to offer (the AWS profile on port 443 offers `x-amzn-mqtt-ca`). */
  alpn?: string[];
  /** Default true. */
  rejectUnauthorized?: boolean;
  /** TLS client: cellstack's own (default) or node:tls over the same socket. */
  tlsEngine?: 'own' | 'node';
  /** Apply a broker's limits and conventions. */
  profile?: 'aws-iot';
  /** QoS 1/2 publishes kept until acknowledged: a store, or a directory for a `FileStore`. */
  store?: OutgoingStore | string;
  /** QoS 0 publishes made while offline: kept in memory up to a bound (default), or dropped. */
  offlineQos0?: 'queue' | 'drop';
  /** Bound of the offline QoS 0 queue in messages (default 1000); the oldest goes first. */
  offlineQos0Limit?: number;
  /** Bound of the offline QoS 0 queue in payload and topic bytes (default 1 MiB). */
  offlineQos0MaxBytes?: number;
  /** TCP connect + TLS handshake + CONNACK, per attempt (default 30 s). */
  connectTimeoutMs?: number;
  /** A transport instead of TCP (tests, proxies): called for every attempt. */
  transport?: (target: { host: string; port: number }) => Duplex | Promise<Duplex>;
}

/** Exponential backoff with jitter between attempts (AWS's "full jitter"). */
export interface ReconnectOptions {
  /** First delay, ms (default 1000). */
  initialDelayMs?: number;
  /** Largest delay, ms (default 120000). */
  maxDelayMs?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /** Failed attempts in a row before giving up (default Infinity: forever). */
  maxAttempts?: number;
  /** Transport failures on one PPP session before it is redialled (default 3). */
  redialAfter?: number;
  /** Failed dials before the modem is reset (default 3). */
  resetAfter?: number;
}

/** Where the manager is in the chain. */
export type ConnectionState =
  | 'idle'
  | 'opening'
  | 'registering'
  | 'dialing'
  | 'ppp-up'
  | 'connecting'
  | 'connected'
  | 'offline'
  | 'closed';

/** How far down a failure makes the manager walk before it climbs again. */
export type RecoveryLevel = 'mqtt' | 'transport' | 'link' | 'modem';

export interface StateChange {
  state: ConnectionState;
  /** For `offline`: what failed. */
  reason?: Error;
  /** For `offline`: where the next attempt starts. */
  recovery?: RecoveryLevel;
  /** For `offline`: the wait before it, ms. */
  delayMs?: number;
  /** Failed attempts in a row so far. */
  attempt: number;
  /** A short description (registration state, addresses, broker). */
  detail?: string;
}
