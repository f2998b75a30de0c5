import { describe, expect, it } from 'vitest';
import { isValidFilter, isValidTopic, TopicRouter, topicMatches } from '../../src/mqtt/topic.js';

describe('topic filters (MQTT 4.7)', () => {
  it.each([
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/tracking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a/x/c', true],
    ['a/+/c', 'a/x/d', false],
    ['#', '$SYS/broker', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['$share/g/a/+', 'a/b', true],
  ])('%s ~ %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('validates filters and names', () => {
    for (const f of ['#', '+', 'a/#', '+/b/+', 'a//b', '/']) expect(isValidFilter(f)).toBe(true);
    for (const f of ['', 'a#', 'a/#/b', 'a+/b', '#/a', 'a/b#']) expect(isValidFilter(f)).toBe(false);
    expect(isValidTopic('a/b')).toBe(true);
    for (const t of ['', 'a/+', 'a/#', 'x\u0000']) expect(isValidTopic(t)).toBe(false);
  });

  it('routes a topic to every matching handler', () => {
    const r = new TopicRouter<string>();
    r.add('a/#', 'h1');
    r.add('a/+', 'h2');
    r.add('a/b', 'h3');
    r.add('a/b', 'h3');
    r.add('#', 'h4');
    expect(r.match('a/b')).toEqual(['h1', 'h2', 'h3', 'h4']);
    expect(r.match('a/b/c')).toEqual(['h1', 'h4']);
    expect(r.match('$SYS/x')).toEqual([]);
    r.remove('a/#');
    expect(r.match('a/b/c')).toEqual(['h4']);
  });
});
