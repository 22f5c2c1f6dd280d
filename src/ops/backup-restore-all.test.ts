// wharf restore --all: every job's snapshot chosen before anything is touched (a job without one
// refuses the whole restore), one confirmation, volumes and caches before databases, each in
// place with its checks, and nothing more once one fails. Scripts answered by a recording runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cmd } from '../engine/command.js';
import type { Runner, RunResult } from '../engine/run.js';
import { buildPlan } from '../plan/build.js';
import { parseSpecText } from '../spec/load.js';
import type { BackupExecutor, ServiceControl } from './backup.js';
import { restoreAll } from './backup-restore-all.js';
import { backupSpec } from '../../test/support/backup-spec.js';

const spec = backupSpec('dr');

const id = (c: string) => c.repeat(64);
// per job, newest last: an old snapshot, a newer one, and a safety snapshot newer still
const SNAPS: Record<string, Array<{ id: string; time: string; tags?: string[] }>> = {
  db: [
    { id: id('1'), time: '2026-12-01T03:00:00Z' },
    { id: id('2'), time: '2026-12-02T03:00:00Z' },
    { id: id('3'), time: '2026-12-02T09:00:00Z', tags: ['wharf-safety'] },
  ],
  cache: [
    { id: id('4'), time: '2026-12-01T04:00:00Z' },
    { id: id('5'), time: '2026-12-02T04:00:00Z' },
  ],
  uploads: [
    { id: id('6'), time: '2026-12-01T05:00:00Z' },
    { id: id('7'), time: '2026-12-02T05:00:00Z' },
  ],
};

function setup(opts: { failJob?: string; snaps?: typeof SNAPS } = {}) {
  const r = parseSpecText(spec, 'wharf.yaml');
  if (!r.stack) throw new Error(JSON.stringify(r.issues));
  const plan = buildPlan(r.stack);
  const calls: string[] = [];
  const lists: string[] = [];
  const services: ServiceControl = {
    stop: async (names) => void calls.push(`stop ${names.join(' ')}`),
    start: async (names) => void calls.push(`start ${names.join(' ')}`),
    waitHealthy: async () => undefined,
    notRunning: async () => [],
  };
  const snaps = opts.snaps ?? SNAPS;
  const runner: Runner = async (c: Cmd) => {
    const [script, job, ...rest] = c.argv;
    const name = /bin\/(\w+)\.sh$/.exec(script!)?.[1] ?? '';
    const done = (stdout: unknown, exitCode = 0, stderr = ''): RunResult => ({
      cmd: c,
      exitCode,
      stdout: JSON.stringify(stdout),
      stderr,
      durationMs: 1,
      timedOut: false,
    });
    if (name === 'list') {
      lists.push(job!);
      const list = (snaps[job!] ?? []).map((s) => ({ ...s, short_id: s.id.slice(0, 8) }));
      return done({ job, backup: { status: 1 }, verify: {}, snapshots: list });
    }
    calls.push(`${name} ${job} ${rest.map((a) => (a.length === 64 ? a.slice(0, 1) : a)).join(' ')}`.trim());
    if (name === 'restore' && job === opts.failJob) return done({}, 1, `[${job}] ERROR: restore failed: disk full`);
    return done({ job, snapshot: rest[0], verified: true, tables: 1 });
  };
  const ex: BackupExecutor = {
    plan,
    runner,
    services,
    script: (n, args, describe) => ({ argv: [`/backup/bin/${n}.sh`, ...args], describe }),
  };
  return { ex, calls, lists };
}

test('--all restores every job from its latest snapshot (safety snapshots never count), volumes and caches first', async () => {
  const { ex, calls, lists } = setup();
  let asked: string[] = [];
  const r = await restoreAll(ex, { confirm: (items) => ((asked = items.map((i) => `${i.job} ${i.snapshot.id[0]}`)), true) });
  assert.ok(r.ok);
  assert.deepEqual(asked, ['uploads 7', 'cache 5', 'db 2']);
  assert.deepEqual(
    r.results.map((x) => `${x.job} ${x.snapshot?.[0]} ${x.verified}`),
    ['uploads 7 true', 'cache 5 true', 'db 2 true'],
  );
  // each in place: its owners stopped, the restore, a Redis check after the cache is back, the owners started again
  assert.deepEqual(calls, [
    'stop files',
    'restore uploads 7',
    'start files',
    'stop web',
    'stop cache',
    'restore cache 5',
    'start cache',
    'restore cache 5 --check',
    'start web',
    'stop web',
    'restore db 2',
    'start web',
  ]);
  // each job listed once: the restores reuse the snapshot chosen up front
  assert.deepEqual(lists.sort(), ['cache', 'db', 'uploads']);
});

test('--all --to takes the newest snapshot of each job at or before the moment', async () => {
  const { ex } = setup();
  const r = await restoreAll(ex, { to: new Date('2026-12-01T23:00:00Z'), confirm: () => true });
  assert.deepEqual(
    r.results.map((x) => `${x.job} ${x.snapshot?.[0]}`),
    ['uploads 6', 'cache 4', 'db 1'],
  );
});

test('a job without a snapshot (before --to) refuses the whole restore before anything is asked or stopped', async () => {
  const { ex, calls } = setup({ snaps: { ...SNAPS, cache: [] } });
  let asked = false;
  await assert.rejects(restoreAll(ex, { confirm: () => (asked = true) }), /no snapshot of cache; nothing was restored/);
  const early = setup();
  await assert.rejects(
    restoreAll(early.ex, { to: new Date('2026-11-30T00:00:00Z'), confirm: () => (asked = true) }),
    /no snapshot at or before 2026-11-30T00:00:00.000Z of uploads, cache, db; nothing was restored/,
  );
  assert.equal(asked, false);
  assert.deepEqual([...calls, ...early.calls], []);
});

test('not confirmed: nothing runs; a failed restore stops the rest and names them', async () => {
  const no = setup();
  const c = await restoreAll(no.ex, { confirm: () => false });
  assert.equal(c.cancelled, true);
  assert.deepEqual(no.calls, []);
  const { ex, calls } = setup({ failJob: 'cache' });
  const r = await restoreAll(ex, { confirm: () => true });
  assert.equal(r.ok, false);
  assert.deepEqual(r.skipped, ['db']);
  assert.match(r.results[1]?.error ?? '', /disk full/);
  assert.ok(!calls.some((x) => x.startsWith('restore db')), calls.join('; '));
  // what the failed restore stopped is started again
  assert.deepEqual(calls.slice(-2), ['start cache', 'start web']);
});
