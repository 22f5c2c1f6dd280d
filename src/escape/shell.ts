// The one way a value enters POSIX shell text (job env files that the backup runner
// sources). Single quotes turn off every expansion, newline included; a ' inside is
// closed, escaped and reopened. Commands that need values take them as argv instead.

/** `it's` -> `'it'\''s'`; any string, empty included, becomes exactly one shell word. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('bug: a NUL byte cannot be a shell word');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
