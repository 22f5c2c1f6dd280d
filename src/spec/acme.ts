// What an ACME spec means before any plan: which CA, and which hosts HTTP-01 can prove.
import type { Stack } from './schema.js';
import { isIpAddress } from './grammar.js';

export const letsEncrypt = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

export interface AcmeCa {
  directory: string;
  /** spec path of the root certificate the directory is served with (a private CA) */
  root?: string;
}

export function acmeCa(tls: Extract<Stack['tls'], { mode: 'acme' }>): AcmeCa {
  const ca = tls.ca ?? (tls.staging ? 'staging' : 'production');
  return typeof ca === 'string' ? { directory: letsEncrypt[ca] } : { directory: ca.directory, root: ca.root };
}

/** Whether the directory is Let's Encrypt's (which issues only for public names). */
export function isPublicCa(ca: AcmeCa): boolean {
  return !ca.root && Object.values(letsEncrypt).includes(ca.directory as never);
}

/** Why HTTP-01 cannot prove a host, or undefined when it can. */
export function unprovableHost(host: string, publicCa: boolean): string | undefined {
  if (host.startsWith('*.')) return 'a wildcard needs DNS-01; HTTP-01 proves one name at a time';
  if (isIpAddress(host)) return 'an IP address, not a name';
  if (!publicCa) return undefined;
  if (!host.includes('.')) return 'a single-label name no public CA issues for';
  const tld = host.split('.').pop()!;
  if (['localhost', 'local', 'internal', 'test', 'invalid', 'example', 'lan', 'home', 'corp'].includes(tld)) {
    return `.${tld} is not a public domain`;
  }
  return undefined;
}
