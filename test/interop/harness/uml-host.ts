import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { which } from './peers.js';
import { buildGuest, type GuestConfig } from './uml-guest.js';

/**
 * The host side of a UML peer before it boots: whether this machine can run one, and the
 * temp dir holding the guest's init script and files.
 */

const UML_MODULES = '/usr/lib/uml/modules';

/** The UML kernel's version: the newest modules dir the user-mode-linux package installed. */
export function umlKernelVersion(): string | undefined {
  try {
    return readdirSync(UML_MODULES).sort().at(-1);
  } catch {
    return undefined;
  }
}

/** Why a UML peer cannot run on this machine, or undefined if it can. */
export function umlProblem(): string | undefined {
  if (process.platform !== 'linux') return 'user-mode Linux needs a Linux host';
  if (!which('linux.uml')) return 'linux.uml is not installed (apt-get install user-mode-linux)';
  const kv = umlKernelVersion();
  if (!kv) return `no UML kernel modules under ${UML_MODULES} (apt-get install user-mode-linux)`;
  if (!existsSync(join(UML_MODULES, kv, 'kernel/drivers/net/ppp/ppp_async.ko'))) {
    return `the UML modules ${kv} have no ppp_async.ko`;
  }
  // The guest runs the host's binaries through hostfs, from the standard Debian paths.
  for (const [bin, pkg] of [
    ['/usr/sbin/pppd', 'ppp'],
    ['/usr/sbin/modprobe', 'kmod'],
    ['/usr/sbin/ip', 'iproute2'],
  ] as const) {
    if (!existsSync(bin)) return `${bin} is missing (apt-get install ${pkg})`;
  }
  if (process.getuid?.() !== 0) return 'the UML peer is only set up and tested as root';
  return undefined;
}

/**
 * Writes the guest's files into `work` (guest/ for the files, init.sh, uml/ for UML's own
 * state) and returns the init script's path. Throws on options the guest cannot take.
 */
export function writeGuest(work: string, config: Omit<GuestConfig, 'hostDir'>): string {
  const hostDir = join(work, 'guest');
  const guest = buildGuest({ ...config, hostDir });
  const missing = guest.needs.find((bin) => !existsSync(bin));
  if (missing) throw new Error(`${missing} is missing on the host`);
  for (const [rel, { content, mode }] of guest.files) {
    const path = join(hostDir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    chmodSync(path, mode);
  }
  const initPath = join(work, 'init.sh');
  writeFileSync(initPath, guest.init);
  chmodSync(initPath, 0o755);
  mkdirSync(join(work, 'uml'));
  return initPath;
}
