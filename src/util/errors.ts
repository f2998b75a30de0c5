/**
 * Base class of every error the stack throws. `code` is stable and meant for programs;
 * `message` is for people. Layers derive their own classes (ModemError, PppError, ...).
 */
export class CellstackError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CellstackError';
    this.code = code;
  }
}

/** Thrown by `parseX()` wire/response parsers; callers drop and count the input. */
export class MalformedPacket extends CellstackError {
  constructor(what: string, detail: string) {
    super('MALFORMED', `malformed ${what}: ${detail}`);
    this.name = 'MalformedPacket';
  }
}

/** Thrown for a broken configuration or an invalid argument given by the caller. */
export class ConfigError extends CellstackError {
  constructor(message: string) {
    super('BAD_CONFIG', message);
    this.name = 'ConfigError';
  }
}
