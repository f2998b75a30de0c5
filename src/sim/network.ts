import {
  REGISTRATION_COMMANDS,
  type RegistrationDomain,
  registrationState,
} from '../modem/parse/registration.js';
import { hex } from './at-format.js';
import type {
  ResolvedSimConfig,
  SimAccessTechnology,
  SimOperator,
  SimRegistrationState,
  SimRegistrationUpdate,
} from './config.js';
import type { SimRegistrationSnapshot } from './state.js';

/** `<stat>` of 27.007 clause 7.2 for each registration outcome. */
const STAT: Readonly<Record<SimRegistrationState, number>> = {
  'not-registered': 0,
  home: 1,
  searching: 2,
  denied: 3,
  roaming: 5,
};

/**
 * `<AcT>` of 27.007 clause 7.3: 0 GSM, 2 UTRAN, 3 GSM w/EGPRS, 6 UTRAN w/HSDPA and HSUPA,
 * 7 E-UTRAN, 11 NR connected to 5GCN, 13 E-UTRAN-NR dual connectivity (how an NSA cell shows
 * outside +C5GREG).
 */
export function actNumber(act: SimAccessTechnology, domain?: RegistrationDomain): number {
  switch (act) {
    case 'gsm':
    case 'gprs':
      return 0;
    case 'umts':
      return 2;
    case 'edge':
      return 3;
    case 'hspa':
      return 6;
    case 'lte':
      return 7;
    case 'nr':
      return domain === '5gs' ? 11 : 13;
  }
}

/** Huawei `^MODE: <sys_mode>,<sys_submode>` (Huawei AT interface specification). */
function huaweiMode(act: SimAccessTechnology): string {
  switch (act) {
    case 'gsm':
      return '3,1';
    case 'gprs':
      return '3,2';
    case 'edge':
      return '3,3';
    case 'umts':
      return '5,4';
    case 'hspa':
      return '5,7';
    case 'lte':
    case 'nr':
      return '7';
  }
}

const isGeran = (act: SimAccessTechnology): boolean => act === 'gsm' || act === 'gprs' || act === 'edge';

interface Serving {
  state: SimRegistrationState;
  act: SimAccessTechnology;
  lac: number;
  tac: number;
  ci: number;
  operator: SimOperator;
}

/**
 * The radio side: functionality level (+CFUN, 27.007 clause 8.2), registration in each domain
 * (+CREG 7.2, +CGREG 10.1.20, +CEREG 10.1.22, +C5GREG 10.1.49) with their URCs, operator
 * selection (+COPS 7.3), packet domain attach (+CGATT 10.1.9) and signal quality (+CSQ 8.5,
 * +CESQ 8.69). Registration passes through `searching` for `registerAfterMs` before the
 * configured outcome applies. URC lines go to `urc`.
 */
export class Network {
  /** `+CFUN` level: 0 minimum, 1 full, 4 flight mode. */
  fun = 1;
  /** `+COPS` `<mode>`: 0 automatic, 1 manual, 2 deregistered. */
  copsMode: 0 | 1 | 2 = 0;
  /** `+COPS` `<format>` for the read command: 0 long, 1 short, 2 numeric. */
  copsFormat: 0 | 1 | 2 = 0;
  /** Detached from the packet domain by `AT+CGATT=0`. */
  psDetached = false;
  csq: number;
  ber: number;
  private readonly n: Record<RegistrationDomain, number> = { cs: 0, ps: 0, eps: 0, '5gs': 0 };
  private readonly target: Serving;
  private stat = 0;
  private registerAt: number | undefined;
  private readonly lastUrc: Partial<Record<RegistrationDomain, string>> = {};
  private lastMode = '^MODE: 0,0';

  constructor(
    private readonly config: ResolvedSimConfig['network'],
    private readonly urc: (line: string) => void,
    private readonly modeUrcs: boolean,
  ) {
    this.target = {
      state: config.registration,
      act: config.act,
      lac: config.lac,
      tac: config.tac,
      ci: config.ci,
      operator: { ...config.operator },
    };
    this.csq = config.csq;
    this.ber = config.ber;
  }

  get domains(): readonly RegistrationDomain[] {
    return this.config.domains;
  }

  get registered(): boolean {
    return this.stat === 1 || this.stat === 5;
  }

  /** Attached to the packet domain: registered and not detached with `+CGATT=0`. */
  get attached(): boolean {
    return this.registered && !this.psDetached;
  }

  get radioOn(): boolean {
    return this.fun === 1;
  }

  nextDeadline(): number | undefined {
    return this.registerAt;
  }

  tick(now: number): void {
    if (this.registerAt !== undefined && now >= this.registerAt) {
      this.registerAt = undefined;
      this.setStat(STAT[this.target.state]);
    }
  }

  /** Radio on with a usable SIM: search, then register after `registerAfterMs`. */
  start(now: number): void {
    if (this.fun !== 1 || this.copsMode === 2) return;
    this.setStat(2);
    this.registerAt = this.target.state === 'searching' ? undefined : now + this.config.registerAfterMs;
  }

  /** Radio off, SIM gone or deregistered: stat 0, nothing scheduled. */
  stop(): void {
    this.registerAt = undefined;
    this.setStat(0);
  }

  /** A change of the serving network that applies at once (when the radio can register). */
  update(update: SimRegistrationUpdate, canRegister: boolean): void {
    const { operator, ...rest } = update;
    for (const [key, value] of Object.entries(rest)) {
      if (value !== undefined) Object.assign(this.target, { [key]: value });
    }
    if (operator) this.target.operator = { ...this.target.operator, ...operator };
    if (!canRegister || this.fun !== 1 || this.copsMode === 2) {
      this.emitChanges();
      return;
    }
    this.registerAt = undefined;
    this.setStat(STAT[this.target.state]);
  }

  setSignal(csq: number, ber?: number): void {
    this.csq = csq;
    if (ber !== undefined) this.ber = ber;
  }

  /** `<n>` of a registration command; a URC follows only on the next change. */
  setN(domain: RegistrationDomain, n: number): void {
    this.n[domain] = n;
    this.lastUrc[domain] = n > 0 ? this.urcLine(domain) : undefined;
  }

  getN(domain: RegistrationDomain): number {
    return this.n[domain];
  }

  /** ATZ / AT&F: registration URCs off, automatic operator selection, long names. */
  resetSettings(): void {
    for (const d of Object.keys(this.n) as RegistrationDomain[]) this.setN(d, 0);
    this.copsFormat = 0;
  }

  /** Solicited `+CREG: <n>,<stat>[,"<lac>","<ci>",<AcT>]` (27.007 clause 7.2). */
  readLine(domain: RegistrationDomain): string {
    const n = this.n[domain];
    const stat = this.domainStat(domain);
    const base = `${REGISTRATION_COMMANDS[domain]}: ${n},${stat}`;
    return n >= 2 && (stat === 1 || stat === 5) ? `${base},${this.location(domain)}` : base;
  }

  /** Unsolicited `+CREG: <stat>` (n=1) or `+CREG: <stat>[,"<lac>","<ci>",<AcT>]` (n=2). */
  urcLine(domain: RegistrationDomain): string {
    const stat = this.domainStat(domain);
    const base = `${REGISTRATION_COMMANDS[domain]}: ${stat}`;
    return this.n[domain] >= 2 && (stat === 1 || stat === 5) ? `${base},${this.location(domain)}` : base;
  }

  /** `+COPS: <mode>[,<format>,"<oper>",<AcT>]` (27.007 clause 7.3). */
  copsRead(): string {
    if (!this.registered) return `+COPS: ${this.copsMode}`;
    const t = this.target;
    const oper = [t.operator.long, t.operator.short, t.operator.numeric][this.copsFormat];
    return `+COPS: ${this.copsMode},${this.copsFormat},"${oper}",${actNumber(t.act)}`;
  }

  /** `+COPS: (<stat>,"long","short","numeric",<AcT>),...,,(modes),(formats)`. */
  copsTest(): string {
    const t = this.target;
    const serving = `(${this.registered ? 2 : 1},"${t.operator.long}","${t.operator.short}","${t.operator.numeric}",${actNumber(t.act)})`;
    const others = this.config.otherNetworks.map(
      (o) => `(${o.stat},"${o.long}","${o.short}","${o.numeric}",${actNumber(o.act)})`,
    );
    return `+COPS: ${[serving, ...others].join(',')},,(0,1,2,3,4),(0,1,2)`;
  }

  /** Whether `oper` (in `format`) names the serving network, for manual selection. */
  isServing(format: number, oper: string): boolean {
    const o = this.target.operator;
    return [o.long, o.short, o.numeric][format] === oper;
  }

  /** `+CSQ: <rssi>,<ber>` (27.007 clause 8.5); 99,99 with the radio off. */
  csqLine(): string {
    return this.fun === 1 ? `+CSQ: ${this.csq},${this.ber}` : '+CSQ: 99,99';
  }

  /**
   * `+CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>` (27.007 clause 8.69), the serving
   * RAT's fields derived from the CSQ level, the others "not known" (99 / 255).
   */
  cesqLine(): string {
    if (this.fun !== 1 || this.csq === 99) return '+CESQ: 99,99,255,255,255,255';
    const dbm = -113 + 2 * this.csq;
    const act = this.target.act;
    if (isGeran(act)) return `+CESQ: ${clamp(dbm + 111, 0, 63)},${this.ber},255,255,255,255`;
    if (act === 'umts' || act === 'hspa') return `+CESQ: 99,99,${clamp(dbm + 121, 0, 96)},37,255,255`;
    // RSRP is roughly RSSI less 20 dB on a loaded 20 MHz carrier; RSRQ a steady -10 dB.
    return `+CESQ: 99,99,255,255,20,${clamp(dbm - 20 + 141, 0, 97)}`;
  }

  /** Huawei `^RSSI: <rssi>`. */
  rssiLine(): string {
    return `^RSSI: ${this.fun === 1 ? this.csq : 99}`;
  }

  snapshot(): SimRegistrationSnapshot {
    const t = this.target;
    return {
      stat: this.stat,
      state: registrationState(this.stat),
      act: t.act,
      lac: t.lac,
      tac: t.tac,
      ci: t.ci,
      operator: { ...t.operator },
      fun: this.fun,
      n: { ...this.n },
    };
  }

  /**
   * `<stat>` of one domain. The CS and PS domains follow the overall state; EPS only counts
   * as registered on E-UTRAN (or an NSA NR cell), 5GS only on NR: elsewhere those show 0.
   */
  private domainStat(domain: RegistrationDomain): number {
    const registered = this.stat === 1 || this.stat === 5;
    if (!registered) return this.stat;
    const act = this.target.act;
    if (domain === 'eps' && act !== 'lte' && act !== 'nr') return 0;
    if (domain === '5gs' && act !== 'nr') return 0;
    return this.stat;
  }

  /**
   * `"<lac>","<ci>",<AcT>`: 4 hex digits of LAC (GERAN/UTRAN) or TAC (E-UTRAN/NR; 6 digits in
   * +C5GREG); ci 4 hex digits on GSM, 8 elsewhere.
   */
  private location(domain: RegistrationDomain): string {
    const t = this.target;
    const onTa = t.act === 'lte' || t.act === 'nr';
    const area = onTa ? hex(t.tac, domain === '5gs' ? 6 : 4) : hex(t.lac, 4);
    const ci = hex(t.ci, isGeran(t.act) ? 4 : 8);
    return `"${area}","${ci}",${actNumber(t.act, domain)}`;
  }

  private setStat(stat: number): void {
    this.stat = stat;
    this.emitChanges();
  }

  /** Sends each enabled domain's URC whose text changed, then Huawei `^MODE` if enabled. */
  private emitChanges(): void {
    for (const domain of this.config.domains) {
      if (this.n[domain] === 0) continue;
      const line = this.urcLine(domain);
      if (line === this.lastUrc[domain]) continue;
      this.lastUrc[domain] = line;
      this.urc(line);
    }
    if (this.modeUrcs) {
      const mode = `^MODE: ${this.registered ? huaweiMode(this.target.act) : '0,0'}`;
      if (mode !== this.lastMode) {
        this.lastMode = mode;
        this.urc(mode);
      }
    }
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
