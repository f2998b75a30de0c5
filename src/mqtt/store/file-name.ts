import { createHash } from 'node:crypto';

/**
 * A client id as a file name: [A-Za-z0-9_-] stay, every other UTF-8 byte becomes %XX, so two
 * ids never share a file and '.', '/', '..' cannot appear. The empty id is '@empty'; an id
 * whose name would pass 160 characters keeps a prefix and a '~' plus a SHA-256 of the id.
 * ('@' and '~' are escaped otherwise, so neither form can collide with a plain one.)
 */
export function storeFileBase(clientId: string): string {
  if (clientId === '') return '@empty';
  let out = '';
  for (const b of Buffer.from(clientId, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length <= 160) return out;
  return `${out.slice(0, 120)}~${createHash('sha256').update(clientId, 'utf8').digest('hex').slice(0, 32)}`;
}
