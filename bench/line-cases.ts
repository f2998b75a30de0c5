/** The paced-line cases both the kernel anchor and cellstack's goodput bench run. */
export interface LineCase {
  label: string;
  baud: number;
  bytes: number;
  dir: 'up' | 'down';
  netem?: string;
}

export const LINE_CASES: readonly LineCase[] = [
  { label: '115200 up 512K', baud: 115_200, bytes: 512 << 10, dir: 'up' },
  { label: '115200 down 512K', baud: 115_200, bytes: 512 << 10, dir: 'down' },
  { label: '921600 up 512K', baud: 921_600, bytes: 512 << 10, dir: 'up' },
  { label: '921600 down 512K', baud: 921_600, bytes: 512 << 10, dir: 'down' },
  { label: '115200 up 256K delay 300ms', baud: 115_200, bytes: 256 << 10, dir: 'up', netem: 'delay 300ms' },
  {
    label: '115200 up 256K delay 300ms loss 2%',
    baud: 115_200,
    bytes: 256 << 10,
    dir: 'up',
    netem: 'delay 300ms loss 2%',
  },
  {
    label: '115200 down 256K delay 300ms loss 2%',
    baud: 115_200,
    bytes: 256 << 10,
    dir: 'down',
    netem: 'delay 300ms loss 2%',
  },
];
