// The k8s target's secrets: an age identity kept with the other generated secrets, and every
// Secret the rendered workloads mount sealed to it in SOPS format. A Secret whose value did
// not change keeps its file byte for byte, so a render leaves Git alone.
import { existsSync, readFileSync } from 'node:fs';
import { writeInside } from '../fs/confined.js';
import { dirname, join } from 'node:path';
import type { Plan } from '../plan/model.js';
import { secretFileName, secretsNeeded } from '../render/k8s/index.js';
import * as age from 'age-encryption';
import { newAgeIdentity, sealOrKeep } from '../secrets/sops.js';
import { InputError } from '../errors.js';

/** The age identity file in .wharf/secrets (Flux decrypts with it once loaded into flux-system). */
export const AGE_KEY_FILE = 'sops-age-key';

export async function ensureAgeIdentity(
  secretsDir: string,
): Promise<{ identity: string; recipient: string; path: string; created: boolean }> {
  const path = join(secretsDir, AGE_KEY_FILE);
  if (existsSync(path)) {
    const identity = readFileSync(path, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-'))
      ?.trim();
    if (!identity) throw new InputError(`${path} holds no age identity (AGE-SECRET-KEY-...): move it away and render again`);
    return { identity, recipient: await age.identityToRecipient(identity), path, created: false };
  }
  const { identity, recipient } = await newAgeIdentity();
  writeInside(dirname(dirname(secretsDir)), path, `# public key: ${recipient}\n${identity}\n`, { mode: 0o600, dirMode: 0o700 });
  return { identity, recipient, path, created: true };
}

/** The key names a Secret carries: its own name (mounted as a file), plus `users` for Traefik's basic auth. */
export function secretData(plan: Plan, name: string, value: string): Record<string, string> {
  return name === plan.proxy.authSecret ? { [name]: value, users: value } : { [name]: value };
}

export async function sealSecrets(
  plan: Plan,
  secretsDir: string,
  outDir: string,
  now = new Date(),
): Promise<{ recipient: string; sealed: Record<string, string>; keyPath: string }> {
  const { identity, recipient, path } = await ensureAgeIdentity(secretsDir);
  const sealed: Record<string, string> = {};
  for (const name of secretsNeeded(plan)) {
    const file = join(outDir, secretFileName(name));
    const previous = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    const value = readFileSync(join(secretsDir, name), 'utf8');
    sealed[name] = await sealOrKeep(
      { name, namespace: plan.name, data: secretData(plan, name, value) },
      [recipient],
      identity,
      previous,
      now,
    );
  }
  return { recipient, sealed, keyPath: path };
}
