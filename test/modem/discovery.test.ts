import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  classifyPorts,
  interfaceFromPnpId,
  listFromSysfs,
  type SerialPortInfo,
} from '../../src/modem/discovery.js';

const port = (
  path: string,
  vid: string,
  pid: string,
  n: number,
  cls?: string,
  device = 'usb1',
): SerialPortInfo => ({
  path,
  vendorId: vid,
  productId: pid,
  interfaceNumber: n,
  device,
  ...(cls ? { interfaceClass: cls } : {}),
});

describe('port discovery', () => {
  it('names the AT and PPP ports of a Quectel EC25 by interface number', () => {
    const found = classifyPorts([0, 1, 2, 3].map((n) => port(`/dev/ttyUSB${n}`, '2c7c', '0125', n)));
    expect(found).toEqual([
      expect.objectContaining({
        vendor: 'quectel',
        model: 'EC25/EG25',
        atPort: '/dev/ttyUSB2',
        dataPort: '/dev/ttyUSB3',
      }),
    ]);
  });

  it("names a Huawei stick's ports by interface class, whatever their numbers", () => {
    const found = classifyPorts([
      port('/dev/ttyUSB0', '12d1', '1506', 0, 'ff/02/01'),
      port('/dev/ttyUSB1', '12d1', '1506', 1, 'ff/02/12'),
      port('/dev/ttyUSB2', '12d1', '1506', 2, 'ff/02/02'),
    ]);
    expect(found[0]).toMatchObject({ vendor: 'huawei', atPort: '/dev/ttyUSB2', dataPort: '/dev/ttyUSB0' });
  });

  it('keeps two modems apart and ignores unknown vendors and unknown products', () => {
    const found = classifyPorts([
      port('/dev/ttyUSB0', '1e0e', '9001', 2, undefined, 'usb1'),
      port('/dev/ttyUSB1', '1e0e', '9001', 3, undefined, 'usb1'),
      port('/dev/ttyUSB4', '1e0e', '9001', 2, undefined, 'usb2'),
      port('/dev/ttyUSB5', '1e0e', '9001', 3, undefined, 'usb2'),
      port('/dev/ttyACM0', '2341', '0043', 0),
      port('/dev/ttyUSB9', '2c7c', 'ffff', 0),
      { path: '/dev/ttyS0' },
    ]);
    expect(found.map((m) => [m.vendor, m.atPort, m.dataPort])).toEqual([
      ['simcom', '/dev/ttyUSB0', '/dev/ttyUSB1'],
      ['simcom', '/dev/ttyUSB4', '/dev/ttyUSB5'],
      ['quectel', null, null],
    ]);
  });

  it('reads the interface number from a udev by-id name', () => {
    expect(interfaceFromPnpId('usb-Quectel_EG25-G-if02-port0')).toBe(2);
    expect(interfaceFromPnpId('usb-u-blox_AG_-_www.u-blox.com_u-blox_Modem-if06')).toBe(6);
    expect(interfaceFromPnpId('pci-serial')).toBeUndefined();
  });

  it('reads USB identity from sysfs when udevadm is missing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cellstack-sysfs-'));
    try {
      const usb = join(root, 'devices', '1-1');
      for (const [n, proto] of [
        [0, '01'],
        [2, '02'],
      ] as const) {
        const intf = join(usb, `1-1:1.${n}`);
        mkdirSync(join(intf, `ttyUSB${n}`), { recursive: true });
        writeFileSync(join(intf, 'bInterfaceNumber'), `0${n}\n`);
        writeFileSync(join(intf, 'bInterfaceClass'), 'ff\n');
        writeFileSync(join(intf, 'bInterfaceSubClass'), '02\n');
        writeFileSync(join(intf, 'bInterfaceProtocol'), `${proto}\n`);
        mkdirSync(join(root, 'class', 'tty', `ttyUSB${n}`), { recursive: true });
        symlinkSync(join(intf, `ttyUSB${n}`), join(root, 'class', 'tty', `ttyUSB${n}`, 'device'));
      }
      writeFileSync(join(usb, 'idVendor'), '12d1\n');
      writeFileSync(join(usb, 'idProduct'), '1506\n');
      writeFileSync(join(usb, 'manufacturer'), 'HUAWEI_MOBILE\n');
      mkdirSync(join(root, 'class', 'tty', 'ttyS0'));
      const ports = await listFromSysfs(join(root, 'class', 'tty'));
      expect(ports).toEqual([
        {
          path: '/dev/ttyUSB0',
          interfaceNumber: 0,
          interfaceClass: 'ff/02/01',
          vendorId: '12d1',
          productId: '1506',
          manufacturer: 'HUAWEI_MOBILE',
          device: usb,
        },
        {
          path: '/dev/ttyUSB2',
          interfaceNumber: 2,
          interfaceClass: 'ff/02/02',
          vendorId: '12d1',
          productId: '1506',
          manufacturer: 'HUAWEI_MOBILE',
          device: usb,
        },
      ]);
      expect(classifyPorts(ports)[0]).toMatchObject({ atPort: '/dev/ttyUSB2', dataPort: '/dev/ttyUSB0' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
