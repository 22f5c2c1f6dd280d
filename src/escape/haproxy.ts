// The one way a value enters haproxy.cfg. HAProxy reads its config line by line and splits
// words on spaces; "2.2 Quoting and escaping" of its configuration manual: inside double
// quotes a backslash escapes the next character, `\n`, `\r`, `\t` and `\xNN` stand for the
// bytes, `$` expands environment variables unless escaped, and `#` starts no comment. So
// every value is written double-quoted with \ " $ # escaped and control bytes as \xNN: no
// value can end the word, start a comment, expand a variable or break the line.

export function haproxyQuote(value: string): string {
  if (value.includes('\0')) throw new Error('bug: a NUL byte cannot be in haproxy.cfg');
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"' || ch === '$' || ch === '#') out += `\\${ch}`;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A word that needs no quotes stays bare (readable configs); anything else is quoted. */
export function haproxyWord(value: string): string {
  return /^[A-Za-z0-9._/~:@%+=,^-]+$/.test(value) ? value : haproxyQuote(value);
}

/** A value in a log-format argument (`hdr <name> <fmt>`, `set-header`): `%` starts a sample
 *  expression there (`%[src]`) and a lone `%` is a parse error, so it is doubled first. */
export function haproxyLogFormat(value: string): string {
  return haproxyWord(value.replaceAll('%', '%%'));
}
