import { CellstackError } from '../../util/errors.js';

/** Any failure of the outgoing store. `code` says which. */
export class StoreError extends CellstackError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

/** `put()` would take the store past `maxEntries` or `maxBytes`. Nothing was written. */
export class StoreFullError extends StoreError {
  readonly limit: 'maxEntries' | 'maxBytes';
  constructor(limit: 'maxEntries' | 'maxBytes', detail: string) {
    super('ESTOREFULL', `outgoing store full (${limit}): ${detail}`);
    this.name = 'StoreFullError';
    this.limit = limit;
  }
}

/** Another live process (or another store object in this one) holds the store's lock. */
export class StoreLockedError extends StoreError {
  readonly pid: number | undefined;
  constructor(path: string, pid: number | undefined) {
    super(
      'ESTORELOCKED',
      `outgoing store ${path} is locked by ${pid === undefined ? 'another owner' : `pid ${pid}`}`,
    );
    this.name = 'StoreLockedError';
    this.pid = pid;
  }
}

/** Writing or syncing the log failed; the store refuses further work until reopened. */
export class StoreIoError extends StoreError {
  constructor(message: string, cause: unknown) {
    super('ESTOREIO', message, { cause });
    this.name = 'StoreIoError';
  }
}

/** The store is not open (never opened, or closed, or failed). */
export class StoreClosedError extends StoreError {
  constructor(state: string) {
    super('ESTORECLOSED', `outgoing store is ${state}`);
    this.name = 'StoreClosedError';
  }
}

/** The log holds intact records of a format version this code does not know. */
export class StoreVersionError extends StoreError {
  constructor(version: number) {
    super('ESTOREVERSION', `outgoing store written by format version ${version}; this code reads version 1`);
    this.name = 'StoreVersionError';
  }
}
