// pgBackRest's configuration file: `key=value`, the value runs to the end of the line and has no
// quoting, so a value is refused (not escaped) when it holds a line break or another control
// character, or starts/ends with a space pgBackRest would trim.
export function pgbackrestValue(value: string): string {
  if (/[\u0000-\u001f\u007f]/.test(value) || value.trim() !== value || value === '')
    throw new Error(`bug: ${JSON.stringify(value)} cannot be a pgBackRest setting (control character, edge space or empty)`);
  return value;
}
