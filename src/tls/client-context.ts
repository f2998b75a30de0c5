import { type KeyObject, randomBytes } from 'node:crypto';
import { AlertDescription, AlertLevel, type AlertName } from './alerts.js';
import { type CipherSuite, selectSuites } from './cipher-suites.js';
import type { TlsClientConfig, TlsClientEvent, TlsCoreStats } from './client-types.js';
import { ContentType, TLS12 } from './constants.js';
import type { ServerExtensions } from './extensions.js';
import { frameHandshake } from './handshake.js';
import type { KeyShare } from './key-exchange.js';
import type { CertificateRequest } from './messages.js';
import { Transcript } from './prf.js';
import { RecordLayer } from './record.js';
import type { DirectionKeys } from './record-protection.js';
import type { TlsSession } from './session.js';

/** Where the client is in RFC 5246 7.3's figures 1 (full) and 2 (abbreviated). */
export type ClientState =
  | 'start'
  | 'wait_server_hello'
  | 'wait_certificate'
  | 'wait_server_key_exchange'
  | 'wait_certificate_request_or_done'
  | 'wait_server_hello_done'
  | 'wait_new_session_ticket'
  | 'wait_change_cipher_spec'
  | 'wait_finished'
  | 'connected'
  | 'closed';

/**
 * One connection's state, shared by the handshake steps (client-hello, server-flight,
 * client-flight, finished, resumption) and the `TlsClientCore` façade: the record layer, the
 * transcript, what each side said so far, and the queues of records to send and events.
 */
export class ClientContext {
  state: ClientState = 'start';
  readonly records = new RecordLayer();
  readonly transcript = new Transcript();
  readonly suites: readonly CipherSuite[];
  readonly random: (n: number) => Uint8Array;
  readonly requireEms: boolean;
  /** The latest `now` given to the core (ms). */
  now = 0;
  output: Buffer[] = [];
  events: TlsClientEvent[] = [];
  readonly stats: TlsCoreStats = {
    recordsIn: 0,
    recordsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    alertsSent: 0,
    alertsReceived: 0,
  };

  // ClientHello
  clientRandom: Buffer = Buffer.alloc(0);
  sentSessionId: Buffer = Buffer.alloc(0);
  offeredExtensions = new Set<number>();
  /** The session offered for resumption, if any. */
  offered: TlsSession | undefined;

  // ServerHello .. ServerHelloDone
  serverRandom: Buffer = Buffer.alloc(0);
  suite: CipherSuite | undefined;
  ext: ServerExtensions | undefined;
  serverSessionId: Buffer = Buffer.alloc(0);
  peerChain: Buffer[] = [];
  peerKey: KeyObject | undefined;
  clientShare: KeyShare | undefined;
  preMasterSecret: Buffer | undefined;
  certRequest: CertificateRequest | undefined;

  // Our flight, and after
  master: Buffer | undefined;
  certificateSent = false;
  resumed = false;
  newTicket: { ticket: Buffer; lifetime: number } | undefined;
  /** Both directions' keys, cut from the key_block once and dropped when connected (key-schedule.ts). */
  keys: { client: DirectionKeys; server: DirectionKeys } | undefined;

  constructor(readonly config: TlsClientConfig) {
    this.suites = config.cipherSuites ?? selectSuites(undefined, false);
    if (this.suites.length === 0) throw new RangeError('no cipher suites to offer');
    this.random = config.random ?? ((n) => randomBytes(n));
    this.requireEms = config.requireExtendedMasterSecret ?? true;
  }

  /**
   * Protects `data` (one buffer or pieces of one stream) as records of `type` with the current
   * write state and queues them: one Buffer, which nobody changes once queued.
   */
  emitRecords(type: number, data: Uint8Array | readonly Uint8Array[], version = TLS12): void {
    const { bytes, records } = this.records.emit(type, data, version);
    this.output.push(bytes);
    this.stats.recordsOut += records;
    this.stats.bytesOut += bytes.length;
  }

  /** Frames a handshake message, hashes it into the transcript, and queues it. */
  sendHandshake(type: number, body: Uint8Array, recordVersion = TLS12): void {
    const raw = frameHandshake(type, body);
    this.transcript.add(raw);
    this.emitRecords(ContentType.handshake, raw, recordVersion);
  }

  sendAlert(name: AlertName, level: 'warning' | 'fatal'): void {
    try {
      this.emitRecords(ContentType.alert, Buffer.from([AlertLevel[level], AlertDescription[name]]));
      this.stats.alertsSent++;
    } catch {
      // The write state cannot protect anymore (sequence exhausted): nothing more to say.
    }
  }

  /** Ends the connection with `error`, after sending `alert` (fatal) if one is given. */
  terminate(error: Error, alert?: AlertName): void {
    if (this.state === 'closed') return;
    if (alert) this.sendAlert(alert, 'fatal');
    this.state = 'closed';
    this.events.push({ type: 'error', error });
  }
}
