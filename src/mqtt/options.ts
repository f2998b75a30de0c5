import type { StoredProperties } from './store/types.js';

/** MQTT 3.1.1 is protocol level 4, MQTT 5.0 is 5. */
export type ProtocolVersion = 4 | 5;
export type QoS = 0 | 1 | 2;
export type UserProperties = Record<string, string | string[]>;

/** PUBLISH properties (MQTT 5; ignored by 3.1.1). The topic alias is managed by the client. */
export type PublishProperties = StoredProperties;

/** The Will Message (3.1.2.5 / 5.0 3.1.3.2), published by the broker if we vanish. */
export interface WillOptions {
  topic: string;
  payload: Uint8Array | string;
  qos?: QoS;
  retain?: boolean;
  properties?: PublishProperties & { willDelayInterval?: number };
}

/** What a CONNECT carries, and the client's limits for the connection. */
export interface MqttConnectOptions {
  /** 4 (MQTT 3.1.1, the default) or 5 (MQTT 5.0). Fixed for the life of a client's session. */
  protocolVersion?: ProtocolVersion;
  /** Client identifier; '' lets a v5 broker assign one (v3.1.1 needs `clean: true` then). */
  clientId?: string;
  /** Clean Session (3.1.1) / Clean Start (5.0); default true. false resumes a session the broker holds. */
  clean?: boolean;
  /** Keep Alive in seconds (default 60; 0 turns keepalive off). A v5 Server Keep Alive replaces it. */
  keepalive?: number;
  username?: string;
  /** Never logged, never put in an error message. */
  password?: string | Uint8Array;
  will?: WillOptions;
  /** v5 Session Expiry Interval in seconds (default 0: the session ends with the connection). */
  sessionExpiryInterval?: number;
  /** v5 Receive Maximum we announce (default 65535). */
  receiveMaximum?: number;
  /** v5 Topic Alias Maximum we accept from the broker (default 16; 0 refuses aliases). */
  topicAliasMaximum?: number;
  /** v5 Maximum Packet Size we accept. */
  maximumPacketSize?: number;
  /** v5 user properties of the CONNECT. */
  userProperties?: UserProperties;
  /** Most QoS 1/2 publishes awaiting acknowledgement at once (default 65535; a v5 broker's Receive Maximum lowers it). */
  maxInflight?: number;
  /** Use the broker's Topic Alias Maximum for our publishes (v5; default true). */
  topicAliases?: boolean;
  /** When the broker has no session for us, subscribe again to the filters subscribed before (default true). */
  resubscribe?: boolean;
  /** Milliseconds to wait for CONNACK (default 30000). */
  connectTimeout?: number;
}

/** The CONNACK, as `connect()` resolves it. */
export interface ConnAck {
  sessionPresent: boolean;
  /** 0 on success (v3 return code or v5 reason code). */
  reasonCode: number;
  protocolVersion: ProtocolVersion;
  /** The identifier a v5 broker assigned, when we sent ''. */
  assignedClientIdentifier?: string;
  /** The keepalive in force (seconds): ours, or the v5 Server Keep Alive. */
  keepalive: number;
  /** v5: the broker's Receive Maximum, Topic Alias Maximum, Maximum QoS and the rest, as sent. */
  properties?: Readonly<Record<string, unknown>>;
}

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  properties?: PublishProperties;
}

export interface SubscribeOptions {
  qos?: QoS;
  /** v5 No Local, Retain As Published, Retain Handling. */
  nl?: boolean;
  rap?: boolean;
  rh?: 0 | 1 | 2;
  /** v5 SUBSCRIBE properties. */
  properties?: { subscriptionIdentifier?: number; userProperties?: UserProperties };
}

/** What the broker granted for one filter. */
export interface Granted {
  topic: string;
  /** The granted QoS, or the failure code (0x80 and above). */
  qos: number;
}
