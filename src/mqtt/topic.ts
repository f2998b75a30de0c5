/**
 * Topic names and filters (MQTT 4.7): `/` separates levels, `+` matches one level, `#` (last)
 * matches the rest including the parent level, and a filter starting with a wildcard does not
 * match a topic starting with `$` (4.7.2).
 */

/** Whether `topic` is a valid topic name for PUBLISH: non-empty, no wildcards, no NUL. */
export function isValidTopic(topic: string): boolean {
  return topic.length > 0 && !/[+#\u0000]/.test(topic) && Buffer.byteLength(topic) <= 65535;
}

/** Whether `filter` is a valid topic filter: `#` only last and alone in its level, `+` alone in its level. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000') || Buffer.byteLength(filter) > 65535) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

/** Whether `topic` matches `filter` (4.7). Shared subscriptions (`$share/g/f`) match as `f`. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = sharedTarget(filter).split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The filter a shared subscription (`$share/<group>/<filter>`) stands for, or the filter itself. */
function sharedTarget(filter: string): string {
  if (!filter.startsWith('$share/')) return filter;
  const rest = filter.indexOf('/', 7);
  return rest < 0 ? filter : filter.slice(rest + 1);
}

/** Handlers by topic filter; `match(topic)` gives every handler whose filter matches. */
export class TopicRouter<H> {
  private readonly routes = new Map<string, H[]>();

  add(filter: string, handler: H): void {
    const list = this.routes.get(filter) ?? [];
    if (!list.includes(handler)) list.push(handler);
    this.routes.set(filter, list);
  }

  remove(filter: string): void {
    this.routes.delete(filter);
  }

  filters(): string[] {
    return [...this.routes.keys()];
  }

  match(topic: string): H[] {
    const out: H[] = [];
    for (const [filter, handlers] of this.routes) if (topicMatches(filter, topic)) out.push(...handlers);
    return out;
  }
}
