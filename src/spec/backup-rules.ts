// Cross-field rules of backups: one job per name, destinations apart from the secrets.
import { posix } from 'node:path';
import type { Stack } from './schema.js';
import type { Issue } from './issues.js';

type Rule = (s: Stack) => Issue[];
const err = (path: string, message: string, hint?: string): Issue => ({ path, message, hint, severity: 'error' });

export function allBackups(s: Stack) {
  const out: Array<[string, NonNullable<Stack['databases'][string]['backup']>]> = [];
  for (const [n, d] of Object.entries(s.databases)) if (d.backup) out.push([`databases.${n}.backup`, d.backup]);
  for (const [n, c] of Object.entries(s.caches)) if (c.backup) out.push([`caches.${n}.backup`, c.backup]);
  for (const [n, svc] of Object.entries(s.services))
    svc.volumes.forEach((v, i) => v.backup && out.push([`services.${n}.volumes[${i}].backup`, v.backup]));
  return out;
}

/** Each backup job is named after what it backs up (database, cache or volume): one name, one job. */
export const backupNamesUnique: Rule = (s) => {
  const named = [
    ...Object.entries(s.databases).flatMap(([n, d]) => (d.backup ? [[n, `databases.${n}.backup`]] : [])),
    ...Object.entries(s.caches).flatMap(([n, c]) => (c.backup ? [[n, `caches.${n}.backup`]] : [])),
    ...Object.entries(s.services).flatMap(([n, svc]) =>
      svc.volumes.flatMap((v, i) => (v.backup ? [[v.name, `services.${n}.volumes[${i}].backup`]] : [])),
    ),
  ];
  const first = new Map<string, string>();
  return named.flatMap(([name, path]) => {
    const earlier = first.get(name!);
    if (earlier === undefined) first.set(name!, path!);
    return earlier === undefined
      ? []
      : [
          err(
            path!,
            `"${name}" is already backed up by ${earlier}`,
            'back a shared volume up from one service only, or rename one of them',
          ),
        ];
  });
};

/** A local backup destination never inside `.wharf/secrets`: the backups would sit beside the key that opens them. */
export const backupsOutsideSecrets: Rule = (s) =>
  allBackups(s).flatMap(([path, b]) =>
    b.destination.type === 'local' && /^(\.\/)?\.wharf\/secrets(\/|$)/.test(posix.normalize(b.destination.path))
      ? [
          err(
            `${path}.destination.path`,
            'is inside .wharf/secrets',
            'keep backups apart from the secrets: the default is ./.wharf/backups',
          ),
        ]
      : [],
  );
