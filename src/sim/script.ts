import type { SimScriptEntry } from './config.js';

/**
 * Scripted answers (`SimModemConfig.script`), consulted before the built-in commands so tests
 * can make the modem answer oddly. The first entry that matches and has uses left wins.
 */
export class ScriptBook {
  private readonly left: number[];

  constructor(private readonly entries: readonly SimScriptEntry[]) {
    this.left = entries.map((e) => e.times ?? Number.POSITIVE_INFINITY);
  }

  /** The entry for one command's text (`+CSQ`, `E0`, `D*99#`), using up one of its uses. */
  match(command: string): SimScriptEntry | undefined {
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if ((this.left[i] ?? 0) <= 0 || !matches(entry.match, command)) continue;
      this.left[i] = (this.left[i] ?? 0) - 1;
      return entry;
    }
    return undefined;
  }
}

function matches(pattern: string | RegExp, command: string): boolean {
  if (typeof pattern === 'string') {
    const p = pattern.trim().replace(/^AT/i, '');
    return p.toUpperCase() === command.toUpperCase();
  }
  pattern.lastIndex = 0;
  return pattern.test(command);
}
