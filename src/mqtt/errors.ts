import { CellstackError } from '../util/errors.js';

/**
 * Stable codes of `MqttError`:
 * - `EKEEPALIVE`: nothing received for 1.5 × keepalive; the link is taken for dead.
 * - `ETIMEDOUT`: no CONNACK within `connectTimeout`.
 * - `CONNACK_REFUSED`: the broker refused the connection (`reasonCode`: v3 return code or v5 reason code).
 * - `DISCONNECTED`: the broker sent DISCONNECT (v5; `reasonCode`).
 * - `PROTOCOL_ERROR`: the broker broke the protocol (unknown topic alias, unexpected packet...).
 * - `MALFORMED`: bytes from the broker that do not parse.
 * - `PUBLISH_FAILED`: PUBACK/PUBREC with a failure reason code (v5; `reasonCode`).
 * - `SUBSCRIBE_FAILED`: SUBACK with a failure for at least one filter (`reasonCode`, `granted`).
 * - `UNSUBSCRIBE_FAILED`: UNSUBACK with a failure reason code (v5).
 * - `EXPIRED`: a stored message whose message expiry interval ran out before it could be sent.
 * - `NOT_CONNECTED`: a QoS 0 publish, subscribe or unsubscribe without a connection.
 * - `ECLOSED`: the connection closed while the request waited for its answer.
 * - `ECONNRESET`: the transport closed without a DISCONNECT.
 */
export type MqttErrorCode =
  | 'EKEEPALIVE'
  | 'ETIMEDOUT'
  | 'CONNACK_REFUSED'
  | 'DISCONNECTED'
  | 'PROTOCOL_ERROR'
  | 'MALFORMED'
  | 'PUBLISH_FAILED'
  | 'SUBSCRIBE_FAILED'
  | 'UNSUBSCRIBE_FAILED'
  | 'EXPIRED'
  | 'NOT_CONNECTED'
  | 'ECLOSED'
  | 'ECONNRESET';

/** An MQTT failure. `reasonCode` is the MQTT reason (or v3 return) code when the broker gave one. */
export class MqttError extends CellstackError {
  declare readonly code: MqttErrorCode;
  readonly reasonCode: number | undefined;

  constructor(code: MqttErrorCode, message: string, reasonCode?: number, options?: { cause?: unknown }) {
    super(
      code,
      reasonCode === undefined ? message : `${message} (reason code 0x${hex(reasonCode)})`,
      options,
    );
    this.name = 'MqttError';
    this.reasonCode = reasonCode;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** MQTT 5 reason codes used by the client (spec 2.4). */
export const ReasonCode = {
  Success: 0x00,
  NoMatchingSubscribers: 0x10,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  KeepAliveTimeout: 0x8d,
} as const;
