// The two pure-ish halves of a rotation that touch files and the plan: committing staged secret
// values, and the plan in which a store's consumers log in as the transient twin login.
import { closeSync, constants, fchmodSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { confine, writeInside } from '../fs/confined.js';
import type { Plan } from '../plan/model.js';
import type { Layout } from './prepare.js';

/**
 * 'replace': a new file (rename); a running replica keeps reading the value it started with
 * until it is replaced, which is what a rolling credential needs. 'in-place': the same file
 * rewritten, so a replica that bind-mounts it sees the new contents at its next reload.
 */
export function commitSecrets(
  layout: Pick<Layout, 'projectDir' | 'secretsDir'>,
  staged: Map<string, Buffer>,
  how: 'replace' | 'in-place',
): void {
  for (const [name, value] of staged) {
    const path = join(layout.secretsDir, name);
    if (how === 'replace' || name.startsWith('.')) {
      writeInside(layout.projectDir, path, value, { mode: 0o644, dirMode: 0o700 });
      continue;
    }
    const { real } = confine(layout.projectDir, path);
    let fd: number;
    try {
      fd = openSync(real, constants.O_WRONLY | constants.O_NOFOLLOW);
    } catch {
      writeInside(layout.projectDir, path, value, { mode: 0o644, dirMode: 0o700 });
      continue;
    }
    try {
      fchmodSync(fd, 0o644);
      ftruncateSync(fd, 0);
      for (let off = 0; off < value.length;) off += writeSync(fd, value, off, value.length - off, off);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * The plan with every consumer of `store` logging in as `login` instead of `user`: its
 * `<P>_USER` variables (where `<P>_HOST` names the store) and the store's connection URL.
 * The store itself and everything else are unchanged.
 */
export function withLogin(plan: Plan, store: string, user: string, login: string): Plan {
  const components = plan.components.map((c) => {
    if (c.name === store) return c;
    const env = { ...c.env };
    let moved = false;
    for (const [k, v] of Object.entries(c.env)) {
      if (!k.endsWith('_HOST') || v !== store) continue;
      const u = `${k.slice(0, -'_HOST'.length)}_USER`;
      if (env[u] === user) {
        env[u] = login;
        moved = true;
      }
    }
    return moved ? { ...c, env } : c;
  });
  const secrets = plan.secrets.map((s) =>
    s.name === `${store}-url` && s.source.kind === 'connection-url' && s.source.user === user
      ? { ...s, source: { ...s.source, user: login } }
      : s,
  );
  return { ...plan, components, secrets };
}
