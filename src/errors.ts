// What a failure means to the person who ran wharf, decided where the error is made:
// - InputError: the input was refused before anything changed (exit 2);
// - OperationError: an operation ran and did not succeed (exit 1).
// Anything else thrown is a bug in wharf (src/cli/main.ts maps it to exit 70, "please report").
// The classes users can meet extend one of these two, so the boundary never lists them.

export interface ErrorDetails {
  /** what to do about it, one short sentence (a command that exists, a key to change) */
  hint?: string;
  cause?: unknown;
}

export class InputError extends Error {
  readonly hint?: string;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'InputError';
    if (details.hint) this.hint = details.hint;
  }
}

export class OperationError extends Error {
  readonly hint?: string;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'OperationError';
    if (details.hint) this.hint = details.hint;
  }
}
