// WireGuard keys of the cluster's nodes, as wharf secrets: .wharf/secrets/wg-<node>.key holds
// the private key (0600); the public key is derived from it on every run and is the only
// part that reaches rendered files. X25519 from node:crypto, in the base64 form `wg genkey`
// and `wg pubkey` use, so no wireguard-tools are needed on this machine.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeInside } from '../fs/confined.js';
import { dirname, join } from 'node:path';

export interface WireguardKeys {
  /** node name -> base64 public key */
  publicKeys: Record<string, string>;
  created: string[];
  kept: string[];
}

export const wgKeyFile = (node: string) => `wg-${node}.key`;

const b64 = (u: string) => Buffer.from(u, 'base64url').toString('base64');

/** A fresh private key in wg's format (base64 of the 32 raw bytes). */
export function generatePrivateKey(): string {
  const { privateKey } = generateKeyPairSync('x25519');
  return b64(privateKey.export({ format: 'jwk' }).d!);
}

/** What `wg pubkey` prints for this private key. */
export function publicKeyOf(privateKey: string): string {
  const d = Buffer.from(privateKey.trim(), 'base64');
  if (d.length !== 32) throw new Error('not a WireGuard private key (32 bytes, base64)');
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: d.toString('base64url'), x: '' }, format: 'jwk' });
  return b64(createPublicKey(key).export({ format: 'jwk' }).x!);
}

/** Creates the keys that are missing, keeps the others; writes only after all are computed. */
export function ensureWireguardKeys(secretsDir: string, nodes: string[]): WireguardKeys {
  const out: WireguardKeys = { publicKeys: {}, created: [], kept: [] };
  const writes: Array<{ path: string; value: string }> = [];
  for (const n of nodes) {
    const path = join(secretsDir, wgKeyFile(n));
    let priv = existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
    if (priv) out.kept.push(n);
    else {
      priv = generatePrivateKey();
      writes.push({ path, value: `${priv}\n` });
      out.created.push(n);
    }
    out.publicKeys[n] = publicKeyOf(priv);
  }
  if (writes.length) {
    // secretsDir is <project>/.wharf/secrets: nothing is written outside the project.
    const root = dirname(dirname(secretsDir));
    for (const w of writes) writeInside(root, w.path, w.value, { mode: 0o600, dirMode: 0o700 });
  }
  return out;
}
