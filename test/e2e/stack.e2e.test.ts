// End to end on the real Docker Engine: the `api` template (seed 002, with HAProxy since
// Traefik cannot run here) and the `haproxy-mysql` template (seed 003), built from local
// substitute images, asserted only through the loopback-published edge and the ops layer. The api
// stack also carries the whole-template backup and restore (once in backup.e2e.test.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { edgeRequest } from '../../src/engine/edge.js';
import { listContainers } from '../../src/engine/live.js';
import { run } from '../../src/engine/run.js';
import { cmd } from '../../src/engine/command.js';
import { backupNow, restoreBackup, stackBackupExecutor } from '../../src/ops/backup.js';
import { doctor, type Check } from '../../src/ops/doctor.js';
import { down } from '../../src/ops/down.js';
import { loadtest } from '../../src/ops/loadtest.js';
import { status, type StatusResult } from '../../src/ops/status.js';
import { up } from '../../src/ops/up.js';
import { dockerSkipReason } from './support/images.js';
import { createStack, editCompose, restoreCompose, type E2EStack } from './support/stack.js';

const skip = dockerSkipReason() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForTargets(s: E2EStack, timeoutMs = 120_000): Promise<StatusResult> {
  const t0 = Date.now();
  for (;;) {
    const st = await status(s.ctx);
    if (st.targets.available && st.targets.list.length > 0 && st.targets.down === 0) return st;
    if (Date.now() - t0 > timeoutMs) {
      assert.fail(
        `Prometheus targets not all up after ${timeoutMs} ms: ${
          st.targets.error ??
          st.targets.list
            .filter((t) => t.health !== 'up')
            .map((t) => `${t.job} ${t.instance} ${t.health} ${t.lastError}`)
            .join('; ')
        }`,
      );
    }
    await sleep(2000);
  }
}

const failures = (checks: Check[]) =>
  checks
    .filter((c) => !c.ok)
    .map((c) => `${c.id}: ${c.detail}${c.lines ? `\n  ${c.lines.join('\n  ')}` : ''}`)
    .join('\n');

describe('api template (PostgreSQL, Redis, HAProxy, monitoring)', { skip }, () => {
  let s: E2EStack;
  let host: string;
  const edge = (path: string, extra: { host?: string; tls?: boolean; ca?: string } = {}) =>
    edgeRequest({
      host: extra.host ?? host,
      path,
      port: extra.tls === false ? s.ports.http : s.ports.https,
      address: '127.0.0.1',
      tls: extra.tls,
      ca: extra.ca,
    });

  before(async () => {
    s = await createStack('api', 'wharf-e2e-api');
    host = s.ctx.plan.routes.find((r) => r.service === 'api')!.host;
  });
  after(async () => {
    await s?.destroy();
  });

  test('up: every replica healthy; a second up changes nothing', async (t) => {
    const first = await up(s.ctx, { timeoutMs: 240_000 });
    t.diagnostic(`first up: ${first.durationMs} ms (${first.steps.map((x) => `${x.step} ${x.durationMs}`).join(', ')})`);
    assert.ok(
      first.services.every((x) => x.state === 'healthy'),
      JSON.stringify(first.services),
    );
    assert.equal(first.services.find((x) => x.service === 'api')?.healthy, 3);
    const before = (await listContainers(s.ctx.engine, run)).map((c) => `${c.id}@${c.startedAt}`).sort();
    const second = await up(s.ctx, { timeoutMs: 120_000 });
    t.diagnostic(`second up (no-op): ${second.durationMs} ms`);
    assert.deepEqual(second.changed, []);
    assert.deepEqual((await listContainers(s.ctx.engine, run)).map((c) => `${c.id}@${c.startedAt}`).sort(), before);
  });

  test('host routing through the edge: the route answers, an unknown host does not, HTTP redirects to HTTPS', async () => {
    const ok = await edge('/health');
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { status: 'healthy' });
    assert.ok(ok.headers['x-instance'], 'X-Instance header');
    assert.equal((await edge('/health', { host: 'nope.example.com' })).status, 404);
    const http = await edge('/health', { tls: false });
    assert.equal(http.status, 301);
    assert.equal(http.headers.location, `https://${host}:${s.ports.https}/health`);
  });

  test('TLS: the edge presents the generated certificate, which verifies for the route host', async () => {
    const ca = readFileSync(join(s.ctx.secretsDir!, 'edge-tls-cert'), 'utf8');
    const r = await edge('/health', { ca });
    assert.equal(r.status, 200);
    assert.match(r.cert?.subjectAltName ?? '', new RegExp(`DNS:${host.replace(/\./g, '\\.')}`));
  });

  test('/api/data: first from the database, then from the Redis cache (shared by the replicas)', async () => {
    const a = JSON.parse((await edge('/api/data')).body) as { source: string; data: string };
    const b = JSON.parse((await edge('/api/data')).body) as { source: string; data: string };
    assert.equal(a.source, 'database');
    assert.equal(b.source, 'cache');
    assert.equal(b.data, a.data);
  });

  test('round-robin across the 3 replicas: sequential requests split evenly, and the loadtest verdict is fair', async (t) => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const id = String((await edge('/health')).headers['x-instance']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    assert.equal(seen.size, 3, JSON.stringify([...seen]));
    assert.ok(Math.max(...seen.values()) - Math.min(...seen.values()) <= 1, JSON.stringify([...seen]));
    const lt = await loadtest(s.ctx, { route: 'api', path: '/health', amount: 600, connections: 6 });
    assert.equal(lt.requests.errors, 0);
    assert.equal(lt.requests.non2xx, 0);
    assert.equal(lt.distribution.length, 3);
    assert.equal(lt.fairness.verdict, 'fair', lt.fairness.explanation);
    // HAProxy named each replica; the API's own X-Instance must tell the same story
    assert.equal(lt.source, 'edge');
    assert.equal(lt.crossCheck?.agree, true, JSON.stringify(lt.crossCheck));
    assert.equal(lt.crossCheck?.pairs.length, 3);
    t.diagnostic(
      `loadtest: ${lt.requests.total} req, ${lt.rps} req/s, p50 ${lt.latencyMs.p50} ms, p99 ${lt.latencyMs.p99} ms, ${lt.distribution.map((d) => d.count).join('/')}, chi2 ${lt.fairness.chiSquare.toFixed(3)} p=${lt.fairness.pValue.toFixed(3)}`,
    );
  });

  test('/metrics is not reachable through the edge', async () => {
    assert.equal((await edge('/metrics')).status, 404);
  });

  test('Prometheus scrapes every target, alert rules are evaluated, and doctor passes', async (t) => {
    const st = await waitForTargets(s);
    assert.equal(st.alerts.available, true, st.alerts.error);
    const jobs = new Set(st.targets.list.map((t) => t.job));
    for (const j of s.ctx.plan.monitoring.scrapeJobs) assert.ok(jobs.has(j.job), `job ${j.job} has targets`);
    assert.equal(st.targets.list.filter((t) => t.job === 'api').length, 3, 'every api replica scraped');
    const d = await doctor(s.ctx);
    t.diagnostic(
      `doctor: ${d.checks.length} checks in ${d.durationMs} ms; targets ${st.targets.up}/${st.targets.list.length} up; alerts firing: ${st.alerts.firing.map((a) => a.name).join(', ') || 'none'}`,
    );
    assert.equal(d.ok, true, failures(d.checks));
    assert.deepEqual(
      d.checks.filter((c) => c.status === 'warn').map((c) => c.id),
      [],
    );
  });

  // Shared with what was backup.e2e's second suite (one api stack instead of two): items written
  // through the API over TLS survive a destroyed database volume, restored by the backup service.
  const api = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: s.ports.https,
          path,
          method,
          servername: host,
          rejectUnauthorized: false,
          timeout: 10_000,
          headers: { host, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
        },
        (res) => {
          let b = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            b += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  const allItems = async () => {
    const out: unknown[] = [];
    let after = '';
    for (;;) {
      const r = await api('GET', `/api/items?limit=100${after ? `&after=${after}` : ''}`);
      assert.equal(r.status, 200, r.body);
      const page = JSON.parse(r.body) as { items: Array<{ id: number }>; next_after?: number | null };
      out.push(...page.items);
      if (!page.next_after || !page.items.length) return out;
      after = String(page.next_after);
    }
  };

  test('backups: write -> backup -> destroy volume -> restore -> identical, and node-exporter publishes the metrics', async () => {
    for (let i = 0; i < 40; i++) {
      const r = await api('POST', '/api/items', { name: `item ${i}`, description: `written through the API, ${'é'.repeat(i % 5)}` });
      assert.equal(r.status, 201, r.body);
    }
    const before = await allItems();
    assert.equal(before.length, 40);
    const ex = await stackBackupExecutor(s.ctx);
    const [b] = await backupNow(ex, { target: 'db' });
    assert.ok(b?.ok, b?.error);
    const project = s.ctx.plan.name;
    const dir = s.ctx.outDir;
    await execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', 'rm', '-s', '-f', 'db', 'db-exporter'], {
      cwd: dir,
      reject: false,
    });
    await execa('docker', ['volume', 'rm', `${project}_db-data`]);
    await execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', 'up', '-d', '--no-build'], { cwd: dir });
    for (let i = 0; i < 120; i++) {
      const h = await execa('docker', ['inspect', '-f', '{{.State.Health.Status}}', `${project}-db-1`], { reject: false });
      if (h.stdout.trim() === 'healthy') break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const r = await restoreBackup(ex, { target: 'db', confirm: () => true });
    assert.ok(r.ok, r.error);
    assert.equal(r.verified, true);
    assert.deepEqual(await allItems(), before);
    const metrics = (
      await execa(
        'docker',
        ['compose', '-p', project, '-f', 'compose.yaml', 'exec', '-T', 'node-exporter', 'wget', '-qO-', 'http://127.0.0.1:9100/metrics'],
        { cwd: dir },
      )
    ).stdout;
    assert.match(metrics, /^wharf_backup_last_status\{backup="db",kind="postgres",target="db"\} 1$/m);
    assert.match(metrics, /^wharf_backup_last_success_timestamp_seconds\{backup="db",kind="postgres",target="db"\} /m);
  });

  /** Each break starts from the rendered file plus one hand edit, applied with compose itself. */
  async function breakAndDiagnose(change: Parameters<typeof editCompose>[1]): Promise<Check[]> {
    editCompose(s, change);
    await run(s.ctx.engine.apply());
    for (let i = 0; ; i++) {
      const api = (await listContainers(s.ctx.engine, run)).filter((c) => c.service === 'api');
      if (api.length === 3 && api.every((c) => c.state === 'running')) break;
      if (i > 60) assert.fail(`api replicas not running: ${api.map((c) => `${c.name} ${c.state}`).join(', ')}`);
      await sleep(500);
    }
    const d = await doctor(s.ctx, { only: ['links'] });
    return d.checks.filter((c) => !c.ok);
  }

  test('seed 002 part 7, wrong service name: doctor names it', async () => {
    const bad = await breakAndDiagnose((doc) => doc.setIn(['services', 'api', 'environment', 'DB_HOST'], 'postgres'));
    const c = bad.find((x) => x.cause === 'wrong-service-name');
    assert.ok(c, failures(bad));
    assert.equal(c.service, 'api');
    assert.match(c.detail, /no service "postgres"/);
    assert.match(c.hint ?? '', /did you mean "db"\?/);
  });

  test('seed 002 part 7, wrong port: doctor names it', async () => {
    const bad = await breakAndDiagnose((doc) => doc.setIn(['services', 'api', 'environment', 'DB_PORT'], '5433'));
    const c = bad.find((x) => x.cause === 'wrong-port');
    assert.ok(c, failures(bad));
    assert.match(c.detail, /refuses connections on port 5433 .*db listens on 5432/);
  });

  test('seed 002 part 7, missing network: doctor names it', async () => {
    const bad = await breakAndDiagnose((doc) => doc.setIn(['services', 'api', 'networks'], ['edge', 'monitoring']));
    const c = bad.find((x) => x.cause === 'missing-network' && x.id.startsWith('link:api->db:'));
    assert.ok(c, failures(bad));
    assert.match(c.detail, /api is not attached to any network db is on \(api: edge, monitoring; db: backend\)/);
    assert.ok(bad.some((x) => x.cause === 'missing-network' && x.id.startsWith('link:api->cache:')));
  });

  test('every api replica stopped: doctor fails its health and says the route has no healthy backend', async () => {
    restoreCompose(s);
    const ids = (await listContainers(s.ctx.engine, run)).filter((c) => c.service === 'api').map((c) => c.id);
    await run(cmd(['docker', 'stop', ...ids], 'stop the api replicas'));
    const d = await doctor(s.ctx, { only: ['health', 'routes'] });
    const route = d.checks.find((c) => c.id === 'route:api');
    assert.equal(route?.cause, 'no-healthy-backend', failures(d.checks));
    // 503 once HAProxy's checks mark the servers down; a timeout before that. Both name the cause.
    assert.match(route!.detail, /(-> 503 through the edge|timed out after \d+ ms .*); api: 0\/3 healthy/);
    assert.equal(d.checks.find((c) => c.id === 'health:api')?.status, 'fail');
  });

  test('after repair doctor passes again; down leaves nothing running and keeps the data volumes', async () => {
    restoreCompose(s);
    const fixed = await up(s.ctx, { build: false, timeoutMs: 120_000 });
    // Only the edited service is replaced (Compose also restarts the proxy that depends on it).
    assert.ok(fixed.changed.includes('api'));
    assert.deepEqual(
      fixed.changed.filter((x) => x !== 'api' && x !== 'proxy'),
      [],
    );
    const d = await doctor(s.ctx, { only: ['health', 'links', 'routes'] });
    assert.equal(d.ok, true, failures(d.checks));
    const r = await down(s.ctx, { volumes: false });
    assert.deepEqual({ containers: r.remaining.containers, networks: r.remaining.networks }, { containers: 0, networks: 0 });
    assert.ok(r.remaining.volumes.includes('wharf-e2e-api_db-data'), r.remaining.volumes.join(','));
    assert.deepEqual(await listContainers(s.ctx.engine, run), []);
  });
});

describe('haproxy-mysql template (seed 003: MySQL, 3 web replicas, stats)', { skip }, () => {
  let s: E2EStack;
  let host: string;
  before(async () => {
    s = await createStack('haproxy-mysql', 'wharf-e2e-mysql');
    host = s.ctx.plan.routes.find((r) => r.service === 'web')!.host;
  });
  after(async () => {
    await s?.destroy();
  });

  test('up, round-robin over 3 replicas through TLS, metrics refused, targets up, doctor passes, down', async (t) => {
    const u = await up(s.ctx, { timeoutMs: 300_000 });
    t.diagnostic(`up: ${u.durationMs} ms`);
    assert.ok(
      u.services.every((x) => x.state === 'healthy'),
      JSON.stringify(u.services),
    );
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const r = await edgeRequest({ host, path: '/health', port: s.ports.https, address: '127.0.0.1' });
      assert.equal(r.status, 200);
      seen.add(String(r.headers['x-instance']));
    }
    assert.equal(seen.size, 3);
    const lt = await loadtest(s.ctx, { route: 'web', path: '/health', amount: 300, connections: 3 });
    assert.equal(lt.fairness.verdict, 'fair', lt.fairness.explanation);
    assert.equal(lt.requests.errors + lt.requests.non2xx, 0);
    const items = await edgeRequest({ host, path: '/api/data', port: s.ports.https, address: '127.0.0.1' });
    assert.equal(items.status, 200, items.body);
    assert.equal((await edgeRequest({ host, path: '/metrics', port: s.ports.https, address: '127.0.0.1' })).status, 404);
    const stats = await edgeRequest({ host: s.ctx.plan.proxy.dashboardHost!, path: '/', port: s.ports.https, address: '127.0.0.1' });
    assert.equal(stats.status, 401, 'stats page behind basic auth');
    await waitForTargets(s);
    const d = await doctor(s.ctx);
    assert.equal(d.ok, true, failures(d.checks));
    const r = await down(s.ctx, { volumes: true });
    assert.deepEqual(r.remaining, { containers: 0, networks: 0, volumes: [] });
  });
});
