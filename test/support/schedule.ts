// Backup schedules for tests that run the real scheduler: twelve hours away from now, so a
// scheduled run never meets a test's own backups, restores or the database it destroys (a
// `*/5` or `@daily` one did, in CI at 22:35 and would at midnight).
export function quietSchedule(now = new Date()): string {
  return `${now.getUTCMinutes()} ${(now.getUTCHours() + 12) % 24} * * *`;
}

/** Every `backup:` block of a spec (databases, caches, volumes) on the quiet schedule. */
export function quietBackups(spec: unknown, schedule = quietSchedule()): void {
  if (!spec || typeof spec !== 'object') return;
  for (const [k, v] of Object.entries(spec as Record<string, unknown>)) {
    if (k === 'backup' && v && typeof v === 'object' && !Array.isArray(v)) {
      const b = v as Record<string, unknown>;
      b.schedule = schedule;
      b.verify = { ...(b.verify as object | undefined), schedule };
    } else quietBackups(v, schedule);
  }
}
