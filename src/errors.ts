/**
 * Typed errors. Every error moat raises on purpose carries a stable `code`
 * (MOAT_ERR_*), so callers, the control protocol and tests can tell failures
 * apart without parsing messages. Where an error comes from a file, `file`,
 * `line` and `option` say exactly where.
 */

export interface ErrorLocation {
  file?: string;
  line?: number;
  section?: string;
  option?: string;
}

export class MoatError extends Error {
  override name = 'MoatError';
  readonly code: string;
  readonly file?: string;
  readonly line?: number;
  readonly section?: string;
  readonly option?: string;

  constructor(code: string, message: string, where: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(formatMessage(message, where), options);
    this.code = code;
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.section !== undefined) this.section = where.section;
    if (where.option !== undefined) this.option = where.option;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      file: this.file,
      line: this.line,
      section: this.section,
      option: this.option,
    };
  }
}

function formatMessage(message: string, where: ErrorLocation): string {
  const parts: string[] = [];
  if (where.file) parts.push(where.line ? `${where.file}:${where.line}` : where.file);
  if (where.section) parts.push(`[${where.section}]`);
  if (where.option) parts.push(`option '${where.option}'`);
  return parts.length ? `${parts.join(' ')}: ${message}` : message;
}

/** Syntax error in an INI/ConfigParser file (bad line, duplicate option in one file...). */
export class ConfigSyntaxError extends MoatError {
  override name = 'ConfigSyntaxError';
  constructor(message: string, where: ErrorLocation) {
    super('MOAT_ERR_CONFIG_SYNTAX', message, where);
  }
}

/** A value could not be resolved or converted (bad %(x)s, bad time value, bad int...). */
export class ConfigValueError extends MoatError {
  override name = 'ConfigValueError';
  constructor(message: string, where: ErrorLocation = {}, options?: { cause?: unknown }) {
    super('MOAT_ERR_CONFIG_VALUE', message, where, options);
  }
}

/** A referenced config unit (filter.d/x, action.d/y, jail) does not exist. */
export class ConfigNotFoundError extends MoatError {
  override name = 'ConfigNotFoundError';
  constructor(message: string, where: ErrorLocation = {}) {
    super('MOAT_ERR_CONFIG_NOT_FOUND', message, where);
  }
}

/** A regex (failregex, prefregex, ignoreregex, datepattern) cannot be compiled. */
export class RegexError extends MoatError {
  override name = 'RegexError';
  constructor(message: string, where: ErrorLocation = {}, options?: { cause?: unknown }) {
    super('MOAT_ERR_REGEX', message, where, options);
  }
}

/** A date pattern or time zone is invalid. */
export class DateError extends MoatError {
  override name = 'DateError';
  constructor(message: string, where: ErrorLocation = {}) {
    super('MOAT_ERR_DATE', message, where);
  }
}

/** Unknown jail in a request. */
export class UnknownJailError extends MoatError {
  override name = 'UnknownJailError';
  readonly jail: string;
  constructor(jail: string) {
    super('MOAT_ERR_UNKNOWN_JAIL', `Sorry but the jail '${jail}' does not exist`);
    this.jail = jail;
  }
}

/** A control-protocol request that is malformed, oversized or unknown. */
export class ProtocolError extends MoatError {
  override name = 'ProtocolError';
  constructor(message: string) {
    super('MOAT_ERR_PROTOCOL', message);
  }
}

/** Bad command line of `moat` or `moat regex` (unknown option, missing value...). */
export class UsageError extends MoatError {
  override name = 'UsageError';
  constructor(message: string) {
    super('MOAT_ERR_USAGE', message);
  }
}

/** Invalid argument to a command (bad IP, bad option value...). */
export class InvalidArgumentError extends MoatError {
  override name = 'InvalidArgumentError';
  constructor(message: string) {
    super('MOAT_ERR_INVALID_ARGUMENT', message);
  }
}

/** An action command failed or timed out. */
export class ActionError extends MoatError {
  override name = 'ActionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('MOAT_ERR_ACTION', message, {}, options);
  }
}

/** The persistent store could not be opened or written. */
export class StoreError extends MoatError {
  override name = 'StoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('MOAT_ERR_STORE', message, {}, options);
  }
}
