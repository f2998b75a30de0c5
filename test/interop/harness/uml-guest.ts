import { secretWord } from './ppp-secrets.js';
import { shQuote } from './shell.js';
import { type GuestService, guestService, type UmlService } from './uml-services.js';

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
const UML_MODULES = '/usr/lib/uml/modules';

const PPP_MODULES = ['crc-ccitt', 'slhc', 'ppp_generic', 'ppp_async'];
const NETEM_MODULES = ['sch_netem', 'ifb', 'sch_ingress', 'act_mirred', 'cls_matchall'];

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
  lcpEchoInterval: number;
  lcpEchoFailure: number;
  netem: string | undefined;
  services: UmlService[];
  once: boolean;
  maxSessions: number;
  lifetimeS: number;
}

export interface GuestBuild {
  init: string;
  /** Relative path under `hostDir` -> content and mode. */
  files: Map<string, { content: string; mode: number }>;
  pppdArgs: string[];
  /** Host executables the guest will run. */
  needs: string[];
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
    'ms-dns',
    c.peerAddress,
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

/** Run by pppd before ppp0 carries traffic: impairs both directions (ingress through ifb0). */
function ipPreUp(spec: string): string {
  const q = shQuote(spec);
  return `#!/bin/sh
IF="$1"
exec >/dev/console 2>&1
tc qdisc replace dev "$IF" root netem ${spec} && echo "${MARK}NETEM egress $IF "${q}
ip link show ifb0 >/dev/null 2>&1 || ip link add ifb0 type ifb
ip link set ifb0 up
tc qdisc del dev "$IF" ingress 2>/dev/null
tc qdisc add dev "$IF" handle ffff: ingress
tc filter add dev "$IF" parent ffff: protocol all matchall action mirred egress redirect dev ifb0
tc qdisc replace dev ifb0 root netem ${spec} && echo "${MARK}NETEM ingress $IF "${q}
exit 0
`;
}

function servicesScript(list: Array<[UmlService, GuestService]>): string {
  const lines = ['#!/bin/sh'];
  for (const [name, s] of list) {
    // Restarted at most 20 times: a service that keeps dying shows up in the console log.
    lines.push(
      `(i=0; while [ $i -lt 20 ]; do i=$((i+1)); ${s.command} 2>&1 | sed -u 's/^/[${name}] /'; sleep 1; done) &`,
    );
  }
  const tcp = list.flatMap(([, s]) => s.tcp);
  const udp = list.flatMap(([, s]) => s.udp);
  const checks = [
    ...tcp.map((p) => `ss -Hltn 'sport = :${p}' | grep -q . || ok=0;`),
    ...udp.map((p) => `ss -Hlun 'sport = :${p}' | grep -q . || ok=0;`),
  ];
  if (checks.length > 0) {
    // Bounded wait (10 s) until every port listens.
    lines.push(`n=0; ok=0; while [ $ok = 0 ] && [ $n -lt 100 ]; do n=$((n+1)); ok=1; ${checks.join(' ')}`);
    lines.push(`  [ $ok = 1 ] || sleep 0.1; done`);
    lines.push(
      `[ $ok = 1 ] || echo "${MARK}ERROR services not listening: tcp ${tcp.join(',')} udp ${udp.join(',')}"`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Reads `<seq> <command>` lines from the control tty (ttyS1, fed by the host) and answers on
 * the console with `CTL <seq> <result>`. The commands are a fixed list matched literally; no
 * input is ever evaluated.
 */
const CONTROL = `control() {
  i=0
  while [ $i -lt 10000 ] && IFS=' ' read -r seq cmd; do
    i=$((i+1))
    case "$seq" in ''|*[!0-9]*) echo "${MARK}CTL-BAD"; continue ;; esac
    case "$cmd" in
      'kill-pppd TERM') sig=TERM ;;
      'kill-pppd KILL') sig=KILL ;;
      *) echo "${MARK}CTL $seq unknown"; continue ;;
    esac
    if [ -f ${PIDFILE} ] && read -r p n 2>/dev/null < ${PIDFILE} && kill -s $sig "$p" 2>/dev/null; then
      echo "${MARK}CTL $seq killed $n"
    else
      echo "${MARK}CTL $seq no-pppd"
    fi
  done
  echo "${MARK}CTL-CLOSED"
}
`;

export function buildGuest(c: GuestConfig): GuestBuild {
  const files = new Map<string, { content: string; mode: number }>();
  const ctx = {
    address: c.peerAddress,
    clientAddress: c.clientAddress,
    dir: `${GUEST_DIR}/services`,
    lifetimeS: c.lifetimeS,
  };
  const services = c.services.map((name): [UmlService, GuestService] => [name, guestService(name, ctx)]);
  for (const [, s] of services) {
    for (const [name, content] of Object.entries(s.files))
      files.set(`services/${name}`, { content, mode: 0o644 });
  }
  files.set('services.sh', { content: servicesScript(services), mode: 0o755 });
  // Empty: the host's /etc/ppp/options must not leak into the peer's configuration.
  files.set('ppp/options', { content: '', mode: 0o644 });
  files.set('ppp/pap-secrets', { content: secrets(c, 'pap'), mode: 0o600 });
  files.set('ppp/chap-secrets', { content: secrets(c, 'chap'), mode: 0o600 });
  if (c.netem) files.set('ppp/ip-pre-up', { content: ipPreUp(c.netem), mode: 0o755 });

  const modules = [...PPP_MODULES, ...(c.netem ? NETEM_MODULES : [])];
  const args = pppdArgs(c);
  const kv = c.kernelVersion;
  const init = `#!/bin/sh
# PID 1 of the cellstack UML peer, generated by test/interop/harness/uml-guest.ts.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
grep -q ' /dev ' /proc/mounts || mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=755 run /run
mkdir -p /run/lock ${GUEST_DIR} /run/mods/lib/modules
# The host dir is usually under /tmp: copy it before a tmpfs covers /tmp.
cp -a ${shQuote(c.hostDir)}/. ${GUEST_DIR}/
mount -t tmpfs -o mode=1777 tmp /tmp
# pppd reads its secrets and scripts from /etc/ppp: the host's must not apply.
mount -t tmpfs -o mode=755 etcppp /etc/ppp
cp -a ${GUEST_DIR}/ppp/. /etc/ppp/
hostname cellstack-peer
# modprobe -d resolves dependencies from the UML package's own modules.dep.
ln -s ${UML_MODULES}/${kv} /run/mods/lib/modules/${kv}
for m in ${modules.join(' ')}; do modprobe -d /run/mods $m || echo "${MARK}ERROR modprobe $m"; done
[ -e /dev/ppp ] || mknod /dev/ppp c 108 0
ip link set lo up
# Services bind the PPP address before ppp0 exists.
echo 1 > /proc/sys/net/ipv4/ip_nonlocal_bind
stty -F /dev/tty1 raw -echo 2>/dev/null
stty -F /dev/ttyS1 raw -echo 2>/dev/null
echo "${MARK}BOOTED $(cut -d' ' -f1 /proc/uptime)"
(sleep ${c.lifetimeS}; echo "${MARK}LIFETIME"; poweroff -f -f) &
sh ${GUEST_DIR}/services.sh
echo "${MARK}SERVICES-READY $(cut -d' ' -f1 /proc/uptime)"
${CONTROL}control < /dev/ttyS1 &
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
  const needs = ['/usr/sbin/pppd', '/usr/sbin/ip', ...services.flatMap(([, s]) => s.needs)];
  if (c.netem) needs.push('/usr/sbin/tc');
  return { init, files, pppdArgs: args, needs };
}
