// An in-place restore reports where its time went (finding the snapshot, stopping the users,
// each phase of the script, the users back), and stops and starts the services using the data
// together, one call each way. Scripts answered by a runner that streams their progress lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cmd } from '../engine/command.js';
import type { Runner, RunResult } from '../engine/run.js';
import { buildPlan } from '../plan/build.js';
import { parseSpecText } from '../spec/load.js';
import { phaseLine } from '../cli/format/units.js';
import { backupNow, restoreBackup, type BackupExecutor, type ServiceControl } from './backup.js';

const SNAP = 'cd'.repeat(32);
const spec = `name: ph
domain: ph.localhost
services:
  web: { image: example/web:1, port: 3000, uses: [db] }
  worker: { image: example/worker:1, port: 3001, uses: [db] }
databases:
  db: { engine: postgres, backup: { schedule: "0 3 * * *" } }
monitoring: { enabled: false }
`;

function setup(restoreExit = 0) {
  const r = parseSpecText(spec, 'wharf.yaml');
  if (!r.stack) throw new Error(JSON.stringify(r.issues));
  const plan = buildPlan(r.stack);
  const calls: string[] = [];
  const services: ServiceControl = {
    stop: async (names) => void calls.push(`stop ${names.join(' ')}`),
    start: async (names) => void calls.push(`start ${names.join(' ')}`),
    waitHealthy: async (names) => void calls.push(`healthy ${names.join(' ')}`),
    notRunning: async () => [],
  };
  const script = (lines: string[], stdout: Record<string, unknown>, exitCode = 0) => ({ lines, stdout: JSON.stringify(stdout), exitCode });
  const answers: Record<string, ReturnType<typeof script>> = {
    list: script([], {
      job: 'db',
      backup: { status: 1 },
      verify: {},
      snapshots: [{ id: SNAP, short_id: SNAP.slice(0, 8), time: '2026-12-01T03:00:00Z' }],
    }),
    restore: script(
      [
        'progress open opening repository',
        'progress safety taking a safety snapshot',
        'progress restore restoring',
        'progress check comparing',
        'progress done restored',
      ],
      { job: 'db', snapshot: SNAP, destination: 'app', scratch: false, safetySnapshot: 'ef'.repeat(32), verified: true, tables: 3 },
      restoreExit,
    ),
    backup: script(
      [
        'progress open opening repository',
        'progress manifest counting',
        'progress dump dumping',
        'progress check checking',
        'progress retention applying',
        'progress done ok',
      ],
      { job: 'db', snapshot: SNAP, bytes: 4096, added: 100, snapshots: 2 },
    ),
  };
  const runner: Runner = async (c: Cmd, opts = {}) => {
    const name = /bin\/(\w+)\.sh$/.exec(c.argv[0]!)?.[1] ?? '';
    calls.push(`script ${name}`);
    const a = answers[name]!;
    for (const l of a.lines) opts.onLine?.(l, 'stderr');
    const stderr = a.exitCode ? '2026-12-01T00:00:00Z [db] ERROR: restore failed: disk full' : '';
    return { cmd: c, exitCode: a.exitCode, stdout: a.stdout, stderr, durationMs: 1, timedOut: false } satisfies RunResult;
  };
  const ex: BackupExecutor = {
    plan,
    runner,
    services,
    script: (name, args, describe) => ({ argv: [`/backup/bin/${name}.sh`, ...args], describe }),
  };
  return { ex, calls };
}

test('the services using a database stop in one call and start in one call, after the restore', async () => {
  const { ex, calls } = setup();
  const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
  assert.ok(r.ok, r.error);
  assert.deepEqual(calls, ['script list', 'stop web worker', 'script restore', 'start web worker', 'healthy web worker']);
  assert.deepEqual(r.stopped, ['web', 'worker']);
  assert.deepEqual(r.restarted, ['web', 'worker']);
});

test('an in-place restore reports each phase in order: find, stop, the script phases, the users back', async () => {
  const { ex } = setup();
  const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
  assert.deepEqual(
    r.phases?.map((p) => (p.service ? `${p.phase}:${p.service}` : p.phase)),
    ['find', 'stop:web, worker', 'open', 'safety', 'restore', 'check', 'back:web, worker'],
  );
  for (const p of r.phases ?? []) assert.ok(Number.isInteger(p.ms) && p.ms >= 0, `${p.phase}: ${p.ms}`);
});

test('a failed restore still reports its phases, the users back included', async () => {
  const { ex, calls } = setup(1);
  const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /restore failed: disk full/);
  assert.deepEqual(calls.slice(-2), ['start web worker', 'healthy web worker']);
  assert.equal(r.phases?.at(-1)?.phase, 'back');
});

test('a backup reports its script phases ("done" folded into the one before)', async () => {
  const { ex } = setup();
  const [b] = await backupNow(ex, { target: 'db' });
  assert.ok(b?.ok);
  assert.deepEqual(
    b.phases.map((p) => p.phase),
    ['open', 'manifest', 'dump', 'check', 'retention'],
  );
});

test('phase times print as one line people read', () => {
  assert.equal(
    phaseLine([
      { phase: 'stop', service: 'api', ms: 1210 },
      { phase: 'safety', ms: 2000 },
      { phase: 'restore', ms: 400 },
      { phase: 'check', ms: 800 },
      { phase: 'back', service: 'api', ms: 3140 },
    ]),
    'stopping api 1.2 s, safety snapshot 2.0 s, restore 0.4 s, checks 0.8 s, api back 3.1 s',
  );
});
