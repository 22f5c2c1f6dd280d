// The one way a value enters SQL text that wharf sends to a database (secret rotation): names
// as quoted identifiers, values as string literals. PostgreSQL with standard_conforming_strings
// (the default) treats a backslash literally; MySQL/MariaDB do not, so theirs escape it too.

function noNul(value: string): string {
  if (value.includes('\0')) throw new Error('bug: a NUL byte cannot be in SQL text');
  return value;
}

/** "name" for PostgreSQL; a " inside is doubled. */
export function pgIdent(value: string): string {
  return `"${noNul(value).replaceAll('"', '""')}"`;
}

/** 'value' for PostgreSQL; a ' inside is doubled. */
export function pgLiteral(value: string): string {
  return `'${noNul(value).replaceAll("'", "''")}'`;
}

/** 'value' for MySQL/MariaDB: backslash and ' escaped. */
export function mysqlLiteral(value: string): string {
  return `'${noNul(value).replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** `name` for MySQL/MariaDB; a backtick inside is doubled. */
export function mysqlIdent(value: string): string {
  return `\`${noNul(value).replaceAll('`', '``')}\``;
}
