// Every secret value a project holds, read from .wharf/secrets by the kind of each file (from
// the plan), for tests that grep outputs for them. Plain values (random passwords of any
// length, user files, passwords inside derived files, private keys) are always returned;
// only what is meant to be public or is a one-way hash is left out, each after checking
// that it really is one.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan, Secret } from '../../src/plan/model.js';

export interface SecretValue {
  secret: string;
  kind: Secret['source']['kind'];
  value: string;
}
export interface SecretInventory {
  values: SecretValue[];
  skipped: Array<{ secret: string; why: string }>;
}

/** PEM private key body lines (base64), and the whole body joined */
function privateKeyParts(secret: string, text: string): string[] {
  const m = /-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----\n([\s\S]+?)\n-----END (?:[A-Z ]+ )?PRIVATE KEY-----/.exec(text);
  if (!m) throw new Error(`${secret}: no private key in a file that must hold one`);
  const lines = m[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return [lines.join(''), ...lines.filter((l) => l.length >= 16)];
}

export function secretInventory(plan: Plan, secretsDir: string): SecretInventory {
  const byName = new Map(plan.secrets.map((s) => [s.name, s]));
  const files = readdirSync(secretsDir).filter((n) => !n.startsWith('.'));
  const values: SecretValue[] = [];
  const skipped: SecretInventory['skipped'] = [];
  const read = (n: string) => readFileSync(join(secretsDir, n), 'utf8');
  for (const name of files) {
    const s = byName.get(name);
    const text = read(name);
    const add = (value: string) => {
      values.push({ secret: name, kind: s?.source.kind ?? 'file', value });
    };
    if (!s) {
      add(text.trim());
      continue;
    } // not in the plan: treated as plain
    const src = s.source;
    switch (src.kind) {
      case 'random':
        if (text.length !== src.length) throw new Error(`${name}: ${text.length} characters, the plan says ${src.length}`);
        add(text);
        break;
      case 'file':
        add(text.trim());
        break;
      case 'my-cnf': {
        const pw = /^password=(.*)$/m.exec(text)?.[1];
        if (!pw) throw new Error(`${name}: no password line`);
        add(pw);
        break;
      }
      case 'redis-exporter-passwords':
        for (const v of Object.values(JSON.parse(text) as Record<string, string>)) add(v);
        break;
      case 'connection-url': {
        // the whole URL, and the password as it appears inside it (percent-encoded)
        const pw = new URL(text).password;
        if (decodeURIComponent(pw) !== read(src.from)) throw new Error(`${name}: the URL does not hold the password of ${src.from}`);
        add(text);
        if (pw) add(pw);
        break;
      }
      case 'tls-key':
        for (const p of privateKeyParts(name, text)) add(p);
        break;
      case 'tls-pem':
        for (const p of privateKeyParts(name, text)) add(p);
        break;
      case 'tls-cert':
        if (/PRIVATE KEY/.test(text) || !/-----BEGIN CERTIFICATE-----/.test(text)) throw new Error(`${name}: not a bare certificate`);
        skipped.push({ secret: name, why: 'certificate: public by design' });
        break;
      case 'htpasswd':
        if (!/^[^:\n]+:\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}\n?$/.test(text)) throw new Error(`${name}: not a bcrypt htpasswd line`);
        skipped.push({ secret: name, why: 'bcrypt hash' });
        break;
      case 'haproxy-userlist':
        if (!/^userlist \S+\n {2}user \S+ password \$6\$[^$\s]+\$[./A-Za-z0-9]{86}\n?$/.test(text))
          throw new Error(`${name}: not a SHA-512-crypt userlist`);
        skipped.push({ secret: name, why: 'SHA-512-crypt hash' });
        break;
      case 'redis-acl': {
        const want = createHash('sha256').update(read(src.from)).digest('hex');
        if (text !== `user default on #${want} ~* &* +@all\n`) throw new Error(`${name}: not the SHA-256 ACL of ${src.from}`);
        skipped.push({ secret: name, why: 'SHA-256 hash' });
        break;
      }
      default: {
        const never: never = src;
        throw new Error(`unknown secret kind ${JSON.stringify(never)}`);
      }
    }
  }
  return { values, skipped };
}

/** where each value appears: "<secret> in <place>" */
export function leaks(inv: SecretInventory, places: Array<{ name: string; text: string }>): string[] {
  const out: string[] = [];
  for (const v of inv.values) for (const p of places) if (p.text.includes(v.value)) out.push(`${v.secret} (${v.kind}) in ${p.name}`);
  return out;
}
