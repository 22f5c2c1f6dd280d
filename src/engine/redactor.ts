// The one place secret values are masked in what wharf prints: plain string search (a secret
// full of regex metacharacters is just text), the longest secret first where two start at the
// same place, and a streaming form that holds back a chunk's tail until it cannot be the start
// of a secret, so a value split across two chunks is still caught.
import { urlComponent } from '../escape/url.js';

export const MASK = '***';
/** Shorter values are left alone: masking "1" would mangle every number in the output. */
export const MIN_SECRET_LENGTH = 6;

/**
 * The forms a secret value is printed in besides itself: percent-encoded (the connection URLs
 * wharf derives encode every password) and base64 (a value an application encodes for an
 * Authorization header or a config blob), trailing whitespace dropped. Each form of at least MIN_SECRET_LENGTH, longest first.
 */
export function secretForms(values: readonly string[]): string[] {
  const out = new Set<string>();
  // a file's trailing newline is not part of the secret: masking it would swallow the line break after it
  for (const v of values.map((x) => x.replace(/\s+$/, ''))) {
    if (v.length < MIN_SECRET_LENGTH) continue;
    out.add(v);
    if (!/\p{Cs}/u.test(v)) out.add(urlComponent(v));
    out.add(encodeURIComponent(v));
    const b64 = Buffer.from(v, 'utf8').toString('base64');
    out.add(b64);
    out.add(b64.replace(/=+$/, ''));
    out.add(Buffer.from(v, 'utf8').toString('base64url'));
  }
  return [...out].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
}

interface Match {
  at: number;
  length: number;
}

/** The leftmost match at or after `from` among the secrets (sorted longest first), the longest there. */
function nextMatch(text: string, secrets: readonly string[], from: number): Match | undefined {
  let best: Match | undefined;
  for (const s of secrets) {
    const at = text.indexOf(s, from);
    if (at < 0) continue;
    if (!best || at < best.at || (at === best.at && s.length > best.length)) best = { at, length: s.length };
  }
  return best;
}

/** Masks every occurrence in a complete text. */
export function redactText(text: string, secrets: readonly string[] | undefined): string {
  const list = (secrets ?? []).filter((s) => s.length >= MIN_SECRET_LENGTH);
  if (!list.length || !text) return text;
  let out = '';
  let i = 0;
  for (let m = nextMatch(text, list, 0); m; m = nextMatch(text, list, i)) {
    out += text.slice(i, m.at) + MASK;
    i = m.at + m.length;
  }
  return out + text.slice(i);
}

/**
 * A stream of chunks in, masked text out. `push` returns what is safe to print now: everything
 * but the last (longest secret - 1) characters, which could be the first part of a secret the
 * next chunk completes. `end` returns the rest.
 */
export class Redactor {
  private readonly secrets: string[];
  private readonly hold: number;
  private pending = '';

  constructor(secrets: readonly string[]) {
    this.secrets = [...new Set(secrets.filter((s) => s.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
    this.hold = Math.max(0, (this.secrets[0]?.length ?? 0) - 1);
  }

  push(chunk: string): string {
    this.pending += chunk;
    return this.drain(this.pending.length - this.hold);
  }

  end(): string {
    return this.drain(this.pending.length);
  }

  /** Masks and returns the text before `limit`; a secret that starts there is kept whole for later. */
  private drain(limit: number): string {
    const text = this.pending;
    let out = '';
    let i = 0;
    while (i < limit) {
      const m = nextMatch(text, this.secrets, i);
      if (!m || m.at >= limit) {
        out += text.slice(i, limit);
        i = limit;
        break;
      }
      out += text.slice(i, m.at) + MASK;
      i = m.at + m.length;
    }
    this.pending = text.slice(Math.max(i, 0));
    return out;
  }
}
