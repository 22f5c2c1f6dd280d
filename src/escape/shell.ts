// The one way a value enters POSIX shell text: job env files that the backup runner sources
// (shellQuote), and commands shown to people (shellWord). Single quotes turn off every
// expansion, newline included; a ' inside is closed, escaped and reopened. Commands that
// run take their values as argv instead, never through a shell.

/** `it's` -> `'it'\''s'`; any string, empty included, becomes exactly one shell word. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('bug: a NUL byte cannot be a shell word');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Like shellQuote, but a word that needs no quotes stays bare (`compose.yaml`, `a=b`): for display. */
export function shellWord(value: string): string {
  return SAFE_WORD.test(value) ? value : shellQuote(value);
}
