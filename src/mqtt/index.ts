export {
  type MessageHandler,
  MqttClient,
  type MqttClientEvents,
  type MqttClientOptions,
  type PublishPromise,
} from './client.js';
export {
  type AckInfo,
  type CoreState,
  type CoreStats,
  type IncomingMessage,
  MqttClientCore,
  type MqttCoreEvent,
} from './client-core.js';
export { MqttError, type MqttErrorCode, ReasonCode } from './errors.js';
export type {
  ConnAck,
  Granted,
  MqttConnectOptions,
  ProtocolVersion,
  PublishOptions,
  PublishProperties,
  QoS,
  SubscribeOptions,
  UserProperties,
  WillOptions,
} from './options.js';
export { PacketIds } from './packet-id.js';
// The store's public face; its codec and scanner stay internal (import them from store/).
export {
  DEFAULT_LIMITS,
  FileStore,
  type FileStoreOptions,
  MemoryStore,
  type MemoryStoreOptions,
  type OutgoingStore,
  type PublishToStore,
  type Qos0Message,
  type Qos0PushResult,
  Qos0Queue,
  type Qos0QueueOptions,
  StoreClosedError,
  type StoredProperties,
  type StoredPublish,
  type StoredState,
  StoreError,
  StoreFullError,
  StoreIoError,
  type StoreLimits,
  StoreLockedError,
  type StoreRecovery,
  type StoreStats,
  StoreVersionError,
} from './store/index.js';
export { isValidFilter, isValidTopic, TopicRouter, topicMatches } from './topic.js';
