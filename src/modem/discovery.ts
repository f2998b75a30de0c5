import { access, readdir, readFile, realpath } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { SerialPort } from 'serialport';
import { type UsbModel, VENDOR_PROFILES, type VendorName, type VendorProfile } from './vendors.js';

/**
 * Finding a modem's AT and data ports. A USB dongle shows up as several serial ports, one
 * per USB interface; which interface is the AT port and which carries PPP is fixed per
 * product (the vendor tables in vendors.ts).
 */
export interface SerialPortInfo {
  path: string;
  /** USB vendor id, four lower-case hex digits. */
  vendorId?: string;
  productId?: string;
  /** USB bInterfaceNumber of this port. */
  interfaceNumber?: number;
  /** USB bInterfaceClass/SubClass/Protocol as `ff/02/01` (from sysfs). */
  interfaceClass?: string;
  manufacturer?: string;
  serialNumber?: string;
  /** Groups the ports of one USB device (bus path or serial number). */
  device?: string;
}

export interface DiscoveredModem {
  vendor: VendorName;
  /** The product from the vendor table, when known. */
  model: string | null;
  vendorId: string;
  productId: string;
  /** The primary AT port, when the product is known. */
  atPort: string | null;
  /** The port that carries PPP after ATD, when the product is known. */
  dataPort: string | null;
  ports: SerialPortInfo[];
}

/** Groups ports by USB device and names their roles from the vendor tables. */
export function classifyPorts(
  ports: readonly SerialPortInfo[],
  profiles: readonly VendorProfile[] = VENDOR_PROFILES,
): DiscoveredModem[] {
  const groups = new Map<string, SerialPortInfo[]>();
  for (const p of ports) {
    if (!p.vendorId || !p.productId) continue;
    const key = `${p.vendorId}:${p.productId}:${p.device ?? p.serialNumber ?? ''}`;
    const list = groups.get(key) ?? [];
    list.push(p);
    groups.set(key, list);
  }
  const out: DiscoveredModem[] = [];
  for (const list of groups.values()) {
    const vid = list[0]!.vendorId!.toLowerCase();
    const pid = list[0]!.productId!.toLowerCase();
    const profile = profiles.find((pr) => pr.usbVendorIds.includes(vid));
    if (!profile) continue;
    const model: UsbModel | undefined =
      profile.usbModels.find((m) => m.productId === pid) ??
      profile.usbModels.find(
        (m) => m.productId === '*' && list.some((p) => classMatches(p.interfaceClass, m.atClass)),
      );
    const pick = (n: number | undefined, cls: string | undefined): string | null => {
      if (n !== undefined) return list.find((p) => p.interfaceNumber === n)?.path ?? null;
      if (cls !== undefined) return list.find((p) => classMatches(p.interfaceClass, cls))?.path ?? null;
      return null;
    };
    const sorted = [...list].sort((a, b) => (a.interfaceNumber ?? 99) - (b.interfaceNumber ?? 99));
    const atPort = pick(model?.atInterface, model?.atClass);
    out.push({
      vendor: profile.name,
      model: model?.model ?? null,
      vendorId: vid,
      productId: pid,
      atPort,
      dataPort:
        model && model.dataInterface === undefined && model.dataClass === undefined
          ? atPort
          : pick(model?.dataInterface, model?.dataClass),
      ports: sorted,
    });
  }
  return out;
}

/** `ff/*\/02` against `ff/02/02`: each of the three fields equal, or `*`. */
export function classMatches(actual: string | undefined, pattern: string | undefined): boolean {
  if (!actual || !pattern) return false;
  const a = actual.toLowerCase().split('/');
  const p = pattern.toLowerCase().split('/');
  return a.length === 3 && p.length === 3 && p.every((f, i) => f === '*' || f === a[i]);
}

/** The interface number in a udev by-id name such as `usb-Quectel_EG25-G-if02-port0`. */
export function interfaceFromPnpId(pnpId: string | undefined): number | undefined {
  const m = pnpId ? /-if(\d{2})(?:-|$)/.exec(pnpId) : null;
  return m ? Number.parseInt(m[1]!, 10) : undefined;
}

/**
 * Lists serial ports with their USB identity. serialport's `list()` asks `udevadm`, which
 * minimal systems (containers, some embedded images) lack, and which makes `list()` fail
 * with an unhandled error; there the ports are read from sysfs instead.
 */
export async function listSerialPorts(): Promise<SerialPortInfo[]> {
  if (process.platform === 'linux' && !(await onPath('udevadm'))) return listFromSysfs();
  const ports = await SerialPort.list();
  return ports.map((p) => {
    const info: SerialPortInfo = { path: p.path };
    if (p.vendorId) info.vendorId = p.vendorId.toLowerCase();
    if (p.productId) info.productId = p.productId.toLowerCase();
    const n = interfaceFromPnpId(p.pnpId);
    if (n !== undefined) info.interfaceNumber = n;
    if (p.manufacturer) info.manufacturer = p.manufacturer;
    if (p.serialNumber) info.serialNumber = p.serialNumber;
    if (p.locationId) info.device = p.locationId;
    return info;
  });
}

export async function discoverModems(): Promise<DiscoveredModem[]> {
  return classifyPorts(await listSerialPorts());
}

async function onPath(cmd: string): Promise<boolean> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, cmd));
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Reads /sys/class/tty/ttyUSB* and ttyACM*: interface dir (bInterfaceNumber), its USB device dir (idVendor). */
export async function listFromSysfs(root = '/sys/class/tty'): Promise<SerialPortInfo[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const out: SerialPortInfo[] = [];
  for (const name of names.filter((n) => /^tty(USB|ACM)\d+$/.test(n)).sort()) {
    const info: SerialPortInfo = { path: `/dev/${name}` };
    try {
      let dir = await realpath(join(root, name, 'device'));
      for (let i = 0; i < 4; i++) {
        const n = await readTrimmed(join(dir, 'bInterfaceNumber'));
        if (n !== undefined) {
          info.interfaceNumber = Number.parseInt(n, 16);
          const cls = await readTrimmed(join(dir, 'bInterfaceClass'));
          const sub = await readTrimmed(join(dir, 'bInterfaceSubClass'));
          const proto = await readTrimmed(join(dir, 'bInterfaceProtocol'));
          if (cls && sub && proto) info.interfaceClass = `${cls}/${sub}/${proto}`.toLowerCase();
          const usb = dirname(dir);
          const vid = await readTrimmed(join(usb, 'idVendor'));
          const pid = await readTrimmed(join(usb, 'idProduct'));
          if (vid) info.vendorId = vid.toLowerCase();
          if (pid) info.productId = pid.toLowerCase();
          const man = await readTrimmed(join(usb, 'manufacturer'));
          if (man) info.manufacturer = man;
          const serial = await readTrimmed(join(usb, 'serial'));
          if (serial) info.serialNumber = serial;
          info.device = usb;
          break;
        }
        dir = dirname(dir);
      }
    } catch {
      // not a USB port, or sysfs without the files
    }
    out.push(info);
  }
  return out;
}

async function readTrimmed(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}
