// The spec's value types: names, durations, sizes, paths, image references, cron schedules.
import { z } from 'zod';
import { cronProblem } from './cron.js';
import { isCidr, staysInside, URL_PATH_MAX, urlPathPattern } from './grammar.js';
import { parseImageReference } from './image-ref.js';
import { DURATION_PATTERN, Duration, SIZE_PATTERN, Size } from './units.js';

export const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, 'should be lowercase letters, digits and dashes, 2-32 chars, starting with a letter');
/** Parsed here, once: the plan and renderers read Duration and Size, never the text again. */
const CENTURY_SECONDS = 100 * 365 * 86_400;
export const duration = z
  .string()
  .regex(DURATION_PATTERN, 'should be a duration like 15s, 5m, 1h30m, 15d')
  .transform((s) => Duration.parse(s))
  .refine((d) => d.toSeconds() <= CENTURY_SECONDS, 'should be at most 100y: a longer one is a typo');
/** Intervals, timeouts and retention: 0 would mean "constantly" or "never", never what is meant. */
export const positiveDuration = duration.refine((d) => d.toSeconds() > 0, 'should be more than 0 (e.g. 15s)');
export const memory = z
  .string()
  .regex(SIZE_PATTERN, 'should be a size like 256M or 1G')
  .transform((s) => Size.parse(s));
export const hostname = z
  .string()
  .max(253, 'should be at most 253 characters, the longest DNS name')
  .regex(
    /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'should be a DNS host name like api.example.com',
  );
export const cidr = z
  .string()
  .refine(isCidr, 'should be a CIDR like 10.0.0.0/8 or fd00::/8 (an IP address, then a prefix length of 0-32 for IPv4, 0-128 for IPv6)');
const MIN_MEMORY = 4 * 1024 ** 2;
export const memoryLimit = memory.refine(
  (s) => s.toBytes() >= MIN_MEMORY,
  'should be at least 4M: a smaller limit is either a typo or a container the kernel kills at once',
);
export const urlPath = (query: boolean) =>
  z
    .string()
    .max(URL_PATH_MAX)
    .regex(
      urlPathPattern({ query }),
      query
        ? 'should be a URL path like /health or /health?full=1 (letters, digits, -._~!&()*+,=:@/ and %XX escapes; no spaces, quotes, ; $ or backslash)'
        : 'should be a URL path prefix like /api (letters, digits, -._~!&()*+,=:@/ and %XX escapes; no query, spaces, quotes, ; $ or backslash)',
    );
export const imageRef = z.string().superRefine((s, ctx) => {
  const r = parseImageReference(s);
  if (!r.ok)
    ctx.addIssue({
      code: 'custom',
      message: `should be an image reference like nginx:1.27 or registry.example.com/team/app@sha256:... (${r.error})`,
    });
});
export const projectPath = z
  .string()
  .min(1)
  .refine(staysInside, 'should be a relative path inside the project directory (no absolute path, no ../ leaving it)');
export const port = z.number().int().min(1).max(65535);
/** Text handed to a process (env values, arguments): any character but NUL, which no argv or environment can hold. */
export const processText = z
  .string()
  .refine((v) => !v.includes('\0'), 'should not contain a NUL character (\\0): no process can receive it');
/** A mount point in a container: absolute, normalised, not the root nor where secrets are mounted. */
export const mountTarget = z
  .string()
  .regex(/^\/[^\x00-\x1f\x7f:\\]*$/, 'should be an absolute path with no ":", backslash or control characters')
  .refine(
    (t) => t !== '/' && !t.split('/').some((seg) => seg === '.' || seg === '..') && !t.endsWith('/'),
    'should be a normalised path below /',
  )
  .refine((t) => t !== '/run/secrets' && !t.startsWith('/run/secrets/'), 'should not be /run/secrets, where wharf mounts the secrets');
/** A container user: a name or uid, optionally :group or :gid. */
export const containerUser = z
  .string()
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/,
    'should be a user name or uid, optionally :group or :gid (e.g. 1000:1000)',
  );
export const cron = z
  .string()
  .superRefine((v, ctx) => {
    const problem = cronProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: `should be a 5-field cron expression like "*/5 * * * *" or @daily (${problem})` });
  })
  .describe('cron schedule in UTC: 5 fields of numbers, names, * , - and /, or @hourly, @daily, @weekly, @monthly');
