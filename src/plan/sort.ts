// One comparator for every sorted output: plain UTF-16 code-unit order, the same on every
// machine. localeCompare depends on the process's locale (ICU collation: case folded,
// punctuation ignored at first level), so rendered files would differ between hosts.

export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
