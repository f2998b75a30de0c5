import { readFileSync } from 'node:fs';
import { shQuote } from './shell.js';

/**
 * Test services that run inside the UML guest, bound to the peer's PPP address so that only
 * the PPP client can reach them. Each is a foreground command the guest restarts (a bounded
 * number of times) if it exits. The Python services (echo, discard, chargen, source, sink,
 * http, tls-echo) share one process: python3 starts slowly in UML. A new service is one more
 * entry in SERVICES (or PYTHON_SERVICES) plus its name in UmlService. 'mqtts-alpn' is a
 * python3 process of its own (mqtt-alpn-relay.py) in front of mosquitto's 1883.
 */
export type UmlService =
  | 'dns'
  | 'echo'
  | 'discard'
  | 'chargen'
  | 'source'
  | 'sink'
  | 'http'
  | 'tls'
  | 'tls-echo'
  | 'hello-request'
  | 'mqtt'
  | 'mqtts'
  | 'mqtts-mutual'
  | 'mqtts-alpn'
  | 'mqtt-sub';

export const UML_SERVICES: readonly UmlService[] = [
  'dns',
  'echo',
  'discard',
  'chargen',
  'source',
  'sink',
  'http',
  'tls',
  'tls-echo',
  'hello-request',
  'mqtt',
  'mqtts',
  'mqtts-mutual',
  'mqtts-alpn',
  'mqtt-sub',
];

/** Where each service listens on the peer address. */
export const SERVICE_PORTS: Readonly<Record<UmlService, { tcp: readonly number[]; udp: readonly number[] }>> =
  {
    dns: { tcp: [53], udp: [53] },
    echo: { tcp: [7], udp: [7] },
    discard: { tcp: [9], udp: [9] },
    chargen: { tcp: [19], udp: [] },
    source: { tcp: [5001], udp: [] },
    sink: { tcp: [5002], udp: [] },
    http: { tcp: [8080], udp: [] },
    tls: { tcp: [4433], udp: [] },
    'tls-echo': { tcp: [4434], udp: [] },
    'hello-request': { tcp: [4435], udp: [] },
    mqtt: { tcp: [1883], udp: [] },
    mqtts: { tcp: [8883], udp: [] },
    'mqtts-mutual': { tcp: [8884], udp: [] },
    'mqtts-alpn': { tcp: [443], udp: [] },
    // A client, not a server: it listens nowhere.
    'mqtt-sub': { tcp: [], udp: [] },
  };

/**
 * The ALPN protocol AWS IoT Core requires for MQTT with a client certificate on port 443 (AWS
 * IoT developer guide, "Protocols, port mappings, and authentication"); 'mqtts-alpn' insists on it.
 */
export const AWS_IOT_ALPN = 'x-amzn-mqtt-ca';

/** Services that need the per-run test CA and server certificate. */
export const TLS_SERVICES: readonly UmlService[] = ['tls', 'tls-echo', 'mqtts', 'mqtts-mutual', 'mqtts-alpn'];

/**
 * One TLS server of the `tlsMatrix` option: any number of them run in one guest, each on its
 * own port, so that a test file can check many server configurations with one boot.
 */
export interface TlsMatrixServer {
  /** Console label: its output lines start with `[tls-<name>] `. `[A-Za-z0-9_-]`. */
  name: string;
  /** TCP port; must not be one of SERVICE_PORTS' nor another matrix server's. */
  port: number;
  /**
   * 'openssl': `openssl s_server -accept <peer>:<port> ...args` (bound to the peer address);
   * 'gnutls': `gnutls-serv --port <port> ...args` (gnutls-serv has no bind option: it binds
   * every interface, which in the guest means lo and ppp0).
   */
  program: 'openssl' | 'gnutls';
  /**
   * The rest of the command line, one word each (checked against `[A-Za-z0-9:+._=@/%,-]`).
   * Files: GUEST_CERTS_DIR (the harness's certificates) and GUEST_FILES_DIR (`extraFiles`).
   */
  args: string[];
  /**
   * openssl only: stdin is a FIFO the control channel writes to (`renegotiate(port)` sends
   * s_server's interactive `R`), instead of /dev/null. Use without `-rev`/`-www`.
   */
  stdin?: boolean;
}

const MATRIX_WORD_RE = /^[A-Za-z0-9:+._=@/%,-]+$/;
const MATRIX_NAME_RE = /^[A-Za-z0-9_-]{1,40}$/;

/** Guest path of the FIFO that is a matrix server's stdin (`stdin: true`). */
export function matrixStdin(dir: string, port: number): string {
  return `${dir}/stdin-${port}`;
}

/** Names the guest's DNS server answers; anything else under DNS_ZONE is NXDOMAIN. */
export const DNS_ZONE = 'cellstack.test';
export function dnsNames(peer: string, client: string): Record<string, string> {
  return {
    [DNS_ZONE]: peer,
    [`peer.${DNS_ZONE}`]: peer,
    [`broker.${DNS_ZONE}`]: peer,
    [`client.${DNS_ZONE}`]: client,
    [`mqtt.${DNS_ZONE}`]: `CNAME broker.${DNS_ZONE}`,
    [`txt.${DNS_ZONE}`]: 'TXT "cellstack peer"',
  };
}

/**
 * A name with BIG_NAME_ADDRESSES A records: its answer (about 670 octets) exceeds the 512 a
 * UDP answer may carry without EDNS (RFC 1035 4.2.1), so dnsmasq sets TC and a resolver must
 * ask again over TCP.
 */
export const BIG_NAME = `big.${DNS_ZONE}`;
export const BIG_NAME_ADDRESSES = 40;
export function bigNameAddresses(): string[] {
  return Array.from({ length: BIG_NAME_ADDRESSES }, (_, i) => `10.64.1.${i + 1}`);
}

export interface ServiceContext {
  /** The guest's PPP address (services bind it before ppp0 exists: ip_nonlocal_bind). */
  address: string;
  clientAddress: string;
  /** Where the service's files are inside the guest. */
  dir: string;
  /** Upper bound for a service's own lifetime, seconds. */
  lifetimeS: number;
  /** Guest path of the test certificates (ca.crt, server.crt, server.key), when TLS services run. */
  certsDir?: string;
  /** Every service the guest runs (mqtt and mqtts share one mosquitto). */
  selected?: readonly UmlService[];
  /** Extra words for `openssl s_server` (the `tls` service), e.g. ['-cipher', 'AES128-SHA']. */
  tlsServerOptions?: readonly string[];
  /** The `tlsMatrix` servers. */
  tlsMatrix?: readonly TlsMatrixServer[];
  /** Where the guest keeps its generated files (the FIFOs of `stdin` matrix servers go there). */
  guestDir?: string;
}

export interface GuestService {
  /** Files written to `dir` (name -> content). */
  files: Record<string, string>;
  /** One shell command line that runs the service in the foreground. */
  command: string;
  /** Ports the guest waits for before it calls the peer ready. */
  tcp: number[];
  udp: number[];
  /** Host executables the service needs (checked before booting). */
  needs: string[];
  /** The command prefixes its own output lines with `[name] `: no `sed` label is added. */
  labelsItself?: boolean;
}

const PYTHON = '/usr/bin/python3';
const PYTHON_SERVICES: ReadonlySet<UmlService> = new Set([
  'echo',
  'discard',
  'chargen',
  'source',
  'sink',
  'http',
  'tls-echo',
  'hello-request',
]);

/** guest-services.py, as the guest will run it. */
export function guestServicesPy(): string {
  return readFileSync(new URL('./guest-services.py', import.meta.url), 'utf8');
}

function pythonService(names: UmlService[], ctx: ServiceContext): GuestService {
  const args = [
    PYTHON,
    '-u',
    `${ctx.dir}/guest-services.py`,
    'serve',
    '--bind',
    ctx.address,
    '--serve',
    names.join(','),
    '--lifetime',
    String(ctx.lifetimeS),
  ];
  if (names.includes('tls-echo')) args.push('--certs', certsDir(ctx));
  return {
    files: { 'guest-services.py': guestServicesPy() },
    command: args.map(shQuote).join(' '),
    tcp: names.flatMap((n) => SERVICE_PORTS[n].tcp),
    udp: names.flatMap((n) => SERVICE_PORTS[n].udp),
    needs: [PYTHON],
    labelsItself: true,
  };
}

function certsDir(ctx: ServiceContext): string {
  if (!ctx.certsDir) throw new Error('TLS services need the test certificates (ServiceContext.certsDir)');
  return ctx.certsDir;
}

function mosquittoConf(ctx: ServiceContext, names: readonly UmlService[]): string {
  const lines = [
    '# generated by test/interop/harness/uml-services.ts',
    'per_listener_settings false',
    'allow_anonymous true',
    'persistence false',
    // stderr: mosquitto does not flush stdout to a pipe line by line.
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
    'log_timestamp false',
    // Stay root: the guest has no mosquitto user home, and nothing here is reachable from outside.
    'user root',
    'max_keepalive 65535',
  ];
  if (names.includes('mqtt')) lines.push(`listener 1883 ${ctx.address}`);
  // The 'mqtt-sub' subscriber's own way in, over the guest's loopback: the peer address exists
  // only while a PPP session is up, and pppd restarts must not cut the subscriber off.
  if (ctx.selected?.includes('mqtt-sub')) lines.push(`listener ${MQTT_SUB.port} ${MQTT_SUB.host}`);
  if (names.includes('mqtts')) {
    const d = certsDir(ctx);
    lines.push(
      `listener 8883 ${ctx.address}`,
      `cafile ${d}/ca.crt`,
      `certfile ${d}/server.crt`,
      `keyfile ${d}/server.key`,
    );
  }
  if (names.includes('mqtts-mutual')) {
    const d = certsDir(ctx);
    lines.push(
      `listener 8884 ${ctx.address}`,
      `cafile ${d}/ca.crt`,
      `certfile ${d}/server.crt`,
      `keyfile ${d}/server.key`,
      'require_certificate true',
    );
  }
  return lines.join('\n') + '\n';
}

function mosquitto(ctx: ServiceContext, names: UmlService[]): GuestService {
  return {
    files: { 'mosquitto.conf': mosquittoConf(ctx, names) },
    command: ['mosquitto', '-c', `${ctx.dir}/mosquitto.conf`].map(shQuote).join(' '),
    tcp: names.flatMap((n) => SERVICE_PORTS[n].tcp),
    udp: [],
    needs: ['/usr/sbin/mosquitto'],
  };
}

/** mqtt-alpn-relay.py, as the guest will run it. */
export function mqttAlpnRelayPy(): string {
  return readFileSync(new URL('./mqtt-alpn-relay.py', import.meta.url), 'utf8');
}

/**
 * 'mqtts-alpn': AWS IoT's port 443 in miniature. A TLS 1.2 server (python ssl) that answers a
 * ClientHello without ALPN `x-amzn-mqtt-ca` with a fatal no_application_protocol alert (RFC
 * 7301 section 3.2), otherwise selects it, requires a client certificate from the test CA and
 * relays the plaintext to mosquitto's plain listener (1883, which it implies).
 */
function mqttAlpnRelay(ctx: ServiceContext): GuestService {
  const args = [
    PYTHON,
    '-u',
    `${ctx.dir}/mqtt-alpn-relay.py`,
    '--bind',
    ctx.address,
    '--port',
    String(SERVICE_PORTS['mqtts-alpn'].tcp[0]),
    '--upstream',
    String(SERVICE_PORTS.mqtt.tcp[0]),
    '--alpn',
    AWS_IOT_ALPN,
    '--certs',
    certsDir(ctx),
    '--lifetime',
    String(ctx.lifetimeS),
  ];
  return {
    files: { 'mqtt-alpn-relay.py': mqttAlpnRelayPy() },
    command: args.map(shQuote).join(' '),
    tcp: [...SERVICE_PORTS['mqtts-alpn'].tcp],
    udp: [],
    needs: [PYTHON],
    labelsItself: true,
  };
}

/** mqtt-sub.py, as the guest will run it. */
export function mqttSubPy(): string {
  return readFileSync(new URL('./mqtt-sub.py', import.meta.url), 'utf8');
}

/**
 * The 'mqtt-sub' subscriber: client id, filter, QoS (a persistent session), and mosquitto's
 * loopback listener it uses inside the guest.
 */
export const MQTT_SUB = {
  clientId: 'cellstack-sub',
  filter: '#',
  qos: 1,
  host: '127.0.0.1',
  port: 1884,
} as const;

/**
 * 'mqtt-sub': a subscriber at the broker, inside the guest (mqtt-sub.py: the guest has no MQTT
 * client program). It connects to mosquitto (it implies 'mqtt') through a listener of its own
 * on the guest's loopback, 127.0.0.1:1884, which stays up while pppd restarts (the peer
 * address exists only during a PPP session), with a persistent session (`MQTT_SUB.clientId`,
 * clean session 0), subscribes to `MQTT_SUB.filter` at QoS 1, acknowledges every message and
 * prints one console line per message: `[mqtt-sub] msg q<qos> dup<0|1> <topic> <payload>`.
 * `[mqtt-sub] subscribed ...` says it is ready; the guest does not wait for it.
 */
function mqttSub(ctx: ServiceContext): GuestService {
  const args = [
    PYTHON,
    '-u',
    `${ctx.dir}/mqtt-sub.py`,
    '--host',
    MQTT_SUB.host,
    '--port',
    String(MQTT_SUB.port),
    '--client-id',
    MQTT_SUB.clientId,
    '--filter',
    MQTT_SUB.filter,
    '--qos',
    String(MQTT_SUB.qos),
    '--lifetime',
    String(ctx.lifetimeS),
  ];
  return {
    files: { 'mqtt-sub.py': mqttSubPy() },
    command: args.map(shQuote).join(' '),
    tcp: [],
    udp: [],
    needs: [PYTHON],
    labelsItself: true,
  };
}

const SERVICES: Partial<Record<UmlService, (ctx: ServiceContext) => GuestService>> = {
  // dnsmasq answering a fixed zone and nothing else: no upstream, no /etc/hosts, no forwarding.
  dns: (ctx) => {
    const names = dnsNames(ctx.address, ctx.clientAddress);
    const args = [
      'dnsmasq',
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      `--listen-address=${ctx.address}`,
      '--bind-interfaces',
      '--port=53',
      '--user=root',
      '--pid-file=',
      '--log-queries',
      '--log-facility=-',
      `--local=/${DNS_ZONE}/`,
      ...Object.entries(names)
        .filter(([, v]) => /^\d/.test(v))
        .map(([k, v]) => `--host-record=${k},${v}`),
      ...bigNameAddresses().map((a) => `--host-record=${BIG_NAME},${a}`),
      `--cname=mqtt.${DNS_ZONE},broker.${DNS_ZONE}`,
      `--txt-record=txt.${DNS_ZONE},"cellstack peer"`,
    ];
    return {
      files: {},
      command: args.map(shQuote).join(' '),
      tcp: [53],
      udp: [53],
      needs: ['/usr/sbin/dnsmasq'],
    };
  },
  // OpenSSL's own server, TLS 1.2 only; `-www` answers `GET /` with a status page.
  tls: (ctx) => {
    const d = certsDir(ctx);
    for (const w of ctx.tlsServerOptions ?? []) {
      if (!/^[A-Za-z0-9:+._=@/-]+$/.test(w))
        throw new Error(`unexpected s_server option: ${JSON.stringify(w)}`);
    }
    const args = [
      'openssl',
      's_server',
      '-accept',
      `${ctx.address}:4433`,
      '-www',
      '-tls1_2',
      '-cert',
      `${d}/server.crt`,
      '-key',
      `${d}/server.key`,
      '-CAfile',
      `${d}/ca.crt`,
      ...(ctx.tlsServerOptions ?? []),
    ];
    return {
      files: {},
      command: `${args.map(shQuote).join(' ')} </dev/null`,
      tcp: [4433],
      udp: [],
      needs: ['/usr/bin/openssl'],
    };
  },
  mqtt: (ctx) => mosquitto(ctx, ['mqtt']),
  mqtts: (ctx) => mosquitto(ctx, ['mqtts']),
  'mqtts-mutual': (ctx) => mosquitto(ctx, ['mqtts-mutual']),
  'mqtts-alpn': mqttAlpnRelay,
  'mqtt-sub': mqttSub,
};

const MOSQUITTO: ReadonlySet<UmlService> = new Set(['mqtt', 'mqtts', 'mqtts-mutual']);
const RESERVED_PORTS = new Set(Object.values(SERVICE_PORTS).flatMap((p) => p.tcp));

/** The `tlsMatrix` servers as guest services, labelled `tls-<name>`. Throws on a bad entry. */
export function tlsMatrixServices(
  servers: readonly TlsMatrixServer[],
  ctx: ServiceContext,
): Array<[string, GuestService]> {
  const ports = new Set<number>();
  const names = new Set<string>();
  return servers.map((m) => {
    if (!MATRIX_NAME_RE.test(m.name) || names.has(m.name))
      throw new Error(`bad or repeated TLS matrix server name ${JSON.stringify(m.name)}`);
    names.add(m.name);
    if (
      !Number.isInteger(m.port) ||
      m.port < 1 ||
      m.port > 65535 ||
      RESERVED_PORTS.has(m.port) ||
      ports.has(m.port)
    )
      throw new Error(`TLS matrix server ${m.name}: port ${m.port} is taken or invalid`);
    ports.add(m.port);
    for (const w of m.args) {
      if (!MATRIX_WORD_RE.test(w))
        throw new Error(`TLS matrix server ${m.name}: unexpected argument ${JSON.stringify(w)}`);
    }
    let command: string;
    let needs: string;
    if (m.program === 'openssl') {
      const args = ['openssl', 's_server', '-accept', `${ctx.address}:${m.port}`, ...m.args];
      const line = args.map(shQuote).join(' ');
      if (m.stdin) {
        if (!ctx.guestDir) throw new Error('TLS matrix servers with stdin need ServiceContext.guestDir');
        const fifo = shQuote(matrixStdin(ctx.guestDir, m.port));
        // Opened read-write: s_server never sees EOF, and writers never block.
        command = `{ [ -p ${fifo} ] || mkfifo ${fifo}; } && ${line} 0<>${fifo}`;
      } else {
        command = `${line} </dev/null`;
      }
      needs = '/usr/bin/openssl';
    } else {
      if (m.stdin) throw new Error(`TLS matrix server ${m.name}: stdin is for openssl only`);
      command = `${['gnutls-serv', '--port', String(m.port), ...m.args].map(shQuote).join(' ')} </dev/null`;
      needs = '/usr/bin/gnutls-serv';
    }
    return [`tls-${m.name}`, { files: {}, command, tcp: [m.port], udp: [], needs: [needs] }];
  });
}

/** One service on its own (a Python service in a process of its own). */
export function guestService(name: UmlService, ctx: ServiceContext): GuestService {
  if (PYTHON_SERVICES.has(name)) return pythonService(name === 'echo' ? ['echo', 'discard'] : [name], ctx);
  const make = SERVICES[name];
  if (!make) throw new Error(`unknown UML service ${JSON.stringify(name)}`);
  return make(ctx);
}

/**
 * The processes that run `names`, labelled: every Python service in one process ('py'),
 * mqtt, mqtts and mqtts-mutual in one mosquitto ('mosquitto'), the others one each, then the
 * `ctx.tlsMatrix` servers ('tls-<name>'). `echo` also starts `discard`, as it always has;
 * `mqtts-alpn` also starts `mqtt` (its upstream).
 */
export function guestServices(
  names: readonly UmlService[],
  ctx: ServiceContext,
): Array<[string, GuestService]> {
  const set = new Set(names);
  if (set.has('echo')) set.add('discard');
  if (set.has('mqtts-alpn')) set.add('mqtt');
  if (set.has('mqtt-sub')) set.add('mqtt');
  const py = UML_SERVICES.filter((n) => set.has(n) && PYTHON_SERVICES.has(n));
  const mq = UML_SERVICES.filter((n) => set.has(n) && MOSQUITTO.has(n));
  const out: Array<[string, GuestService]> = [];
  for (const n of UML_SERVICES) {
    if (!set.has(n) || PYTHON_SERVICES.has(n) || MOSQUITTO.has(n)) continue;
    out.push([n, guestService(n, ctx)]);
  }
  if (mq.length > 0) out.push(['mosquitto', mosquitto(ctx, mq)]);
  if (py.length > 0) out.push(['py', pythonService(py, ctx)]);
  out.push(...tlsMatrixServices(ctx.tlsMatrix ?? [], ctx));
  for (const n of set)
    if (!UML_SERVICES.includes(n)) throw new Error(`unknown UML service ${JSON.stringify(n)}`);
  return out;
}
