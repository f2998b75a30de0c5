import { spawnSync } from 'node:child_process';
import { which } from './peers.js';

/**
 * Shrinks SO_SNDBUF of a socket held by another process (root only): the guest's end of its
 * serial socket pair. Node cannot set socket buffer sizes, and linux.uml's end is the one that
 * matters: an AF_UNIX stream socket queues up to the *sender's* SO_SNDBUF (~200 KiB by
 * default), a queue no serial line has. With a paced LineBridge that queue sits between the
 * guest's PPP and the line and inflates its TCP's RTT (seconds at 115200 baud). The rig
 * (riglib.py) sets 4096 on its socket pairs for the same reason; here the socket is reached
 * with pidfd_getfd(2) (Linux >= 5.6) from a short python3 helper (stdlib ctypes).
 *
 * Returns the effective size (the kernel doubles the request, with a floor of ~4.5 KiB).
 */
const HELPER = `
import ctypes, os, socket, sys
pid, fd, size = (int(x) for x in sys.argv[1:4])
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
nfd = libc.syscall(438, pidfd, fd, 0)  # SYS_pidfd_getfd on x86_64 and the generic table
if nfd < 0:
    raise SystemExit('pidfd_getfd: %s' % os.strerror(ctypes.get_errno()))
s = socket.socket(fileno=nfd)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
print(s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
s.close()
os.close(pidfd)
`;

export function shrinkSendBuffer(pid: number, fd: number, bytes: number): number {
  const py = which('python3');
  if (!py) throw new Error('python3 is needed to shrink the serial socket buffer');
  if (process.arch !== 'x64' && process.arch !== 'arm64')
    throw new Error(`pidfd_getfd number unknown on ${process.arch}`);
  const r = spawnSync(py, ['-c', HELPER, String(pid), String(fd), String(bytes)], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (r.status !== 0)
    throw new Error(`cannot shrink the socket buffer of ${pid}/${fd}: ${r.stderr || r.error}`);
  return Number(r.stdout.trim());
}
