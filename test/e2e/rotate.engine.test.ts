// Secret rotation on the real engine (Compose): the API (one replica, rolled side by side; its
// /ready asks PostgreSQL on every request) behind the HAProxy edge, under steady load through the
// edge while the database password, the edge's basic-auth password and its self-signed
// certificate are rotated: every request must succeed, and afterwards the old credentials are
// refused and the new ones accepted. Then the restic password: the old key refused, the snapshot
// made before verified with the new one. Needs Docker (hold /tmp/wharf-docker.lock).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { execa } from 'execa';
import { composeContext } from '../../src/engine/context.js';
import { edgeRequest } from '../../src/engine/edge.js';
import { listContainers } from '../../src/engine/live.js';
import { run } from '../../src/engine/run.js';
import { backupNow, verifyBackups } from '../../src/ops/backup.js';
import { stackBackupExecutor } from '../../src/ops/backup-executor.js';
import { load } from '../../src/ops/prepare.js';
import { rotateSecret } from '../../src/ops/rotate.js';
import { readRotations } from '../../src/ops/rotate-state.js';
import { up } from '../../src/ops/up.js';
import { dockerSkipReason } from './support/images.js';
import { createStack, type E2EStack } from './support/stack.js';
import { edgeLoad, type LoadResult } from './support/swarm.js';

const skip = dockerSkipReason() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('secret rotation under load on Compose behind HAProxy', { skip, timeout: 600_000 }, () => {
  let s: E2EStack;
  const project = `rotate-e2e${process.pid % 10000}`;
  const api = 'api.rot.localhost';
  const secret = (n: string) => readFileSync(join(s.dir, '.wharf', 'secrets', n), 'utf8');

  before(async () => {
    s = await createStack(
      {
        name: project,
        domain: 'rot.localhost',
        tls: { mode: 'self-signed' },
        proxy: { kind: 'haproxy' },
        services: {
          api: {
            build: { context: './apps/api' },
            port: 3000,
            replicas: 1,
            routes: [{ host: api }],
            health: { path: '/health', interval: '2s' },
            uses: ['db'],
          },
        },
        databases: { db: { engine: 'postgres', backup: { schedule: '0 3 * * *' } } },
        monitoring: { enabled: false },
      },
      project,
    );
    const r = await up(s.ctx, { timeoutMs: 240_000 });
    assert.ok(
      r.services.every((x) => x.state === 'healthy'),
      JSON.stringify(r.services),
    );
  });
  after(async () => {
    await s?.destroy();
  });

  /** /ready through the edge: a query on the database pool per request. */
  async function underLoad(work: () => Promise<unknown>): Promise<LoadResult[]> {
    const load = edgeLoad(
      () => edgeRequest({ host: api, path: '/ready', port: s.ports.https, address: '127.0.0.1', timeoutMs: 10_000 }),
      3,
    );
    await sleep(1000);
    try {
      await work();
    } finally {
      await sleep(1500);
    }
    return (await load.end()).results;
  }
  const rotate = async (name: string) => {
    const loaded = await load(s.specPath);
    return rotateSecret(name, {
      loaded,
      contextFor: (p) => composeContext({ plan: p.plan, outDir: p.outDir, projectDir: s.dir, secretsDir: p.secretsDir }),
    });
  };
  const failures = (rs: LoadResult[]) => `${rs.filter((r) => !r.ok).length} of ${rs.length} failed: ${rs.find((r) => !r.ok)?.why ?? ''}`;

  /** PostgreSQL's answer to a TCP login as `user` with `password` (given on stdin, never argv). */
  async function login(user: string, password: string): Promise<boolean> {
    const db = (await listContainers(s.ctx.engine, run)).find((c) => c.service === 'db' && c.state === 'running')!;
    const script = `read -r PGPASSWORD; export PGPASSWORD; exec psql -h 127.0.0.1 -U "$1" -d "$2" -tAc 'select 1'`;
    const r = await execa('docker', ['exec', '-i', db.id, 'sh', '-c', script, 'login', user, project.replace(/-/g, '_')], {
      input: `${password}\n`,
      reject: false,
    });
    return r.exitCode === 0 && r.stdout.trim() === '1';
  }

  /** The stats dashboard through the edge with basic auth: its status. */
  const dashboard = async (password: string) =>
    (
      await edgeRequest({
        host: 'haproxy.rot.localhost',
        path: '/',
        port: s.ports.https,
        address: '127.0.0.1',
        timeoutMs: 10_000,
        headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` },
      })
    ).status;

  test('the database password: 0 failed requests while the API rolls; the old password refused, the twin login gone', async (t) => {
    const old = secret('db-password').trim();
    assert.ok(await login('app', old), 'the old password works before');
    const rs = await underLoad(() => rotate('db-password'));
    t.diagnostic(`db-password: ${failures(rs)}`);
    assert.equal(rs.filter((r) => !r.ok).length, 0, failures(rs));
    const next = secret('db-password').trim();
    assert.notEqual(next, old);
    assert.equal(await login('app', old), false, 'the old password is refused');
    assert.equal(await login('app', next), true, 'the new password works');
    assert.equal(await login('app_rotating', next), false, 'the transient login is gone');
    assert.match(secret('db-url'), /^postgres:\/\/app:/);
    assert.deepEqual(Object.keys(readRotations(s.dir)).sort(), ['db-password', 'db-url']);
  });

  test('the edge password: 0 failed requests, reloaded live; the old password refused', async (t) => {
    const old = secret('edge-admin-password').trim();
    assert.equal(await dashboard(old), 200);
    const proxyBefore = (await listContainers(s.ctx.engine, run)).filter((c) => c.service === 'proxy').map((c) => c.id);
    const rs = await underLoad(() => rotate('edge-admin-password'));
    t.diagnostic(`edge-admin-password: ${failures(rs)}`);
    assert.equal(rs.filter((r) => !r.ok).length, 0, failures(rs));
    const next = secret('edge-admin-password').trim();
    assert.equal(await dashboard(old), 401);
    assert.equal(await dashboard(next), 200);
    const proxyAfter = (await listContainers(s.ctx.engine, run)).filter((c) => c.service === 'proxy').map((c) => c.id);
    assert.deepEqual(proxyAfter, proxyBefore, 'the edge was reloaded, not recreated');
  });

  test('the self-signed certificate: 0 failed requests, the edge serves the new one', async (t) => {
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const c = connect({ host: '127.0.0.1', port: s.ports.https, servername: api, rejectUnauthorized: false }, () => {
          resolve(c.getPeerCertificate().fingerprint256);
          c.end();
        });
        c.on('error', reject);
      });
    const before = await served();
    const rs = await underLoad(() => rotate('edge-tls-cert'));
    t.diagnostic(`edge-tls-cert: ${failures(rs)}`);
    assert.equal(rs.filter((r) => !r.ok).length, 0, failures(rs));
    assert.notEqual(await served(), before);
  });

  test('the restic password: a new key, the old one removed; the backup made before restores with the new password', async () => {
    const ex = await stackBackupExecutor(s.ctx);
    const [b] = await backupNow(ex, { target: 'db' });
    assert.ok(b?.ok, b?.error);
    const old = secret('backup-restic-password').trim();
    await rotate('backup-restic-password');
    const next = secret('backup-restic-password').trim();
    assert.notEqual(next, old);
    const backup = (await listContainers(s.ctx.engine, run)).find((c) => c.service === 'backup' && c.state === 'running')!;
    const opens = async (password: string) =>
      (
        await execa(
          'docker',
          ['exec', '-i', backup.id, 'sh', '-c', 'cat | restic -r "$1" --password-file /dev/stdin cat config', 'x', '/repo/db'],
          {
            input: password,
            reject: false,
          },
        )
      ).exitCode === 0;
    assert.equal(await opens(old), false, 'the old password is refused');
    assert.equal(await opens(next), true, 'the new password opens the repository');
    // the backup service now runs with the new password: the earlier snapshot restores (restore test)
    const [v] = await verifyBackups(await stackBackupExecutor(s.ctx), { target: 'db', readDataSubset: '100%' });
    assert.ok(v?.ok, v?.error);
  });
});
