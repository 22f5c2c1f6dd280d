// proxy: and tls: the edge proxy in front of the services, and its certificates.
import { z } from 'zod';
import { isIpAddress } from './grammar.js';
import { cidr, duration, hostname, memoryLimit, port } from './primitives.js';

export const proxySchema = z.strictObject({
  kind: z.enum(['traefik', 'haproxy']).default('traefik'),
  bind: z
    .string()
    .refine(isIpAddress, 'should be an IP address like 0.0.0.0, 127.0.0.1 or :: (no port, no host name)')
    .default('0.0.0.0')
    .describe('host address the edge ports are published on'),
  httpPort: port.default(80),
  httpsPort: port.default(443),
  dashboard: z
    .union([z.strictObject({ host: hostname.optional(), allow: z.array(cidr).optional() }), z.literal(false)])
    .prefault({})
    .describe('Traefik dashboard or HAProxy stats page, always behind basic auth'),
  stats: z.strictObject({ port: port.default(8404), publish: z.boolean().default(false) }).prefault({}),
  memory: memoryLimit.optional().describe('memory limit of the edge (default 128M); HAProxy derives its maxconn from it'),
  maxconn: z
    .number()
    .int()
    .min(64)
    .max(1_000_000)
    .optional()
    .describe('HAProxy: concurrent connections to admit; the memory limit is derived from it unless proxy.memory is given too'),
});

/** Let's Encrypt by name, or any ACME directory (Pebble, a company CA, ZeroSSL) with the root
 *  certificate its HTTPS endpoint chains to, when that is not a public one. */
export const acmeCaSchema = z
  .union([
    z.enum(['production', 'staging']),
    z.strictObject({
      directory: z
        .string()
        .url()
        .refine((u) => u.startsWith('https://'), 'should be an https:// URL (ACME directories are served over TLS)'),
      root: z.string().min(1).optional().describe('PEM file of the root certificate the directory is served with (path from the spec)'),
    }),
  ])
  .describe('ACME server: production (default), staging, or {directory, root?}');

export const tlsSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('self-signed') }),
  z.strictObject({
    mode: z.literal('acme'),
    email: z.string().email(),
    /** kept from before `ca`: true means ca: staging */
    staging: z.boolean().default(false),
    ca: acmeCaSchema.optional(),
    renewBefore: duration
      .prefault('30d')
      .describe('renew a certificate this long before it expires (HAProxy edge; Traefik renews 30 days before, fixed)'),
  }),
  z.strictObject({ mode: z.literal('files'), cert: z.string().min(1), key: z.string().min(1) }),
]);
