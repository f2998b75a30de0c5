import { describe, expect, it } from 'vitest';
import {
  formatGet,
  HttpError,
  MAX_HEAD_BYTES,
  type ResponseHead,
  ResponseParser,
} from '../../src/cli/http1.js';

/** The HTTP/1.1 response parser behind `cellstack get`, fed whole and one byte at a time. */

interface Parsed {
  head: ResponseHead | undefined;
  body: string;
  done: boolean;
}

function parse(input: string, opts: { byByte?: boolean; close?: boolean } = {}): Parsed {
  const p = new ResponseParser();
  const out: Parsed = { head: undefined, body: '', done: false };
  const take = (evs: ReturnType<ResponseParser['feed']>) => {
    for (const ev of evs) {
      if (ev.type === 'head') out.head = ev.head;
      else if (ev.type === 'body') out.body += ev.data.toString('latin1');
      else out.done = true;
    }
  };
  const bytes = Buffer.from(input, 'latin1');
  if (opts.byByte) for (let i = 0; i < bytes.length; i++) take(p.feed(bytes.subarray(i, i + 1)));
  else take(p.feed(bytes));
  if (opts.close) take(p.end());
  return out;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof HttpError ? err.code : `not HttpError: ${String(err)}`;
  }
  return undefined;
}

describe('HTTP/1.1 response parser', () => {
  it('formats the GET request', () => {
    expect(
      formatGet({ target: '/a?b=1', host: 'example.com:8080', userAgent: 'cellstack/1.2.3' }).toString(),
    ).toBe(
      'GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: cellstack/1.2.3\r\nAccept: */*\r\nConnection: close\r\n\r\n',
    );
  });

  for (const byByte of [false, true]) {
    const how = byByte ? 'one byte at a time' : 'whole';
    it(`Content-Length, ${how}`, () => {
      const r = parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b c \r\n\r\nhelloEXTRA', { byByte });
      expect(r.head).toEqual({
        version: '1.1',
        status: 200,
        reason: 'OK',
        headers: [
          ['Content-Length', '5'],
          ['X-A', 'b c'],
        ],
      });
      expect(r.body).toBe('hello');
      expect(r.done).toBe(true);
    });

    it(`chunked with extensions and trailers, ${how}`, () => {
      const r = parse(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n' +
          '5;name=value\r\nhello\r\nA \r\n, world!!!\r\n0\r\nX-Trailer: yes\r\n\r\n',
        { byByte },
      );
      expect(r.body).toBe('hello, world!!!');
      expect(r.done).toBe(true);
    });

    it(`interim 1xx responses are skipped, ${how}`, () => {
      const r = parse(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
        {
          byByte,
        },
      );
      expect(r.head?.status).toBe(204);
      expect(r.done).toBe(true);
    });
  }

  it('without a length the body runs to the close; bare LF line ends and obs-fold are accepted', () => {
    const r = parse('HTTP/1.0 200 ok\nServer: a\n  b\n\nabc', { close: true });
    expect(r.head?.headers).toEqual([['Server', 'a b']]);
    expect(r.body).toBe('abc');
    expect(r.done).toBe(true);
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz', { close: true }).body).toBe('zz');
    expect(parse('HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n').head).toMatchObject({
      status: 404,
      reason: '',
    });
    expect(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n').done).toBe(true);
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\n\r\nabcd').body).toBe('abcd');
  });

  it('rejects what is not HTTP/1.x, bad fields, bad lengths and bad chunks', () => {
    const bad = (s: string) => code(() => parse(s, { close: true }));
    expect(bad('SSH-2.0-OpenSSH\r\n')).toBe('HTTP_BAD_RESPONSE');
    expect(bad('HTTP/2 200\r\n\r\n')).toBe('HTTP_BAD_RESPONSE');
    expect(bad('HTTP/1.1 20 OK\r\n\r\n')).toBe('HTTP_BAD_RESPONSE');
    expect(bad('HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n')).toBe('HTTP_BAD_RESPONSE');
    expect(bad('HTTP/1.1 200 OK\r\nNoColon\r\n\r\n')).toBe('HTTP_BAD_RESPONSE');
    expect(bad('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd')).toBe(
      'HTTP_BAD_RESPONSE',
    );
    expect(bad('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n')).toBe('HTTP_BAD_RESPONSE');
    expect(bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')).toBe('HTTP_BAD_RESPONSE');
    expect(bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n')).toBe(
      'HTTP_BAD_RESPONSE',
    );
    expect(bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n')).toBe(
      'HTTP_BAD_RESPONSE',
    );
    expect(bad('HTTP/1.1 101 Switching Protocols\r\n\r\n')).toBe('HTTP_BAD_RESPONSE');
  });

  it('bounds the head, the trailers and the chunk size line', () => {
    const big = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`;
    expect(code(() => parse(big))).toBe('HTTP_HEADERS_TOO_LARGE');
    // Without a line end at all: caught as it grows, not at the end.
    const p = new ResponseParser();
    expect(
      code(() => {
        for (let i = 0; i < 100; i++) p.feed(Buffer.alloc(1024, 0x41));
      }),
    ).toBe('HTTP_HEADERS_TOO_LARGE');
    const many = `HTTP/1.1 200 OK\r\n${'A: b\r\n'.repeat(300)}\r\n`;
    expect(code(() => parse(many))).toBe('HTTP_HEADERS_TOO_LARGE');
    const trailers = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ${'x'.repeat(MAX_HEAD_BYTES)}\r\n`;
    expect(code(() => parse(trailers))).toBe('HTTP_HEADERS_TOO_LARGE');
    const sizeLine = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;${'e'.repeat(5000)}`;
    expect(code(() => parse(sizeLine))).toBe('HTTP_HEADERS_TOO_LARGE');
  });

  it('reports a close before the end as HTTP_TRUNCATED (HTTP_EMPTY_RESPONSE before any byte)', () => {
    expect(code(() => new ResponseParser().end())).toBe('HTTP_EMPTY_RESPONSE');
    expect(code(() => parse('HTTP/1.1 200 OK\r\nContent-', { close: true }))).toBe('HTTP_TRUNCATED');
    expect(code(() => parse('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc', { close: true }))).toBe(
      'HTTP_TRUNCATED',
    );
    expect(
      code(() => parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', { close: true })),
    ).toBe('HTTP_TRUNCATED');
  });
});
