import { EventEmitter } from 'node:events';
import { type Clock, sleep, systemClock } from '../util/clock.js';
import { createLogger } from '../util/log.js';
import { AtChannel, type AtChannelOptions, type CommandOptions } from './channel.js';
import type { AtChannelStats, AtResponse } from './channel-core.js';
import { CallControl } from './data-call.js';
import type { DataStream } from './data-stream.js';
import { ModemError } from './errors.js';
import { parseIccid, parseIdentityText, parseImei, parseImsi } from './parse/identity.js';
import { parseCopsQuery } from './parse/operator.js';
import { parseCgatt, parseCgdcont } from './parse/pdp.js';
import {
  parseRegistration,
  REGISTRATION_COMMANDS,
  type Registration,
  type RegistrationDomain,
} from './parse/registration.js';
import { parseCesq, parseCsq } from './parse/signal.js';
import { type PinRetries, parseCpin } from './parse/sim.js';
import type { ModemPort } from './port.js';
import {
  type ModemIdentity,
  type ModemInfo,
  type OperatorInfo,
  type RegistrationSummary,
  type SignalInfo,
  summariseRegistration,
} from './summary.js';
import type { Urc } from './urc.js';
import {
  GENERIC,
  profileByName,
  profileForManufacturer,
  type VendorName,
  type VendorProfile,
} from './vendors.js';

const log = createLogger('modem');

export interface ModemOptions {
  clock?: Clock;
  /** Vendor profile, or `auto` (default) to pick one from the +CGMI answer. */
  profile?: VendorName | VendorProfile | 'auto';
  /**
   * Escape guard time: S12 of the Hayes `+++` escape (in 1/50 s; modems default to 50, 1 s).
   * V.250 leaves the escape out; every vendor's AT manual documents it.
   */
  escapeGuardMs?: number;
  /** Default per-command timeout (commands with known long durations get more). */
  commandTimeoutMs?: number;
  /** How often DCD is read in data mode where the port reports it; 0 turns it off. */
  dcdPollMs?: number;
  /** Channel limits (line length, URC table). */
  channel?: Omit<AtChannelOptions, 'clock'>;
}

export interface UnlockOptions {
  /**
   * Send the PIN even when only one attempt is left, or when the modem does not report the
   * number of attempts. Without it the driver refuses, so that it can never lock a SIM.
   */
  force?: boolean;
}

export interface RegistrationWaitOptions {
  /** Give up after this long (default 120 s). */
  timeoutMs?: number;
  /** Poll the registration as a fallback for modems that miss URCs (default 5 s). */
  pollMs?: number;
  /** How long a `denied` state must last before it is an error (default 5 s). */
  deniedGraceMs?: number;
  signal?: AbortSignal;
}

export interface ApnOptions {
  /** PDP context identifier (default 1). */
  cid?: number;
  /** `IP` (default), `IPV6` or `IPV4V6`. */
  pdpType?: string;
}

export interface DialOptions {
  cid?: number;
  /** Full dial command, instead of the profile's `ATD*99***<cid>#`. */
  command?: string;
  timeoutMs?: number;
}

export interface ModemEvents {
  urc: [Urc];
  registration: [RegistrationSummary];
  'sim-state': [string];
  signal: [{ rssiDbm: number | null; bars: number }];
  ready: [];
  /** The data call ended without our hang-up (`NO CARRIER`, DCD dropped). */
  'carrier-lost': [];
  close: [];
}

/**
 * A cellular modem driven by AT commands (3GPP TS 27.007, ITU-T V.250): synchronisation,
 * identity, SIM PIN, registration, signal, APN, attach, dial and hang-up.
 */
export class Modem extends EventEmitter<ModemEvents> {
  readonly channel: AtChannel;
  private profileValue: VendorProfile;
  private readonly autoProfile: boolean;
  private readonly clock: Clock;
  private readonly domains: Partial<Record<RegistrationDomain, Registration>> = {};
  private readonly unsupported = new Set<string>();
  private pinRejected = false;
  private reportsEnabled = false;
  private pinRetryQuery: number | undefined;
  private readonly call: CallControl;
  private closed = false;

  constructor(
    readonly port: ModemPort,
    options: ModemOptions = {},
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    const p = options.profile ?? 'auto';
    this.autoProfile = p === 'auto';
    this.profileValue = p === 'auto' ? GENERIC : typeof p === 'string' ? profileByName(p) : p;
    const channelOptions: AtChannelOptions = { ...options.channel, clock: this.clock };
    if (options.commandTimeoutMs !== undefined) channelOptions.defaultTimeoutMs = options.commandTimeoutMs;
    this.channel = new AtChannel(port.stream, channelOptions);
    this.call = new CallControl({
      port,
      channel: this.channel,
      clock: this.clock,
      guardMs: options.escapeGuardMs ?? 1000,
      dcdPollMs: options.dcdPollMs ?? 1000,
      sync: (o) => this.sync(o),
      optional: (cmd) => this.optional(cmd),
    });
    this.channel.on('urc', (urc) => this.onUrc(urc));
    this.channel.on('carrier-lost', () => {
      this.call.stopWatching();
      this.emit('carrier-lost');
    });
    this.channel.on('close', () => {
      this.call.stopWatching();
      if (!this.closed) this.emit('close');
    });
  }

  get profile(): VendorProfile {
    return this.profileValue;
  }

  /** Whether a data call is up (the channel is in data mode). */
  get inDataMode(): boolean {
    return this.channel.mode === 'data';
  }

  /** Counters of the AT channel (one object, as every layer's `stats()`). */
  stats(): { at: AtChannelStats } {
    return { at: this.channel.stats() };
  }

  /** Sends one AT command line. See `AtChannel.command`. */
  command(text: string, options?: CommandOptions): Promise<AtResponse> {
    return this.channel.command(text, options);
  }

  /**
   * Brings the modem to a known command state: `AT` until it answers; if it stays silent
   * it may have been left in data mode by a crashed process, so DTR is dropped (where the
   * port can) or the `+++` escape is sent with its guard times, and the call hung up.
   */
  async sync(options: { attempts?: number; timeoutMs?: number } = {}): Promise<void> {
    const attempts = options.attempts ?? 3;
    const timeoutMs = options.timeoutMs ?? 1000;
    if (this.inDataMode) {
      await this.hangUp();
      return;
    }
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < attempts; i++) {
        try {
          await this.channel.command('AT', { timeoutMs });
          return;
        } catch (err) {
          if (!(err instanceof ModemError)) throw err;
          if (err.code === 'CLOSED') throw err;
          // ERROR means the modem is alive but had junk in its buffer: try again at once.
          log('sync: %s', err.code);
        }
      }
      if (round === 0) await this.call.recover();
    }
    throw new ModemError('NOT_RESPONDING', `the modem on ${this.port.path} does not answer AT`);
  }

  /**
   * Synchronises and prepares the modem: echo off (ATE0), verbose errors (+CMEE=2), the
   * vendor profile (chosen from +CGMI unless given) and its init commands.
   */
  async initialize(): Promise<void> {
    await this.sync();
    await this.optional('ATE0');
    await this.optional('AT+CMEE=2');
    if (this.autoProfile) {
      const manufacturer = await this.tolerant(async () =>
        parseIdentityText((await this.command('AT+CGMI')).lines, '+CGMI'),
      );
      this.profileValue = profileForManufacturer(manufacturer);
      log('profile: %s (%s)', this.profileValue.name, manufacturer ?? 'no +CGMI');
    }
    for (const cmd of this.profileValue.init) await this.optional(cmd);
  }

  async identity(): Promise<ModemIdentity> {
    const text = (cmd: string, name: string) =>
      this.tolerant(async () => parseIdentityText((await this.command(cmd)).lines, name));
    const manufacturer = await text('AT+CGMI', '+CGMI');
    const model = await text('AT+CGMM', '+CGMM');
    const revision = await text('AT+CGMR', '+CGMR');
    const imei = await this.tolerant(async () => parseImei((await this.command('AT+CGSN')).lines));
    return { manufacturer, model, revision, imei };
  }

  /**
   * The SIM state as +CPIN? reports it (`READY`, `SIM PIN`, `SIM PUK`, ...). A missing or
   * failed SIM, which modems report as +CME ERROR 10/13/15, reads `NOT INSERTED`,
   * `SIM FAILURE` or `SIM WRONG`. A busy SIM (CME 14, right after power-up) is asked again.
   */
  async simState(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.command('AT+CPIN?');
        for (const line of r.lines) {
          const s = parseCpin(line);
          if (s !== undefined) return s;
        }
        throw new ModemError('UNEXPECTED_RESPONSE', 'AT+CPIN? gave no +CPIN line', { command: 'AT+CPIN?' });
      } catch (err) {
        if (!(err instanceof ModemError) || err.code !== 'CME_ERROR') throw err;
        switch (err.cmeCause) {
          case 10:
            return 'NOT INSERTED';
          case 13:
            return 'SIM FAILURE';
          case 15:
            return 'SIM WRONG';
          case 14:
            if (attempt < 5) {
              await sleep(this.clock, 1000);
              continue;
            }
            return 'SIM BUSY';
          default:
            throw err;
        }
      }
    }
  }

  /** PIN/PUK attempts left, from the first retry-counter command the modem knows. */
  async pinRetries(): Promise<PinRetries | null> {
    const queries = this.profileValue.pinRetries;
    const order = this.pinRetryQuery === undefined ? queries.map((_, i) => i) : [this.pinRetryQuery];
    for (const i of order) {
      const q = queries[i]!;
      if (this.unsupported.has(q.command)) continue;
      try {
        const r = await this.command(q.command, q.expect ? { expect: q.expect } : {});
        const parsed = q.parse(r.lines);
        if (parsed) {
          this.pinRetryQuery = i;
          return parsed;
        }
      } catch (err) {
        if (!isCommandRejection(err)) throw err;
        this.unsupported.add(q.command);
      }
    }
    return null;
  }

  /**
   * Unlocks the SIM with its PIN if it asks for one. The PIN is sent at most once per
   * `Modem`: a rejected PIN is never sent again, and the PIN is not sent at all when the
   * modem reports one attempt left (or cannot say) unless `force` is set. A SIM that wants
   * its PUK is left alone. The PIN never appears in a log line or an error.
   */
  async unlock(pin?: string, options: UnlockOptions = {}): Promise<void> {
    const state = await this.simState();
    if (state === 'READY') return;
    if (state === 'NOT INSERTED') throw new ModemError('SIM_NOT_INSERTED', 'no SIM card is inserted');
    if (state === 'SIM FAILURE' || state === 'SIM WRONG' || state === 'SIM BUSY') {
      throw new ModemError('SIM_FAILURE', `the SIM is not usable: ${state}`);
    }
    if (state === 'SIM PUK') {
      throw new ModemError(
        'SIM_PUK_REQUIRED',
        'the SIM is blocked and needs its PUK; cellstack does not enter PUKs',
      );
    }
    if (state !== 'SIM PIN')
      throw new ModemError('SIM_LOCKED', `the SIM asks for ${state}, which cellstack cannot enter`);
    if (this.pinRejected) {
      throw new ModemError('PIN_REJECTED', 'the SIM already rejected the PIN; it is not sent again');
    }
    if (pin === undefined || pin.length === 0) {
      throw new ModemError('SIM_PIN_REQUIRED', 'the SIM needs a PIN (give --pin or CELLSTACK_PIN)');
    }
    if (!/^\d{4,8}$/.test(pin)) {
      throw new ModemError('BAD_CONFIG', 'a SIM PIN is 4 to 8 digits (3GPP TS 31.101 clause 9)');
    }
    const retries = await this.pinRetries();
    const left = retries?.pin ?? null;
    if (!options.force) {
      if (left === null) {
        throw new ModemError(
          'PIN_RETRIES_UNKNOWN',
          'the modem does not report how many PIN attempts are left; not sending the PIN (use force to send it anyway)',
        );
      }
      if (left <= 1) {
        throw new ModemError(
          'PIN_LAST_ATTEMPT',
          `only ${left} PIN attempt${left === 1 ? '' : 's'} left; not sending the PIN (use force to send it anyway)`,
        );
      }
    }
    this.port.addSecret?.(pin);
    this.channel.addSecret(pin);
    try {
      await this.command(`AT+CPIN="${pin}"`, { display: 'AT+CPIN="****"', secrets: [pin] });
    } catch (err) {
      this.pinRejected = true;
      if (err instanceof ModemError && (err.code === 'TIMEOUT' || err.code === 'CLOSED')) throw err;
      const after = await this.pinRetries().catch(() => null);
      const rest = after?.pin ?? null;
      const cause = err instanceof ModemError ? err.cmeCause : undefined;
      throw new ModemError(
        'PIN_REJECTED',
        `the SIM rejected the PIN${rest === null ? '' : ` (${rest} attempt${rest === 1 ? '' : 's'} left)`}`,
        cause === undefined ? { error: err } : { error: err, cause },
      );
    }
    // The SIM takes a moment to become ready after the PIN (and may report SIM BUSY).
    for (let i = 0; i < 20; i++) {
      const s = await this.simState().catch(() => 'UNKNOWN');
      if (s === 'READY') return;
      await sleep(this.clock, 500);
    }
    throw new ModemError('SIM_FAILURE', 'the SIM accepted the PIN but did not become ready');
  }

  async imsi(): Promise<string | null> {
    return this.tolerant(async () => parseImsi((await this.command('AT+CIMI')).lines));
  }

  async iccid(): Promise<string | null> {
    for (const q of this.profileValue.iccid) {
      if (this.unsupported.has(q.command)) continue;
      try {
        const r = await this.command(q.command, q.expect ? { expect: q.expect } : {});
        const id = parseIccid(r.lines);
        if (id) return id;
      } catch (err) {
        if (!isCommandRejection(err)) throw err;
        // A SIM problem (CME 10-15) is no reason to think the command is unknown.
        if (
          !(
            err instanceof ModemError &&
            err.cmeCause !== undefined &&
            err.cmeCause >= 10 &&
            err.cmeCause <= 18
          )
        ) {
          this.unsupported.add(q.command);
        }
      }
    }
    return null;
  }

  /**
   * Queries every registration domain the modem knows (+CREG?, +CGREG?, +CEREG?, +C5GREG?).
   * The first call sets `<n>`=2 on each, so that answers and URCs carry the area code and
   * cell identity (modems start with `<n>`=0, which says only the state).
   */
  async registration(): Promise<RegistrationSummary> {
    await this.enableRegistrationReports();
    for (const domain of Object.keys(REGISTRATION_COMMANDS) as RegistrationDomain[]) {
      const name = REGISTRATION_COMMANDS[domain];
      const cmd = `AT${name}?`;
      if (this.unsupported.has(cmd)) continue;
      try {
        const r = await this.command(cmd);
        for (const line of r.lines) {
          const reg = parseRegistration(line, 'solicited');
          if (reg && reg.domain === domain) this.domains[domain] = reg;
        }
      } catch (err) {
        if (!isCommandRejection(err)) throw err;
        this.unsupported.add(cmd);
      }
    }
    return summariseRegistration(this.domains);
  }

  private async enableRegistrationReports(): Promise<void> {
    if (this.reportsEnabled) return;
    this.reportsEnabled = true;
    for (const domain of Object.keys(REGISTRATION_COMMANDS) as RegistrationDomain[]) {
      const name = REGISTRATION_COMMANDS[domain];
      try {
        await this.command(`AT${name}=2`);
      } catch (err) {
        if (!isCommandRejection(err)) throw err;
        log('AT%s=2 not accepted: %s', name, (err as Error).message);
      }
    }
  }

  /** The last known registration, from queries and URCs, without asking the modem. */
  get lastRegistration(): RegistrationSummary {
    return summariseRegistration(this.domains);
  }

  /**
   * Waits until the modem is registered (home or roaming), driven by +CREG/+CGREG/+CEREG
   * URCs (enabled here with `<n>`=2) and a slow poll for modems that miss them. Rejects with
   * `REGISTRATION_DENIED` when the network keeps refusing, `REGISTRATION_TIMEOUT` otherwise.
   */
  async waitForRegistration(options: RegistrationWaitOptions = {}): Promise<RegistrationSummary> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const pollMs = options.pollMs ?? 5000;
    const graceMs = options.deniedGraceMs ?? 5000;
    const start = this.clock.now();
    let deniedSince: number | undefined;
    let summary = await this.registration();
    for (;;) {
      if (summary.state === 'home' || summary.state === 'roaming') return summary;
      const now = this.clock.now();
      if (summary.state === 'denied') {
        deniedSince ??= now;
        if (now - deniedSince >= graceMs) {
          throw new ModemError(
            'REGISTRATION_DENIED',
            `the network denied registration (${describeDomains(summary)})`,
          );
        }
      } else {
        deniedSince = undefined;
      }
      const left = timeoutMs - (now - start);
      if (left <= 0) {
        throw new ModemError(
          'REGISTRATION_TIMEOUT',
          `not registered after ${Math.round(timeoutMs / 1000)} s (${summary.state}; ${describeDomains(summary)})`,
        );
      }
      const wait = Math.min(left, deniedSince === undefined ? pollMs : Math.min(pollMs, graceMs));
      const changed = await this.nextRegistrationEvent(wait, options.signal);
      summary = changed ?? (await this.registration());
    }
  }

  /** Signal quality from +CSQ (and +CESQ where the modem has it). */
  async signal(): Promise<SignalInfo> {
    const csq = await this.tolerant(async () => {
      const r = await this.command('AT+CSQ');
      for (const l of r.lines) {
        const v = parseCsq(l);
        if (v) return v;
      }
      return null;
    });
    let cesq = null;
    if (!this.unsupported.has('AT+CESQ')) {
      try {
        const r = await this.command('AT+CESQ');
        for (const l of r.lines) cesq ??= parseCesq(l) ?? null;
      } catch (err) {
        if (!isCommandRejection(err)) throw err;
        this.unsupported.add('AT+CESQ');
      }
    }
    return { rssiDbm: csq?.rssiDbm ?? null, bars: csq?.bars ?? 0, csq, cesq };
  }

  /** The registered operator's long name and MCC/MNC (+COPS? in numeric and long format). */
  async operator(): Promise<OperatorInfo> {
    const read = async () => {
      const r = await this.command('AT+COPS?');
      for (const l of r.lines) {
        const v = parseCopsQuery(l);
        if (v) return v;
      }
      return undefined;
    };
    let mccmnc: string | null = null;
    let name: string | null = null;
    let act = null;
    const numeric = await this.tolerant(async () => {
      await this.command('AT+COPS=3,2');
      return (await read()) ?? null;
    });
    if (numeric?.operator && /^\d{5,6}$/.test(numeric.operator)) mccmnc = numeric.operator;
    act = numeric?.act ?? null;
    const long = await this.tolerant(async () => {
      await this.command('AT+COPS=3,0');
      return (await read()) ?? null;
    });
    if (long?.operator && long.format !== 2) name = long.operator;
    act ??= long?.act ?? null;
    return { name, mccmnc, act };
  }

  /**
   * Defines the PDP context's APN (+CGDCONT, 27.007 clause 10.1.1). The context is read
   * first and only written when it differs: many modems keep it in flash.
   */
  async setApn(apn: string, options: ApnOptions = {}): Promise<void> {
    const cid = options.cid ?? 1;
    const pdpType = (options.pdpType ?? 'IP').toUpperCase();
    // 3GPP TS 23.003 clause 9.1: labels of letters, digits and hyphens, separated by dots, at most 100 octets.
    if (apn.length > 100 || !/^[A-Za-z0-9.\-_]*$/.test(apn)) {
      throw new ModemError('BAD_CONFIG', `not a valid APN: ${JSON.stringify(apn.slice(0, 120))}`);
    }
    if (!Number.isInteger(cid) || cid < 1 || cid > 24)
      throw new ModemError('BAD_CONFIG', `not a valid context id: ${cid}`);
    if (!/^(IP|IPV6|IPV4V6|PPP)$/.test(pdpType))
      throw new ModemError('BAD_CONFIG', `not a PDP type: ${pdpType}`);
    const current = await this.tolerant(async () => parseCgdcont((await this.command('AT+CGDCONT?')).lines));
    const ctx = current?.find((c) => c.cid === cid);
    if (ctx && ctx.apn.toLowerCase() === apn.toLowerCase() && ctx.pdpType === pdpType) {
      log('context %d already has APN %s', cid, apn);
      return;
    }
    await this.command(`AT+CGDCONT=${cid},"${pdpType}","${apn}"`);
  }

  /** Attaches to the packet domain (+CGATT=1) unless already attached. */
  async attach(): Promise<void> {
    const attached = await this.tolerant(async () => {
      const r = await this.command('AT+CGATT?');
      for (const l of r.lines) {
        const v = parseCgatt(l);
        if (v !== undefined) return v;
      }
      return null;
    });
    if (attached) return;
    try {
      await this.command('AT+CGATT=1');
    } catch (err) {
      if (err instanceof ModemError && err.code !== 'CLOSED') {
        throw new ModemError('ATTACH_FAILED', `packet domain attach failed: ${err.message}`, {
          error: err,
          ...(err.cmeCause === undefined ? {} : { cause: err.cmeCause }),
        });
      }
      throw err;
    }
  }

  /**
   * Dials the packet data call (`ATD*99***<cid>#`). On `CONNECT` the channel is in data
   * mode and the returned stream carries PPP, starting with any bytes that came in the same
   * read as `CONNECT`.
   */
  async dial(options: DialOptions = {}): Promise<DataStream> {
    if (this.inDataMode) throw new ModemError('BUSY_CHANNEL', 'a data call is already up');
    const cid = options.cid ?? 1;
    const cmd = options.command ?? this.profileValue.dialCommand(cid);
    const r = await this.command(cmd, { timeoutMs: options.timeoutMs ?? 60_000, abortOnCancel: true });
    const data = this.channel.dataStream;
    if (r.final.kind !== 'CONNECT' || !data) {
      throw new ModemError('DIAL_FAILED', `${cmd} answered ${r.final.text}, not CONNECT`, { command: cmd });
    }
    log('connected: %s', r.final.text);
    this.call.watchCarrier();
    return data;
  }

  /**
   * Ends the data call and verifies that the modem answers AT again: by dropping DTR where
   * the port supports it (V.250 clause 6.2.9, &D2), otherwise with the `+++` escape (guard time, `+++`,
   * guard time) and `ATH`.
   */
  async hangUp(): Promise<void> {
    this.call.stopWatching();
    if (!this.inDataMode) {
      await this.optional('ATH');
      return;
    }
    await this.call.hangUp();
  }

  /**
   * Restarts the modem as at power-on: `AT+CFUN=1,1` (27.007 clause 8.2: full functionality,
   * reset first), `AT+CFUN=16` on u-blox modems, whose manuals reserve 1,1 and document 16 as
   * the reset. A USB modem then leaves the bus and comes back after some seconds, so the caller
   * closes the port and opens it again later. Resolves on the OK (or when the modem is already
   * gone); the SIM asks for its PIN again afterwards.
   */
  async reset(): Promise<void> {
    if (this.inDataMode) await this.hangUp();
    const command = this.profileValue.name === 'ublox' ? 'AT+CFUN=16' : 'AT+CFUN=1,1';
    log('reset: %s', command);
    try {
      await this.channel.command(command, { timeoutMs: 15_000 });
    } catch (err) {
      // The port may vanish before the OK arrives: that is the reset working.
      if (err instanceof ModemError && err.code === 'CLOSED') return;
      throw err;
    }
  }

  /** Identity, SIM, registration, signal and operator in one object (`cellstack info`). */
  async info(): Promise<ModemInfo> {
    const id = await this.identity();
    const sim = await this.tolerant(() => this.simState());
    const imsi = sim === 'READY' ? await this.imsi() : null;
    const iccid = await this.iccid();
    const reg = await this.registration();
    const sig = await this.signal();
    const op = reg.state === 'home' || reg.state === 'roaming' ? await this.operator() : null;
    return {
      manufacturer: id.manufacturer,
      model: id.model,
      revision: id.revision,
      imei: id.imei,
      imsi,
      iccid,
      sim,
      registration: { state: reg.state, act: reg.act ?? op?.act ?? null, lac: reg.lac, ci: reg.ci },
      signal: { rssiDbm: sig.rssiDbm, bars: sig.bars },
      operator: { name: op?.name ?? null, mccmnc: op?.mccmnc ?? null },
    };
  }

  /** Hangs up if a call is up, detaches the channel and closes the port. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.inDataMode && !this.channel.isClosed) {
      await this.hangUp().catch((err: unknown) => log('hang-up on close failed: %s', (err as Error).message));
    }
    this.closed = true;
    this.call.stopWatching();
    this.channel.detach();
    await this.port.close();
    this.emit('close');
  }

  private nextRegistrationEvent(ms: number, signal?: AbortSignal): Promise<RegistrationSummary | undefined> {
    return new Promise((resolve, reject) => {
      const done = (v: RegistrationSummary | undefined): void => {
        this.clock.clearTimer(timer);
        this.off('registration', onReg);
        this.channel.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onReg = (s: RegistrationSummary): void => done(s);
      const onClose = (): void => {
        done(undefined);
      };
      const onAbort = (): void => {
        this.clock.clearTimer(timer);
        this.off('registration', onReg);
        this.channel.off('close', onClose);
        reject(new ModemError('CANCELLED', 'waiting for registration was cancelled'));
      };
      const timer = this.clock.setTimer(() => done(undefined), ms);
      this.on('registration', onReg);
      this.channel.on('close', onClose);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private onUrc(urc: Urc): void {
    this.emit('urc', urc);
    switch (urc.kind) {
      case 'registration':
        this.domains[urc.domain] = urc.registration;
        this.emit('registration', summariseRegistration(this.domains));
        break;
      case 'sim-state':
        this.emit('sim-state', urc.state);
        break;
      case 'signal':
        this.emit('signal', { rssiDbm: urc.rssiDbm, bars: urc.bars });
        break;
      case 'modem-ready':
        this.emit('ready');
        break;
      default:
        break;
    }
  }

  /** Runs a command whose failure does not matter (a setting some modems lack). */
  private async optional(cmd: string): Promise<void> {
    try {
      await this.command(cmd);
    } catch (err) {
      if (!isCommandRejection(err)) throw err;
      log('%s not accepted: %s', cmd, (err as Error).message);
    }
  }

  /** Runs a query; a modem that rejects it gives `null`, a silent or closed modem throws. */
  private async tolerant<T>(fn: () => Promise<T | null>): Promise<T | null> {
    try {
      return await fn();
    } catch (err) {
      if (isCommandRejection(err)) return null;
      throw err;
    }
  }
}

/** The modem answered, but with an error: the command is unknown, unsupported or refused. */
function isCommandRejection(err: unknown): boolean {
  return (
    err instanceof ModemError &&
    (err.code === 'ERROR' ||
      err.code === 'CME_ERROR' ||
      err.code === 'CMS_ERROR' ||
      err.code === 'UNEXPECTED_RESPONSE')
  );
}

function describeDomains(s: RegistrationSummary): string {
  const parts = (Object.keys(s.domains) as RegistrationDomain[]).map(
    (d) => `${REGISTRATION_COMMANDS[d]} ${s.domains[d]!.state}`,
  );
  return parts.length > 0 ? parts.join(', ') : 'no registration reported';
}
