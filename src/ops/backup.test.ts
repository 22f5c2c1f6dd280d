// In-place restores through the Compose engine with a recording runner: the exact commands,
// in order: what owns the data is stopped first, started again after (also when the restore
// fails), and waited for until healthy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComposeEngine } from '../engine/compose.js';
import type { OpsContext } from '../engine/context.js';
import { recordingRunner } from '../engine/run.js';
import type { Cmd } from '../engine/command.js';
import { buildPlan } from '../plan/build.js';
import { parseSpecText } from '../spec/load.js';
import { BackupError, stackBackupExecutor, engineServiceControl, restoreBackup, restoreStops, type BackupProgress } from './backup.js';
import { backupSpec } from '../../test/support/backup-spec.js';

const SNAP = 'ab'.repeat(32);

function planOf(yaml: string) {
  const r = parseSpecText(yaml, 'wharf.yaml');
  if (!r.stack) throw new Error(JSON.stringify(r.issues));
  return buildPlan(r.stack);
}

const spec = backupSpec('rs', { webReplicas: 2 });

/** A fake engine state: containers of every plan service, stopped or running; a started one is "starting" once. */
async function fakeStack(
  plan: ReturnType<typeof planOf>,
  restore: { exitCode: number; stderr?: string; checkStderr?: string },
  /** web's replicas sit on the edge network, and HAProxy reports web-1's slot DOWN for this many looks after web started */
  edge?: { downLooks: number },
) {
  const stopped = new Set<string>();
  let downLooks = 0;
  const ipOf = (id: string) => `172.19.0.${10 + Number(id.replace(/^.*-/, ''))}`;
  const justStarted = new Set<string>();
  const base = ['docker', 'compose', '-p', 'rs', '-f', 'compose.yaml'];
  // compose subcommands, and `docker exec CONTAINER ...` (the backup scripts) as ['exec', CONTAINER, ...]
  const sub = (c: Cmd) =>
    c.argv[0] === 'docker' && c.argv[1] === 'exec'
      ? c.argv.slice(1)
      : c.argv.slice(0, base.length).join(' ') === base.join(' ')
        ? c.argv.slice(base.length)
        : undefined;
  const { runner, calls } = recordingRunner((c) => {
    const s = sub(c);
    if (s?.[0] === 'stop') {
      for (const n of s.slice(1)) stopped.add(n);
      return {};
    }
    if (s?.[0] === 'start') {
      for (const n of s.slice(1)) {
        stopped.delete(n);
        justStarted.add(n);
        if (n === 'web') downLooks = edge?.downLooks ?? 0;
      }
      return {};
    }
    // HAProxy's runtime API in the proxy (`docker exec proxy-0 bash -c … wharf-runtime PORT COMMAND`)
    if (s?.[0] === 'exec' && s[1] === 'proxy-0' && s.at(-1) === 'show stat') return { stdout: '# pxname,svname,scur\n' };
    if (s?.[0] === 'exec' && s[1] === 'proxy-0' && s.at(-1) === 'show servers state') {
      const down = downLooks > 0;
      if (down) downLooks--;
      return {
        stdout: [
          '1',
          '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state …',
          ...[0, 1].map(
            (i) =>
              `5 be_web_3000 ${i + 1} web${i + 1} ${ipOf(`web-${i}`)} ${i === 1 && down ? 0 : 2} 0 1 1 6 15 3 4 6 0 0 0 web 3000 - 0 0 - - 0`,
          ),
        ].join('\n'),
      };
    }
    if (s?.[0] === 'exec' && s[2] === '/backup/bin/list.sh') {
      return {
        stdout: JSON.stringify({
          backup: { status: 1 },
          verify: { status: null },
          snapshots: [{ id: SNAP, short_id: SNAP.slice(0, 8), time: '2026-12-01T03:00:00Z', tags: ['wharf-dump'] }],
        }),
      };
    }
    if (s?.[0] === 'exec' && s[2] === '/backup/bin/restore.sh') {
      const check = s.includes('--check');
      if (check && restore.checkStderr) return { exitCode: 1, stderr: restore.checkStderr };
      if (!check && restore.exitCode !== 0) return { exitCode: restore.exitCode, stderr: restore.stderr };
      return {
        stdout: JSON.stringify({
          job: s[3],
          snapshot: SNAP,
          destination: '/x',
          scratch: false,
          safetySnapshot: '',
          verified: check,
          tables: 3,
        }),
      };
    }
    if (c.argv[0] === 'docker' && c.argv[1] === 'ps')
      return { stdout: plan.components.flatMap((p) => Array.from({ length: p.replicas }, (_, i) => `${p.name}-${i}`)).join('\n') };
    if (c.argv[0] === 'docker' && c.argv[1] === 'inspect') {
      const out = c.argv.slice(2).map((id) => {
        const svc = id.replace(/-\d+$/, '');
        const health = stopped.has(svc) ? 'unhealthy' : justStarted.has(svc) ? 'starting' : 'healthy';
        return {
          Id: id,
          Name: `/rs-${id}`,
          Image: 'sha256:x',
          RestartCount: 0,
          State: { Status: stopped.has(svc) ? 'exited' : 'running', StartedAt: '', ExitCode: 0, Health: { Status: health } },
          Config: { Image: 'x', Env: [], Labels: { 'com.docker.compose.project': 'rs', 'com.docker.compose.service': svc } },
          NetworkSettings: { Networks: edge && (svc === 'web' || svc === 'proxy') ? { rs_edge: { IPAddress: ipOf(id) } } : {}, Ports: {} },
        };
      });
      // health settles after one look
      for (const id of c.argv.slice(2)) justStarted.delete(id.replace(/-\d+$/, ''));
      return { stdout: JSON.stringify(out) };
    }
    return undefined;
  });
  const engine = new ComposeEngine({ compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' }, project: 'rs', dir: '/out' });
  const ctx: OpsContext = { plan, outDir: '/out', projectDir: '/p', engine, runner };
  const ex = { ...(await stackBackupExecutor(ctx)), services: engineServiceControl(ctx, 1) };
  // the commands that change or run something (health polls are docker ps/inspect)
  const actions = () =>
    calls
      .map((c) => sub(c))
      .filter((s): s is string[] => !!s)
      .map((s) => s.join(' '));
  return { ex, calls, actions };
}

test('what an in-place restore stops: volume owners; database users; cache users then the cache', () => {
  const plan = planOf(spec);
  const job = (n: string) => plan.backups.find((j) => j.name === n)!;
  assert.deepEqual(restoreStops(plan, job('uploads')), [{ service: 'files', reason: 'owns volume uploads' }]);
  assert.deepEqual(restoreStops(plan, job('db')), [{ service: 'web', reason: 'uses database db' }]);
  assert.deepEqual(restoreStops(plan, job('cache')), [
    { service: 'web', reason: 'uses cache cache' },
    { service: 'cache', reason: 'Redis loads the restored RDB when it starts' },
  ]);
  // the backup service mounts the cache's data volume, to put the RDB there
  const backup = plan.components.find((c) => c.role === 'backup')!;
  assert.ok(
    backup.mounts.some((m) => m.type === 'volume' && m.source === 'cache-data' && m.target === '/volumes/cache-data' && !m.readOnly),
  );
});

test('volume restore: stop the owner, restore, start it, wait until healthy (exact commands)', async () => {
  const plan = planOf(spec);
  const { ex, calls, actions } = await fakeStack(plan, { exitCode: 0 });
  const events: BackupProgress[] = [];
  const r = await restoreBackup(ex, { target: 'uploads', confirm: () => true, onProgress: (e) => events.push(e) });
  assert.ok(r.ok, r.error);
  assert.deepEqual(actions(), [
    'exec backup-0 /backup/bin/list.sh uploads',
    'stop files',
    `exec backup-0 /backup/bin/restore.sh uploads ${SNAP}`,
    'start files',
  ]);
  assert.deepEqual(
    events.filter((e) => e.phase === 'stop' || e.phase === 'start').map((e) => e.message),
    ['stopping files (owns volume uploads)', 'starting files again (restored)', 'files is healthy'],
  );
  // health was polled until the started service was healthy (it was "starting" first)
  const afterStart = calls.slice(calls.findIndex((c) => c.argv.includes('start')) + 1);
  assert.equal(afterStart.filter((c) => c.argv[1] === 'inspect').length, 2);
  assert.deepEqual(r.stopped, ['files']);
  assert.deepEqual(r.restarted, ['files']);
});

test('database restore stops the services that use it, and starts them after', async () => {
  const { ex, actions } = await fakeStack(planOf(spec), { exitCode: 0 });
  const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
  assert.ok(r.ok, r.error);
  assert.deepEqual(actions(), [
    'exec backup-0 /backup/bin/list.sh db',
    'stop web',
    `exec backup-0 /backup/bin/restore.sh db ${SNAP}`,
    'start web',
  ]);
});

test('the users of a restored database count as back once the edge routes to each of them again, not before', async () => {
  const plan = planOf(
    spec
      .replace('services:', 'proxy: { kind: haproxy }\nservices:')
      .replace('replicas: 2,', 'replicas: 2, routes: [{ host: web.rs.localhost }],'),
  );
  assert.equal(plan.proxy.kind, 'haproxy');
  const { ex, calls } = await fakeStack(plan, { exitCode: 0 }, { downLooks: 3 });
  const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
  assert.ok(r.ok, r.error);
  const afterStart = calls.slice(calls.findIndex((c) => c.argv.includes('start')) + 1);
  assert.equal(afterStart.filter((c) => c.argv.at(-1) === 'show servers state').length, 4, 'asked the edge until web-1 was UP');
  // still DOWN when the time is up: the restore says so
  const late = await fakeStack(plan, { exitCode: 0 }, { downLooks: 1_000_000 });
  const bad = await restoreBackup(late.ex, { target: 'db', confirm: () => true, healthTimeoutMs: 50 });
  assert.equal(bad.ok, false);
  assert.match(
    bad.error ?? '',
    /restored, but web did not start again: not healthy after 0s: web \(healthy, but the edge routes to 1 of 2 replicas\)/,
  );
});

test('redis restore: stop users and the cache, put the RDB in place, start the cache, then check it, then the users', async () => {
  const { ex, actions } = await fakeStack(planOf(spec), { exitCode: 0 });
  const r = await restoreBackup(ex, { target: 'cache', confirm: () => true });
  assert.ok(r.ok, r.error);
  assert.equal(r.verified, true);
  assert.deepEqual(actions(), [
    'exec backup-0 /backup/bin/list.sh cache',
    'stop web',
    'stop cache',
    `exec backup-0 /backup/bin/restore.sh cache ${SNAP}`,
    'start cache',
    `exec backup-0 /backup/bin/restore.sh cache ${SNAP} --check`,
    'start web',
  ]);
});

test('a redis restore whose DBSIZE does not match fails, and the cache users are started all the same', async () => {
  const { ex, actions } = await fakeStack(planOf(spec), {
    exitCode: 0,
    checkStderr: 'x [cache] ERROR: restored cache has 3 keys, the backup has 51 (0 with a TTL)',
  });
  const r = await restoreBackup(ex, { target: 'cache', confirm: () => true });
  assert.equal(r.ok, false);
  assert.equal(r.error, 'restored cache has 3 keys, the backup has 51 (0 with a TTL); cache, web started again');
  assert.deepEqual(actions().slice(-2), [`exec backup-0 /backup/bin/restore.sh cache ${SNAP} --check`, 'start web']);
  assert.deepEqual(r.restarted, ['cache', 'web']);
});

test('a failed restore starts the stopped services again and says so; the error is kept', async () => {
  const { ex, actions } = await fakeStack(planOf(spec), {
    exitCode: 1,
    stderr: '2026-12-01T00:00:00Z [uploads] ERROR: restore failed: disk full',
  });
  const events: BackupProgress[] = [];
  const r = await restoreBackup(ex, { target: 'uploads', confirm: () => true, onProgress: (e) => events.push(e) });
  assert.equal(r.ok, false);
  assert.equal(r.exitCode, 1);
  assert.equal(r.error, 'restore failed: disk full; files started again');
  assert.deepEqual(actions().slice(1), ['stop files', `exec backup-0 /backup/bin/restore.sh uploads ${SNAP}`, 'start files']);
  assert.ok(events.some((e) => e.message === 'starting files again (the restore FAILED)'));
});

test('a cache without persistence is refused before anything runs', async () => {
  const plan = planOf(spec.replace('persistence: true', 'persistence: false'));
  const { ex, calls } = await fakeStack(plan, { exitCode: 0 });
  const found = calls.length; // the executor looked up the backup container (docker ps, inspect)
  await assert.rejects(
    restoreBackup(ex, { target: 'cache', confirm: () => true }),
    (e: Error) => e instanceof BackupError && /no persistence/.test(e.message),
  );
  assert.equal(calls.length, found);
});

test('a scratch restore stops nothing', async () => {
  const { ex, actions } = await fakeStack(planOf(spec), { exitCode: 0 });
  const r = await restoreBackup(ex, { target: 'db', toScratch: true, confirm: () => true });
  assert.ok(r.ok, r.error);
  assert.deepEqual(actions(), ['exec backup-0 /backup/bin/list.sh db', `exec backup-0 /backup/bin/restore.sh db ${SNAP} --to-scratch`]);
});
