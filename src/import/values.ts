// Compose's canonical values turned into the spec's: names, durations, sizes, password-like keys.

const NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

/** A Compose name (letters, digits, `_`, `.`, `-`) as a wharf name: lowercase, dashes, 2-32 chars. */
export function wharfName(s: string, fallback = 'app'): string {
  let n = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  if (n.length === 1) n = `${n}0`;
  return NAME.test(n) ? n : fallback;
}

/** Names unique within one namespace: a clash gets -2, -3... */
export function uniqueName(wanted: string, taken: Set<string>): string {
  let n = wanted;
  for (let i = 2; taken.has(n); i++) n = `${wanted.slice(0, 29)}-${i}`;
  taken.add(n);
  return n;
}

/** Go durations (1m30s, 500ms, 1.5s) as the spec's (15s, 1m30s, 500ms): fractions become ms. */
export function specDuration(go: string): string | undefined {
  if (/^(\d+(ms|s|m|h))+$/.test(go)) return go;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  let ms = 0;
  const parts = go.matchAll(/([\d.]+)(ms|us|µs|ns|h|m|s)/g);
  let seen = '';
  for (const [all, n, u] of parts) {
    ms += Number(n) * units[u!]!;
    seen += all;
  }
  if (seen !== go || !Number.isFinite(ms) || ms < 1) return undefined;
  return `${Math.round(ms)}ms`;
}

/** Bytes (Compose prints memory as a byte count) as a size like 256M. */
export function specSize(v: string | number): string | undefined {
  const bytes = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) return undefined;
  for (const [u, f] of [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const)
    if (bytes % f === 0) return `${bytes / f}${u}`;
  return `${Math.ceil(bytes / 1024)}K`;
}

/** Compose writes a literal `$` as `$$` in its canonical output; the spec holds the plain value. */
export const unescapeDollars = (s: string) => s.replaceAll('$$', '$');

// a key named for what it protects (N8N_ENCRYPTION_KEY), not any *_KEY: SORT_KEY is no secret, and the app must read NAME_FILE
const PASSWORD_KEY = new RegExp(
  '(pass(word|wd|phrase)?|secret|token|api_?key|access_?key|private_?key|credential|auth_?key|salt|_pw$|^pw$' +
    '|(encryption|signing|master|session|jwt|cookie|hmac)_?key)',
  'i',
);

/** An environment variable whose value is a secret by its name (not *_FILE: that holds a path). */
export const passwordLikeKey = (k: string) => PASSWORD_KEY.test(k) && !/_FILE$/i.test(k);

/** A URL with a password in it (scheme://user:password@host). */
export const hasUrlPassword = (v: string) => /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:[^/@\s]+@/i.test(v);

/**
 * One rule for an image with no version: untagged and `:latest` are the same pull, written untagged (the form
 * `wharf check` accepts, with a warning; it refuses an explicit `:latest`). A digest pins it: kept verbatim.
 */
export function floatingImage(image: string): { ref: string; floating: boolean } {
  if (image.includes('@')) return { ref: image, floating: false };
  const last = image.slice(image.lastIndexOf('/') + 1);
  if (last.endsWith(':latest')) return { ref: image.slice(0, -':latest'.length), floating: true };
  return { ref: image, floating: !last.includes(':') };
}

export const FLOATING_WHY =
  'no version tag, written untagged (":latest" is implied and the same image is pulled); pin a tag, `wharf check` warns';
