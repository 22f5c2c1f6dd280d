// Strict grammars for spec values that end up in proxy rules, healthchecks,
// scrape configs and bind mounts: parsed here once, reused by the schema.
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { Size } from './units.js';

// RFC 3986 pchar without the sub-delims that mean something to a shell or a
// config parser ($ ' ;), and without whitespace, quotes, backslash, backtick.
const pchar = String.raw`(?:[A-Za-z0-9\-._~!&()*+,=:@]|%[0-9A-Fa-f]{2})`;
const queryPart = String.raw`(?:\?(?:${pchar}|[/?])*)?`;
export const URL_PATH_MAX = 1024;

/** An absolute URL path (RFC 3986 path-absolute: no leading //), with a query string when allowed.
 *  A regular expression, so the JSON Schema carries it as a pattern too. */
export function urlPathPattern(opts: { query: boolean }): RegExp {
  return new RegExp(String.raw`^(?!//)(?:/${pchar}*)+${opts.query ? queryPart : ''}$`);
}

const withQuery = urlPathPattern({ query: true });
const withoutQuery = urlPathPattern({ query: false });

export function isUrlPath(s: string, opts: { query: boolean }): boolean {
  return s.length <= URL_PATH_MAX && (opts.query ? withQuery : withoutQuery).test(s);
}

/** An IPv4 or IPv6 address, as node's own parser reads it; no port, no brackets, and no
 *  IPv6 zone (%eth0), which node accepts but a published port or an allow-list cannot use. */
export function isIpAddress(s: string): boolean {
  return !s.includes('%') && isIP(s) !== 0;
}

/** ADDRESS/PREFIX with the prefix within 0-32 (IPv4) or 0-128 (IPv6). */
export function isCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const prefix = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  const family = isIpAddress(addr) ? isIP(addr) : 0;
  const max = family === 4 ? 32 : family === 6 ? 128 : -1;
  return Number(prefix) <= max;
}

/** Bytes in a Compose-style size (256M, 1.5G, 1048576), or undefined if it is not one. */
export function sizeBytes(s: string): number | undefined {
  const r = Size.tryParse(s);
  return typeof r === 'string' ? undefined : r.toBytes();
}

/** A relative path that stays inside the directory it is resolved against ("." included). */
export function staysInside(p: string): boolean {
  if (/[\x00-\x1f\x7f\\]/.test(p) || posix.isAbsolute(p)) return false;
  const n = posix.normalize(p);
  return n !== '..' && !n.startsWith('../');
}

export interface DockerHost {
  scheme: 'tcp' | 'ssh' | 'unix';
  /** ssh only */
  user?: string;
  /** as written: IPv6 literals keep their brackets; unix: the socket path */
  host: string;
  port?: number;
}

const hostPart = '(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)';
const dockerHostPattern = new RegExp(
  `^(?:(tcp)://${hostPart}(?::(\\d{1,5}))?|(ssh)://(?:([A-Za-z_][A-Za-z0-9._-]{0,31})@)?${hostPart}(?::(\\d{1,5}))?|(unix)://(/[A-Za-z0-9._/-]{1,200}))$`,
);

/** A Docker engine address as DOCKER_HOST takes it: tcp://host[:port], ssh://[user@]host[:port]
 *  or unix:///path, split into its parts (undefined when it is not one). Plain characters only:
 *  it travels as an environment value, never a shell word. The one grammar for engine addresses. */
export function parseDockerHost(s: string): DockerHost | undefined {
  const m = dockerHostPattern.exec(s);
  if (!m) return undefined;
  if (m[1]) return { scheme: 'tcp', host: m[2]!, ...(m[3] ? { port: Number(m[3]) } : {}) };
  if (m[4]) return { scheme: 'ssh', ...(m[5] ? { user: m[5] } : {}), host: m[6]!, ...(m[7] ? { port: Number(m[7]) } : {}) };
  return { scheme: 'unix', host: m[9]! };
}

export function isDockerHost(s: string): boolean {
  return parseDockerHost(s) !== undefined;
}

/** restic reads s3:ENDPOINT/BUCKET/PREFIX: an endpoint with a path would move the bucket, and
 *  credentials in the URL would end up in rendered files and logs. */
export function isS3Endpoint(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && u.pathname === '/' && !u.search && !u.hash;
  } catch {
    return false;
  }
}
