import { CellstackError } from '../index.js';

/**
 * A minimal HTTP/1.1 client for `cellstack get` (RFC 9112): the request bytes, and a sans-I/O
 * response parser fed with whatever the connection delivers. It reads one response to a GET:
 * the status line, the header fields (bounded), interim 1xx responses (skipped), and the body
 * by chunked transfer coding, Content-Length, or until the connection closes (RFC 9112 6.3).
 */

/** Limits: the whole head (status line and fields) and the trailer section, each. */
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_FIELDS = 256;
const MAX_CHUNK_LINE = 4096;
const MAX_INTERIM = 16;

/**
 * A response that is not HTTP/1.x as RFC 9112 writes it. Codes: `HTTP_BAD_RESPONSE` (a status
 * line, field, Content-Length or chunk that does not parse), `HTTP_HEADERS_TOO_LARGE` (head or
 * trailers over MAX_HEAD_BYTES, or more than 256 fields), `HTTP_EMPTY_RESPONSE` (closed before
 * any byte), `HTTP_TRUNCATED` (closed before the head or the body was complete).
 */
export class HttpError extends CellstackError {
  constructor(code: HttpErrorCode, message: string) {
    super(code, message);
    this.name = 'HttpError';
  }
}
export type HttpErrorCode =
  | 'HTTP_BAD_RESPONSE'
  | 'HTTP_HEADERS_TOO_LARGE'
  | 'HTTP_EMPTY_RESPONSE'
  | 'HTTP_TRUNCATED';

export interface ResponseHead {
  /** '1.1' or '1.0'. */
  version: string;
  status: number;
  reason: string;
  /** Field lines in order, names as sent. */
  headers: Array<[string, string]>;
}

export type ResponseEvent =
  | { type: 'head'; head: ResponseHead }
  | { type: 'body'; data: Buffer }
  | { type: 'done' };

export interface RequestOptions {
  /** The origin-form target: path and query, e.g. `/index.html?a=1`. */
  target: string;
  /** The Host field: host[:port], the port only when it is not the scheme's default. */
  host: string;
  userAgent: string;
}

/** The bytes of a GET request that asks the server to close after the response (fields as a URL gives them: no CR or LF). */
export function formatGet(o: RequestOptions): Buffer {
  return Buffer.from(
    `GET ${o.target} HTTP/1.1\r\nHost: ${o.host}\r\nUser-Agent: ${o.userAgent}\r\nAccept: */*\r\n` +
      'Connection: close\r\n\r\n',
    'latin1',
  );
}

/** The first value of a field (names compare case-insensitively). */
export function header(head: ResponseHead, name: string): string | undefined {
  const lower = name.toLowerCase();
  return head.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: (.*))?$/;

type Framing = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'none' };
type ChunkState = 'size' | 'data' | 'data-end' | 'trailers';

/**
 * Parses one HTTP/1.1 response to a GET. `feed` returns the events the bytes complete; `end`
 * (the connection closed) completes a body read until close and throws HTTP_TRUNCATED for
 * anything else unfinished. Bytes after the response are ignored (we asked to close).
 * Body events are slices of the input, not copies.
 */
export class ResponseParser {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of the head (or trailers) so far, and how far `pending` has been searched for LF. */
  private sectionBytes = 0;
  private scanned = 0;
  private state: 'head' | 'body' | 'done' = 'head';
  private head: ResponseHead | undefined;
  private framing: Framing = { kind: 'none' };
  private chunk: ChunkState = 'size';
  private chunkLeft = 0;
  private interim = 0;
  private sawBytes = false;
  /** Body octets delivered so far. */
  bodyBytes = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  feed(input: Buffer): ResponseEvent[] {
    const out: ResponseEvent[] = [];
    if (this.state === 'done' || input.length === 0) return out;
    this.sawBytes = true;
    this.pending = this.pending.length === 0 ? input : Buffer.concat([this.pending, input]);
    // Each step consumes from `pending` or returns false when it needs more bytes.
    while (this.step(out)) {}
    return out;
  }

  end(): ResponseEvent[] {
    if (this.state === 'done') return [];
    if (this.state === 'body' && this.framing.kind === 'close') {
      this.state = 'done';
      return [{ type: 'done' }];
    }
    if (!this.sawBytes) throw new HttpError('HTTP_EMPTY_RESPONSE', 'the server closed without a response');
    if (this.state === 'head')
      throw new HttpError('HTTP_TRUNCATED', 'the connection closed in the middle of the response head');
    const what =
      this.framing.kind === 'length'
        ? `after ${this.bodyBytes} of ${this.bodyBytes + this.framing.left} body bytes`
        : `in the middle of the chunked body (after ${this.bodyBytes} bytes)`;
    throw new HttpError('HTTP_TRUNCATED', `the connection closed ${what}`);
  }

  private step(out: ResponseEvent[]): boolean {
    if (this.state === 'done') return false;
    if (this.state === 'head') return this.headLine(out);
    const f = this.framing;
    if (f.kind === 'close') return this.body(out, this.pending.length);
    if (f.kind === 'length') {
      const ok = this.body(out, Math.min(f.left, this.pending.length));
      if (f.left === 0) this.finish(out);
      return ok;
    }
    return this.chunked(out);
  }

  /** Hands up to `n` pending octets to the body. */
  private body(out: ResponseEvent[], n: number): boolean {
    if (n === 0) return false;
    out.push({ type: 'body', data: this.pending.subarray(0, n) });
    this.pending = this.pending.subarray(n);
    this.bodyBytes += n;
    if (this.framing.kind === 'length') this.framing.left -= n;
    return true;
  }

  private finish(out: ResponseEvent[]): void {
    this.state = 'done';
    this.pending = Buffer.alloc(0);
    out.push({ type: 'done' });
  }

  /** One line of the head or the trailers, without its CRLF (a bare LF is accepted, RFC 9112 2.2). */
  private line(limit: number, what: string): string | undefined {
    const lf = this.pending.indexOf(0x0a, this.scanned);
    if (lf < 0) {
      this.scanned = this.pending.length;
      if (this.sectionBytes + this.pending.length > limit)
        throw new HttpError('HTTP_HEADERS_TOO_LARGE', `the ${what} is over ${limit} bytes`);
      return undefined;
    }
    this.sectionBytes += lf + 1;
    if (this.sectionBytes > limit)
      throw new HttpError('HTTP_HEADERS_TOO_LARGE', `the ${what} is over ${limit} bytes`);
    const end = lf > 0 && this.pending[lf - 1] === 0x0d ? lf - 1 : lf;
    const text = this.pending.toString('latin1', 0, end);
    this.pending = this.pending.subarray(lf + 1);
    this.scanned = 0;
    return text;
  }

  private headLine(out: ResponseEvent[]): boolean {
    const text = this.line(MAX_HEAD_BYTES, 'response head');
    if (text === undefined) return false;
    if (this.head === undefined) {
      const m = STATUS_LINE.exec(text);
      if (!m) {
        const shown = text.length > 60 ? `${text.slice(0, 60)}...` : text;
        throw new HttpError('HTTP_BAD_RESPONSE', `not an HTTP/1.x status line: ${JSON.stringify(shown)}`);
      }
      const reason = m[3] ?? '';
      if (/[\0\r]/.test(reason))
        throw new HttpError('HTTP_BAD_RESPONSE', 'a control character in the reason phrase');
      this.head = { version: `1.${m[1]}`, status: Number(m[2]), reason, headers: [] };
      return true;
    }
    const head = this.head;
    if (text.length > 0) {
      this.field(head.headers, text);
      return true;
    }
    // The empty line: the head is complete.
    this.sectionBytes = 0;
    if (head.status < 200) {
      if (head.status === 101)
        throw new HttpError('HTTP_BAD_RESPONSE', 'the server switched protocols (101) without being asked');
      if (++this.interim > MAX_INTERIM)
        throw new HttpError('HTTP_BAD_RESPONSE', `more than ${MAX_INTERIM} interim (1xx) responses`);
      this.head = undefined; // an interim response: the final one follows
      return true;
    }
    out.push({ type: 'head', head });
    this.framing = framing(head);
    if (this.framing.kind === 'none' || (this.framing.kind === 'length' && this.framing.left === 0)) {
      this.finish(out);
      return false;
    }
    this.state = 'body';
    return true;
  }

  private field(list: Array<[string, string]>, text: string): void {
    if (text.startsWith(' ') || text.startsWith('\t')) {
      // obs-fold (RFC 9112 5.2): a user agent replaces it with a space.
      const last = list.at(-1);
      if (!last) throw new HttpError('HTTP_BAD_RESPONSE', 'a folded line before any field');
      last[1] = `${last[1]} ${text.trim()}`.trim();
      return;
    }
    const colon = text.indexOf(':');
    const name = colon < 0 ? '' : text.slice(0, colon);
    if (!TOKEN.test(name))
      throw new HttpError('HTTP_BAD_RESPONSE', `not a header field: ${JSON.stringify(text.slice(0, 60))}`);
    const value = text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[\0\r]/.test(value))
      throw new HttpError('HTTP_BAD_RESPONSE', `a control character in the ${name} field`);
    if (list.length >= MAX_FIELDS)
      throw new HttpError('HTTP_HEADERS_TOO_LARGE', `more than ${MAX_FIELDS} fields`);
    list.push([name, value]);
  }

  private chunked(out: ResponseEvent[]): boolean {
    switch (this.chunk) {
      case 'size': {
        const text = this.line(MAX_CHUNK_LINE, 'chunk size line');
        if (text === undefined) return false;
        this.sectionBytes = 0;
        const m = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;.*)?$/.exec(text);
        if (!m)
          throw new HttpError('HTTP_BAD_RESPONSE', `not a chunk size: ${JSON.stringify(text.slice(0, 40))}`);
        this.chunkLeft = Number.parseInt(m[1]!, 16);
        this.chunk = this.chunkLeft === 0 ? 'trailers' : 'data';
        return true;
      }
      case 'data': {
        const n = Math.min(this.chunkLeft, this.pending.length);
        if (!this.body(out, n)) return false;
        this.chunkLeft -= n;
        if (this.chunkLeft === 0) this.chunk = 'data-end';
        return true;
      }
      case 'data-end': {
        // The CRLF after the chunk's data (or a bare LF).
        if (this.pending.length === 0) return false;
        if (this.pending[0] === 0x0a) {
          this.pending = this.pending.subarray(1);
        } else if (this.pending[0] === 0x0d) {
          if (this.pending.length < 2) return false;
          if (this.pending[1] !== 0x0a) throw new HttpError('HTTP_BAD_RESPONSE', 'no CRLF after a chunk');
          this.pending = this.pending.subarray(2);
        } else throw new HttpError('HTTP_BAD_RESPONSE', 'a chunk longer than its size');
        this.chunk = 'size';
        return true;
      }
      case 'trailers': {
        const text = this.line(MAX_HEAD_BYTES, 'trailer section');
        if (text === undefined) return false;
        if (text.length > 0) {
          this.field([], text); // checked, then dropped: we have no use for trailers
          return true;
        }
        this.finish(out);
        return false;
      }
    }
  }
}

/** How the body is delimited (RFC 9112 6.3), for a response to GET. */
function framing(head: ResponseHead): Framing {
  if (head.status === 204 || head.status === 304) return { kind: 'none' };
  const te = head.headers.filter(([n]) => n.toLowerCase() === 'transfer-encoding').map(([, v]) => v);
  if (te.length > 0) {
    const codings = te
      .join(',')
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter((c) => c.length > 0);
    // Chunked must be last; otherwise the body runs to the close (RFC 9112 6.3 item 4).
    return codings.at(-1) === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  }
  const cl = head.headers.filter(([n]) => n.toLowerCase() === 'content-length').map(([, v]) => v);
  if (cl.length > 0) {
    const values = new Set(
      cl
        .join(',')
        .split(',')
        .map((v) => v.trim()),
    );
    const [only] = values;
    if (values.size !== 1 || only === undefined || !/^[0-9]{1,15}$/.test(only))
      throw new HttpError('HTTP_BAD_RESPONSE', `an invalid Content-Length: ${JSON.stringify(cl.join(', '))}`);
    return { kind: 'length', left: Number(only) };
  }
  return { kind: 'close' };
}
