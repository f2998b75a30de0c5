import { spawnSync } from 'node:child_process';

/** The protocol stacks tshark decodes in a capture, one per frame, and the malformed ones. */
export function tsharkDecode(file: string): { protocols: string[]; malformed: string[] } {
  const fields = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.protocols'], {
    encoding: 'utf8',
  });
  if (fields.status !== 0) throw new Error(`tshark failed: ${fields.stderr}`);
  const bad = spawnSync('tshark', ['-r', file, '-Y', '_ws.malformed || _ws.expert.severity == error'], {
    encoding: 'utf8',
  });
  return {
    protocols: fields.stdout.split('\n').filter((l) => l.length > 0),
    malformed: bad.stdout.split('\n').filter((l) => l.trim().length > 0),
  };
}
