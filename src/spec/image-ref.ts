// Image references, parsed with the grammar of github.com/distribution/reference
// (regexp.go, reference.go): what `docker pull` itself accepts.
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const referenceRe = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);

export const NAME_TOTAL_LENGTH_MAX = 255;
// go-digest's registered algorithms and their hex lengths; anything else is "unsupported".
const DIGEST_HEX: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ImageReference {
  name: string;
  tag?: string;
  digest?: string;
}
export type ParsedReference = { ok: true; ref: ImageReference } | { ok: false; error: string };

export function parseImageReference(s: string): ParsedReference {
  if (s === '') return { ok: false, error: 'repository name must have at least one component' };
  const m = referenceRe.exec(s);
  if (!m) {
    if (referenceRe.test(s.toLowerCase())) return { ok: false, error: 'repository name must be lowercase' };
    return { ok: false, error: 'invalid reference format' };
  }
  const [, name, tag, digest] = m as unknown as [string, string, string | undefined, string | undefined];
  if (name.length > NAME_TOTAL_LENGTH_MAX)
    return { ok: false, error: `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters` };
  if (digest) {
    const [alg, hex] = digest.split(':') as [string, string];
    const want = DIGEST_HEX[alg];
    if (want === undefined) return { ok: false, error: `unsupported digest algorithm "${alg}"` };
    if (hex.length !== want) return { ok: false, error: `invalid ${alg} digest length (want ${want} hex digits)` };
    if (!/^[a-f0-9]+$/.test(hex)) return { ok: false, error: `invalid ${alg} digest: hex digits must be lowercase` };
  }
  return { ok: true, ref: { name, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) } };
}
