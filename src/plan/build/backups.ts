// The backup jobs the spec asks for (databases, caches, service volumes).
import type { Stack, Backup } from '../../spec/schema.js';
import { minioDestination } from '../minio.js';
import { byCodeUnit } from '../sort.js';
import type { BackupJob } from '../model.js';

export function planBackups(stack: Stack): BackupJob[] {
  const jobs: BackupJob[] = [];
  const add = (name: string, target: string, kind: BackupJob['kind'], b: Backup) => {
    if (!b.enabled) return;
    jobs.push({
      // a minio destination is the stack's own MinIO as S3 (rules.ts refuses it without storage.minio)
      name,
      target,
      kind,
      schedule: b.schedule,
      retention: { ...b.retention },
      destination: b.destination.type === 'minio' ? minioDestination(stack)! : { ...b.destination },
      encrypt: b.encrypt,
      verifySchedule: b.verify.schedule,
      restoreTest: b.verify.restoreTest,
      ...(b.pointInTime && kind === 'postgres' ? { pointInTime: true } : {}),
    });
  };
  for (const [n, d] of Object.entries(stack.databases)) if (d.backup) add(n, n, d.engine === 'postgres' ? 'postgres' : 'mysql', d.backup);
  for (const [n, c] of Object.entries(stack.caches)) if (c.backup) add(n, n, 'redis', c.backup);
  for (const [n, s] of Object.entries(stack.services)) for (const v of s.volumes) if (v.backup) add(v.name, n, 'volume', v.backup);
  return jobs.sort((a, b) => byCodeUnit(a.name, b.name));
}
