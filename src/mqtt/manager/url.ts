import { ConfigError } from '../../util/errors.js';
import { isIpv4 } from '../../util/ipv4.js';

/** Where the broker is, from `mqtt[s]://host[:port]`. */
export interface BrokerTarget {
  tls: boolean;
  /** A name or an IPv4 literal (brackets removed from IPv6, which the stack cannot reach). */
  host: string;
  port: number;
}

/**
 * Parses a broker URL. `mqtt:`/`tcp:` are plain TCP on 1883, `mqtts:`/`ssl:`/`tls:` TLS on
 * 8883 (the IANA ports of MQTT and secure MQTT). A bare `host[:port]` is read as mqtts: a
 * device on a public network should not default to cleartext.
 */
export function parseBrokerUrl(text: string): BrokerTarget {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `mqtts://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`mqtt.url: not a URL: ${JSON.stringify(text)}`);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  let tls: boolean;
  if (scheme === 'mqtt' || scheme === 'tcp') tls = false;
  else if (scheme === 'mqtts' || scheme === 'ssl' || scheme === 'tls') tls = true;
  else throw new ConfigError(`mqtt.url: unsupported scheme "${scheme}:" (mqtt: or mqtts:)`);
  if (url.username || url.password)
    throw new ConfigError('mqtt.url: give the user name and password as mqtt.username / mqtt.password');
  if (url.pathname !== '' && url.pathname !== '/')
    throw new ConfigError(
      `mqtt.url: a path is for MQTT over WebSocket, which is not supported: ${url.pathname}`,
    );
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new ConfigError(`mqtt.url: no host in ${JSON.stringify(text)}`);
  if (host.includes(':')) throw new ConfigError(`mqtt.url: IPv6 brokers are not supported: ${host}`);
  if (/^[0-9.]+$/.test(host) && !isIpv4(host))
    throw new ConfigError(`mqtt.url: not an IPv4 address: ${host}`);
  const port = url.port ? Number(url.port) : tls ? 8883 : 1883;
  return { tls, host, port };
}
