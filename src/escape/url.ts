// The one way a value enters a URL (the connection URLs wharf derives from generated
// passwords). RFC 3986: every byte outside the unreserved set is %XX-encoded, so a
// password with @ : / ? # % or spaces cannot change where the URL points.

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** percent-encodes a user name, password, or one path segment (UTF-8 bytes). */
export function urlComponent(value: string): string {
  if (/\p{Cs}/u.test(value)) throw new Error('bug: a lone surrogate cannot be in a URL');
  let out = '';
  for (const ch of value) {
    if (UNRESERVED.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface ConnectionUrl {
  scheme: string;
  user?: string;
  password: string;
  host: string;
  port: number;
  /** database name, or the Redis database number */
  database: string;
  options?: Record<string, string>;
}

/** scheme://user:password@host:port/database?options, every part encoded. */
export function connectionUrl(u: ConnectionUrl): string {
  const query = Object.entries(u.options ?? {})
    .map(([k, v]) => `${urlComponent(k)}=${urlComponent(v)}`)
    .join('&');
  return `${u.scheme}://${urlComponent(u.user ?? '')}:${urlComponent(u.password)}@${u.host}:${u.port}/${urlComponent(u.database)}${query ? `?${query}` : ''}`;
}
