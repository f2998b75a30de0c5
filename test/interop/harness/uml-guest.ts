import { secretWord } from './ppp-secrets.js';
import { shQuote } from './shell.js';
import {
  type GuestService,
  guestServices,
  guestServicesPy,
  TLS_SERVICES,
  type TlsMatrixServer,
  type UmlService,
} from './uml-services.js';

/**
 * The UML guest's init script (PID 1) and the files it copies in, as text. Kept free of I/O
 * so the generated shell can be read and reviewed in one place.
 *
 * The guest sees the host's root filesystem read-only (hostfs), so it runs the host's pppd,
 * dnsmasq and python3; everything it writes goes to tmpfs. Its only network interfaces are
 * lo and ppp0: nothing it runs can reach or be reached from outside the PPP link.
 */

/** Console lines starting with this are the init script's progress reports. */
export const MARK = 'CELLSTACK@@';
/** Where the guest keeps its copy of the generated files (tmpfs). */
export const GUEST_DIR = '/run/cellstack';
const PIDFILE = `${GUEST_DIR}/pppd.pid`;
const NETEM_SPEC = `${GUEST_DIR}/netem.spec`;
const NETEM_SH = `${GUEST_DIR}/netem.sh`;
const UML_MODULES = '/usr/lib/uml/modules';
/** The netem spec grammar the harness lets through (tc's words, numbers, units, '%'). */
export const NETEM_SPEC_RE = /^[A-Za-z0-9 .%_-]{1,200}$/;

export const PPP_MODULES = ['crc-ccitt', 'slhc', 'ppp_generic', 'ppp_async'];
export const NETEM_MODULES = ['sch_netem', 'ifb', 'sch_ingress', 'act_mirred', 'cls_matchall'];

export interface GuestConfig {
  /** Host directory holding the files of `GuestBuild.files`; the guest copies it at boot. */
  hostDir: string;
  kernelVersion: string;
  peerAddress: string;
  clientAddress: string;
  auth: 'none' | 'pap' | 'chap';
  user: string;
  password: string;
  pppdOptions: string[];
  /** What pppd hands out as DNS servers (`ms-dns`, primary then secondary); default the peer. */
  dnsServers?: string[];
  lcpEchoInterval: number;
  lcpEchoFailure: number;
  netem: string | undefined;
  services: UmlService[];
  once: boolean;
  maxSessions: number;
  lifetimeS: number;
  /** Extra `openssl s_server` words for the `tls` service. */
  tlsServerOptions?: string[];
  /** TLS servers on ports of their own (see TlsMatrixServer). */
  tlsMatrix?: TlsMatrixServer[];
}

export interface GuestBuild {
  init: string;
  /** Relative path under `hostDir` -> content and mode. */
  files: Map<string, { content: string; mode: number }>;
  pppdArgs: string[];
  /** Host executables the guest will run. */
  needs: string[];
  /** The guest expects the test certificates in `hostDir/certs` (see certs.ts). */
  needsCerts: boolean;
}

export function pppdArgs(c: GuestConfig): string[] {
  const auth =
    c.auth === 'none' ? ['noauth'] : c.auth === 'pap' ? ['auth', 'require-pap'] : ['auth', 'require-chap'];
  return [
    '/dev/ttyS0',
    '115200',
    'local',
    'nocrtscts',
    'nodetach',
    // The debug log goes to fd 3, which the init script points at the dedicated tty1.
    'debug',
    'logfd',
    '3',
    'name',
    'cellstack-peer',
    `${c.peerAddress}:${c.clientAddress}`,
    ...(c.dnsServers ?? [c.peerAddress]).flatMap((a) => ['ms-dns', a]),
    // Sends ConfReqs but keeps waiting for a client that is silent for a while.
    'passive',
    ...auth,
    'lcp-echo-interval',
    String(c.lcpEchoInterval),
    'lcp-echo-failure',
    String(c.lcpEchoFailure),
    ...c.pppdOptions,
  ];
}

function secrets(c: GuestConfig, kind: 'pap' | 'chap'): string {
  if (c.auth !== kind) return '';
  // client, server (any: pppd's name for CHAP), secret, allowed addresses (any)
  return `"${secretWord('user', c.user)}" * "${secretWord('password', c.password)}" *\n`;
}

/**
 * `netem.sh IF [runtime]`: applies the spec in netem.spec (one line; empty = none) to IF's
 * egress and, through ifb0, its ingress. Run by pppd's ip-pre-up for every session (before
 * ppp0 carries traffic) and by the control channel's `netem` command for the running one.
 * The spec was checked against NETEM_SPEC_RE by the host and again by the control loop; it is
 * split into words (globbing off) and never evaluated.
 */
const NETEM_SCRIPT = `#!/bin/sh
IF="$1"
set -f
spec=$(head -n 1 ${NETEM_SPEC} 2>/dev/null)
ip link show "$IF" >/dev/null 2>&1 || { echo "${MARK}NETEM saved (no $IF)"; exit 0; }
if [ -z "$spec" ]; then
  [ "$2" = runtime ] || exit 0
  tc qdisc del dev "$IF" root 2>/dev/null
  tc qdisc del dev "$IF" ingress 2>/dev/null
  tc qdisc del dev ifb0 root 2>/dev/null
  echo "${MARK}NETEM off $IF"
  exit 0
fi
# Loaded at boot when the peer starts with netem, else on first use (modprobe is idempotent).
for m in ${NETEM_MODULES.join(' ')}; do modprobe -d /run/mods $m || exit 1; done
tc qdisc replace dev "$IF" root netem $spec || exit 1
echo "${MARK}NETEM egress $IF $spec"
ip link show ifb0 >/dev/null 2>&1 || ip link add ifb0 type ifb || exit 1
ip link set ifb0 up
if ! tc qdisc show dev "$IF" | grep -q '^qdisc ingress'; then
  tc qdisc add dev "$IF" handle ffff: ingress || exit 1
  tc filter add dev "$IF" parent ffff: protocol all matchall action mirred egress redirect dev ifb0 || exit 1
fi
tc qdisc replace dev ifb0 root netem $spec || exit 1
echo "${MARK}NETEM ingress $IF $spec"
`;

const IP_PRE_UP = `#!/bin/sh
exec >/dev/console 2>&1
sh ${NETEM_SH} "$1" || echo "${MARK}ERROR netem on $1 failed"
exit 0
`;

function servicesScript(list: Array<[string, GuestService]>): string {
  const lines = ['#!/bin/sh'];
  for (const [name, s] of list) {
    const label = s.labelsItself ? '' : ` | sed -u 's/^/[${name}] /'`;
    // Restarted at most 20 times: a service that keeps dying shows up in the console log.
    lines.push(
      `(i=0; while [ $i -lt 20 ]; do i=$((i+1)); ${s.command} 2>&1${label}; echo "[${name}] exited"; sleep 1; done) &`,
    );
  }
  const tcp = list.flatMap(([, s]) => s.tcp);
  const udp = list.flatMap(([, s]) => s.udp);
  const checks = [
    ...tcp.map((p) => `ss -Hltn 'sport = :${p}' | grep -q . || ok=0;`),
    ...udp.map((p) => `ss -Hlun 'sport = :${p}' | grep -q . || ok=0;`),
  ];
  if (checks.length > 0) {
    // Bounded wait (20 s) until every port listens.
    lines.push(`n=0; ok=0; while [ $ok = 0 ] && [ $n -lt 200 ]; do n=$((n+1)); ok=1; ${checks.join(' ')}`);
    lines.push(`  [ $ok = 1 ] || sleep 0.1; done`);
    lines.push(
      `[ $ok = 1 ] || echo "${MARK}ERROR services not listening: tcp ${tcp.join(',')} udp ${udp.join(',')}"`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Reads `<seq> <command>` lines from the control tty (ttyS1, fed by the host) and answers on
 * the console with `CTL <seq> <result>`. The commands are a fixed list; their few arguments
 * are checked against strict character classes and passed as single words, never evaluated:
 *
 *   kill-pppd TERM|KILL                  -> CTL seq killed <session> | no-pppd
 *   stats                                -> /proc/net/snmp and /proc/net/netstat, each line
 *                                           prefixed `<seq> `, then `<seq> end`, on ttyS1
 *   netem <spec> | netem off             -> CTL seq netem-set | netem-failed
 *   connect <port> <ipv4> <hex|-> shut|noshut <secs>
 *                                        -> CTL seq connect-started, later (from
 *                                           guest-services.py) connect-open / -done / -error
 *   renegotiate <port>                   -> writes s_server's interactive `R` to the stdin FIFO
 *                                           of the TLS matrix server on <port>:
 *                                           CTL seq renegotiate-sent | no-fifo
 */
function controlLoop(python: string): string {
  return `control() {
  i=0
  while [ $i -lt 10000 ] && IFS=' ' read -r seq cmd; do
    i=$((i+1))
    case "$seq" in ''|*[!0-9]*) echo "${MARK}CTL-BAD"; continue ;; esac
    case "$cmd" in
      'kill-pppd TERM'|'kill-pppd KILL')
        sig=\${cmd#kill-pppd }
        if [ -f ${PIDFILE} ] && read -r p n 2>/dev/null < ${PIDFILE} && kill -s $sig "$p" 2>/dev/null; then
          echo "${MARK}CTL $seq killed $n"
        else
          echo "${MARK}CTL $seq no-pppd"
        fi ;;
      stats)
        { sed "s/^/$seq /" /proc/net/snmp /proc/net/netstat; echo "$seq end"; } > /dev/ttyS1
        echo "${MARK}CTL $seq stats" ;;
      'netem off')
        : > ${NETEM_SPEC}
        if sh ${NETEM_SH} ppp0 runtime; then echo "${MARK}CTL $seq netem-set"; else echo "${MARK}CTL $seq netem-failed"; fi ;;
      'netem '*)
        spec=\${cmd#netem }
        case "$spec" in *[!A-Za-z0-9.%_\\ -]*) echo "${MARK}CTL $seq bad"; continue ;; esac
        printf '%s\\n' "$spec" > ${NETEM_SPEC}
        if sh ${NETEM_SH} ppp0 runtime; then echo "${MARK}CTL $seq netem-set"; else echo "${MARK}CTL $seq netem-failed"; fi ;;
      'connect '*)
        set -f
        set -- \${cmd#connect }
        set +f
        ok=1
        [ $# = 5 ] || ok=0
        case "$1" in ''|*[!0-9]*) ok=0 ;; esac
        case "$2" in ''|*[!0-9.]*) ok=0 ;; esac
        case "$3" in ''|*[!0-9a-f-]*) ok=0 ;; esac
        case "$4" in shut|noshut) ;; *) ok=0 ;; esac
        case "$5" in ''|*[!0-9]*) ok=0 ;; esac
        if [ $ok = 1 ]; then
          echo "${MARK}CTL $seq connect-started"
          ${python} -u ${GUEST_DIR}/services/guest-services.py connect "$seq" "$1" "$2" "$3" "$4" "$5" 2>&1 &
        else
          echo "${MARK}CTL $seq bad"
        fi ;;
      'renegotiate '*)
        port=\${cmd#renegotiate }
        case "$port" in ''|*[!0-9]*) echo "${MARK}CTL $seq bad"; continue ;; esac
        if [ -p ${GUEST_DIR}/stdin-"$port" ]; then
          printf 'R\n' > ${GUEST_DIR}/stdin-"$port"
          echo "${MARK}CTL $seq renegotiate-sent"
        else
          echo "${MARK}CTL $seq no-fifo"
        fi ;;
      *) echo "${MARK}CTL $seq unknown" ;;
    esac
  done
  echo "${MARK}CTL-CLOSED"
}
`;
}

/**
 * The first part of every guest's init: mounts, the copy of the host dir (before a tmpfs
 * covers /tmp), /etc/ppp on tmpfs, modules, lo, ip_nonlocal_bind, the BOOTED marker.
 */
export function initPrologue(o: {
  hostDir: string;
  kernelVersion: string;
  modules: string[];
  hostname: string;
  who: string;
}): string {
  const kv = o.kernelVersion;
  return `#!/bin/sh
# PID 1 of ${o.who}, generated by test/interop/harness/uml-guest.ts.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
grep -q ' /dev ' /proc/mounts || mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=755 run /run
mkdir -p /run/lock ${GUEST_DIR} /run/mods/lib/modules
# The host dir is usually under /tmp: copy it before a tmpfs covers /tmp.
cp -a ${shQuote(o.hostDir)}/. ${GUEST_DIR}/
mount -t tmpfs -o mode=1777 tmp /tmp
# pppd reads its secrets and scripts from /etc/ppp: the host's must not apply.
mount -t tmpfs -o mode=755 etcppp /etc/ppp
cp -a ${GUEST_DIR}/ppp/. /etc/ppp/
hostname ${o.hostname}
# modprobe -d resolves dependencies from the UML package's own modules.dep.
ln -s ${UML_MODULES}/${kv} /run/mods/lib/modules/${kv}
for m in ${o.modules.join(' ')}; do modprobe -d /run/mods $m || echo "${MARK}ERROR modprobe $m"; done
[ -e /dev/ppp ] || mknod /dev/ppp c 108 0
ip link set lo up
# Services bind the PPP address before ppp0 exists.
echo 1 > /proc/sys/net/ipv4/ip_nonlocal_bind
stty -F /dev/tty1 raw -echo 2>/dev/null
echo "${MARK}BOOTED $(cut -d' ' -f1 /proc/uptime)"
`;
}

const PYTHON = '/usr/bin/python3';

export function buildGuest(c: GuestConfig): GuestBuild {
  if (c.netem !== undefined && !NETEM_SPEC_RE.test(c.netem)) {
    throw new Error(`netem spec has unexpected characters: ${JSON.stringify(c.netem)}`);
  }
  const files = new Map<string, { content: string; mode: number }>();
  const needsCerts = c.services.some((s) => TLS_SERVICES.includes(s)) || (c.tlsMatrix ?? []).length > 0;
  const ctx = {
    address: c.peerAddress,
    clientAddress: c.clientAddress,
    dir: `${GUEST_DIR}/services`,
    lifetimeS: c.lifetimeS,
    certsDir: `${GUEST_DIR}/certs`,
    selected: c.services,
    tlsServerOptions: c.tlsServerOptions ?? [],
    tlsMatrix: c.tlsMatrix ?? [],
    guestDir: GUEST_DIR,
  };
  const services = guestServices(c.services, ctx);
  for (const [, s] of services) {
    for (const [name, content] of Object.entries(s.files))
      files.set(`services/${name}`, { content, mode: 0o644 });
  }
  // The control channel's `connect` runs guest-services.py even when no Python service does.
  files.set('services/guest-services.py', { content: guestServicesPy(), mode: 0o644 });
  files.set('services.sh', { content: servicesScript(services), mode: 0o755 });
  // Empty: the host's /etc/ppp/options must not leak into the peer's configuration.
  files.set('ppp/options', { content: '', mode: 0o644 });
  files.set('ppp/pap-secrets', { content: secrets(c, 'pap'), mode: 0o600 });
  files.set('ppp/chap-secrets', { content: secrets(c, 'chap'), mode: 0o600 });
  files.set('ppp/ip-pre-up', { content: IP_PRE_UP, mode: 0o755 });
  files.set('netem.sh', { content: NETEM_SCRIPT, mode: 0o755 });
  files.set('netem.spec', { content: c.netem ? `${c.netem}\n` : '', mode: 0o644 });

  // Without `netem`, netem.sh loads netem's modules if setNetem() asks for it.
  const modules = [...PPP_MODULES, ...(c.netem ? NETEM_MODULES : [])];
  const args = pppdArgs(c);
  const init = `${initPrologue({ hostDir: c.hostDir, kernelVersion: c.kernelVersion, modules, hostname: 'cellstack-peer', who: 'the cellstack UML peer' })}stty -F /dev/ttyS1 raw -echo 2>/dev/null
(sleep ${c.lifetimeS}; echo "${MARK}LIFETIME"; poweroff -f -f) &
sh ${GUEST_DIR}/services.sh
echo "${MARK}SERVICES-READY $(cut -d' ' -f1 /proc/uptime)"
${controlLoop(PYTHON)}control < /dev/ttyS1 &
n=0
while [ $n -lt ${c.maxSessions} ]; do
  n=$((n+1))
  echo "${MARK}PPPD-START $n"
  pppd ${args.map(shQuote).join(' ')} 3>/dev/tty1 &
  echo "$! $n" > ${PIDFILE}
  wait $!
  rc=$?
  rm -f ${PIDFILE}
  echo "${MARK}PPPD-EXIT $n $rc"
  ${c.once ? 'break' : ':'}
  sleep 0.2
done
echo "${MARK}POWEROFF"
poweroff -f -f
`;
  const needs = [
    '/usr/sbin/pppd',
    '/usr/sbin/ip',
    '/usr/sbin/tc',
    PYTHON,
    ...services.flatMap(([, s]) => s.needs),
  ];
  return { init, files, pppdArgs: args, needs: [...new Set(needs)], needsCerts };
}
