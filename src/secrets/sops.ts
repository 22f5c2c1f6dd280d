// SOPS-encrypted Kubernetes Secrets, written without the sops binary, in the format sops 3
// writes (and Flux's kustomize-controller decrypts):
//   - a random 32-byte data key, age-encrypted (armored) to each recipient;
//   - every value matching encrypted_regex (here: under stringData) becomes
//     ENC[AES256_GCM,data:..,iv:..,tag:..,type:str], AES-256-GCM with a 32-byte IV and the
//     value's key path joined by ":" plus a trailing ":" as additional data;
//   - the MAC is SHA-512 over every value in document order (encrypted or not), written as
//     upper-case hex, encrypted with the data key and `lastmodified` as additional data.
// Not pure (random keys and IVs): callers keep a file whose content is unchanged (sealOrKeep).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import * as age from 'age-encryption';
import { parse } from 'yaml';
import { toYaml } from '../render/files.js';

export const SOPS_VERSION = '3.9.4';
export const ENCRYPTED_REGEX = '^(data|stringData)$';

function encryptValue(value: string, key: Buffer, aad: string): string {
  const iv = randomBytes(32);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([c.update(value, 'utf8'), c.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:str]`;
}

function decryptValue(enc: string, key: Buffer, aad: string): string {
  const m = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:str\]$/.exec(enc);
  if (!m) throw new Error('not a SOPS string value');
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2]!, 'base64'));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(Buffer.from(m[3]!, 'base64'));
  return Buffer.concat([d.update(Buffer.from(m[1]!, 'base64')), d.final()]).toString('utf8');
}

export interface SecretManifest {
  name: string;
  namespace: string;
  /** key -> value (the plaintext; never logged) */
  data: Record<string, string>;
  labels?: Record<string, string>;
}

/** A SOPS-encrypted Secret manifest. `now` is the lastmodified time (RFC 3339, seconds). */
export async function sealSecret(s: SecretManifest, recipients: string[], now: Date): Promise<string> {
  const key = randomBytes(32);
  const labels = s.labels ?? {};
  const plain: Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: s.name, namespace: s.namespace, ...(Object.keys(labels).length ? { labels } : {}) },
    type: 'Opaque',
    stringData: s.data,
  };
  const mac = createHash('sha512');
  const encrypted = walk(plain, [], (value, path) => {
    mac.update(value, 'utf8');
    return path.some((p) => new RegExp(ENCRYPTED_REGEX).test(p)) ? encryptValue(value, key, `${path.join(':')}:`) : value;
  });
  const lastmodified = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const age_ = [];
  for (const r of recipients) {
    const e = new age.Encrypter();
    e.addRecipient(r);
    age_.push({ recipient: r, enc: age.armor.encode(await e.encrypt(new Uint8Array(key))) });
  }
  const doc = {
    ...(encrypted as Record<string, unknown>),
    sops: {
      age: age_,
      lastmodified,
      mac: encryptValue(mac.digest('hex').toUpperCase(), key, lastmodified),
      encrypted_regex: ENCRYPTED_REGEX,
      version: SOPS_VERSION,
    },
  };
  return toYaml(doc);
}

/** Decrypts a Secret sealed by sealSecret (or sops) and checks its MAC. */
export async function openSecret(text: string, identity: string): Promise<{ recipients: string[]; data: Record<string, string> }> {
  const doc = parse(text) as Record<string, any>;
  const sops = doc?.sops;
  if (!sops?.age?.length || typeof sops.mac !== 'string') throw new Error('no SOPS metadata');
  const d = new age.Decrypter();
  d.addIdentity(identity);
  const mine = await age.identityToRecipient(identity);
  const stanza = (sops.age as Array<{ recipient: string; enc: string }>).find((a) => a.recipient === mine);
  if (!stanza) throw new Error('not encrypted to this identity');
  const key = Buffer.from(await d.decrypt(age.armor.decode(stanza.enc)));
  const { sops: _, ...rest } = doc;
  const mac = createHash('sha512');
  const plain = walk(rest, [], (value, path) => {
    const v = path.some((p) => new RegExp(String(sops.encrypted_regex ?? ENCRYPTED_REGEX)).test(p))
      ? decryptValue(value, key, `${path.join(':')}:`)
      : value;
    mac.update(v, 'utf8');
    return v;
  }) as Record<string, any>;
  if (decryptValue(sops.mac, key, sops.lastmodified) !== mac.digest('hex').toUpperCase()) throw new Error('SOPS MAC mismatch');
  return { recipients: sops.age.map((a: { recipient: string }) => a.recipient), data: plain.stringData ?? {} };
}

/** Keep `previous` when it already seals exactly this Secret for exactly these recipients: a render changes nothing in Git. */
export async function sealOrKeep(
  s: SecretManifest,
  recipients: string[],
  identity: string,
  previous: string | undefined,
  now: Date,
): Promise<string> {
  if (previous) {
    try {
      const old = await openSecret(previous, identity);
      const doc = parse(previous) as Record<string, any>;
      const same =
        JSON.stringify(old.data) === JSON.stringify(s.data) &&
        JSON.stringify([...old.recipients].sort()) === JSON.stringify([...recipients].sort()) &&
        doc.metadata?.name === s.name &&
        doc.metadata?.namespace === s.namespace;
      if (same) return previous;
    } catch {
      /* unreadable or another key: seal anew */
    }
  }
  return sealSecret(s, recipients, now);
}

/** Strings only: Secret manifests hold no other scalars (sops hashes bools and numbers its own way). */
function walk(v: unknown, path: string[], leaf: (value: string, path: string[]) => string): unknown {
  if (typeof v === 'string') return leaf(v, path);
  if (Array.isArray(v)) return v.map((x) => walk(x, path, leaf));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k], leaf)]));
  throw new Error(`bug: a Secret manifest holds a ${typeof v} at ${path.join('.')}`);
}

/** A new age identity (X25519: what Flux's sops reads) and its recipient. */
export async function newAgeIdentity(): Promise<{ identity: string; recipient: string }> {
  const identity = await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}
