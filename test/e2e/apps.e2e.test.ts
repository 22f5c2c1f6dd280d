// Third-party images as first-class citizens, on the real engine: Debian's nginx (a web
// server the project did not write, serving a backed-up volume) and Debian's
// prometheus-postgres-exporter (a server that needs PostgreSQL and reads one connection URL
// from a plain variable, DATA_SOURCE_NAME: so it gets it through the entrypoint wrapper).
// Neither sends X-Instance: the split is proven from what the edge says.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { edgeRequest } from '../../src/engine/edge.js';
import { stackBackupExecutor, backupNow, ensureBackupDirs, restoreBackup } from '../../src/ops/backup.js';
import { loadtest } from '../../src/ops/loadtest.js';
import { status } from '../../src/ops/status.js';
import { up } from '../../src/ops/up.js';
import { leaks, secretInventory } from '../support/secret-values.js';
import { dockerSkipReason, ensureTestImages, repoRoot } from './support/images.js';
import { createStack, type E2EStack } from './support/stack.js';
import { nginxImage } from './support/nginx.js';

const skip = dockerSkipReason() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('third-party images: nginx and a URL-only PostgreSQL client behind HAProxy', { skip, timeout: 600_000 }, () => {
  let s: E2EStack;
  const project = `wharf-e2e-apps${process.pid % 10000}`;
  const outputs: Array<{ name: string; text: string }> = [];
  const edge = (host: string, path: string, ca?: string) => edgeRequest({ host, path, port: s.ports.https, address: '127.0.0.1', ca });
  const compose = (...args: string[]) => execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', ...args], { cwd: s.ctx.outDir });

  before(async () => {
    const [images, nginx] = await Promise.all([ensureTestImages({ progress: null }), nginxImage()]);
    const backupImage = `wharf-test/backup:${images.restic!.split(':')[1]}`;
    await execa('docker', ['build', '-q', '-t', backupImage, '-'], { input: `FROM ${images.restic}\nENTRYPOINT []\n` });
    s = await createStack(
      {
        name: project,
        domain: 'apps.localhost',
        databases: { db: { engine: 'postgres', backup: { schedule: '@daily' } } },
        services: {
          site: {
            image: nginx,
            port: 8080,
            replicas: 2,
            user: 'www-data',
            routes: [{ host: 'www.apps.localhost' }],
            health: { path: '/' },
            volumes: [{ name: 'site-html', target: '/var/www/html', backup: { schedule: '@daily' } }],
          },
          reader: {
            image: images['postgres-exporter'],
            port: 9187,
            replicas: 2,
            uses: ['db'],
            // URL-only and a plain variable: the wrapper exports it from /run/secrets/db-url at start
            env: { DATA_SOURCE_NAME: { secret: 'db.url' } },
            command: ['/bin/postgres_exporter'],
            routes: [{ host: 'reader.apps.localhost' }],
            health: { tcp: true },
            metrics: { path: '/metrics' },
          },
        },
        monitoring: { nodeExporter: false, alerts: {} },
      },
      project,
      (spec) => {
        spec.images = { ...spec.images, restic: backupImage };
      },
    );
    ensureBackupDirs(s.ctx.plan, s.dir);
  });
  after(async () => {
    await s?.destroy();
  });

  test('up: both images healthy, each with the probe it can run', async (t) => {
    const r = await up(s.ctx, { timeoutMs: 240_000 });
    t.diagnostic(`up: ${r.durationMs} ms`);
    outputs.push({ name: 'up result', text: JSON.stringify(r) });
    const byName = new Map(r.services.map((x) => [x.service, x]));
    for (const n of ['site', 'reader', 'db']) assert.equal(byName.get(n)?.state, 'healthy', JSON.stringify(r.services));
    assert.equal(byName.get('site')?.healthy, 2);
    assert.equal(byName.get('reader')?.healthy, 2);
  });

  test('routed with TLS: the generated certificate verifies for both hosts; /metrics stays inside', async () => {
    const ca = readFileSync(join(s.ctx.secretsDir!, 'edge-tls-cert'), 'utf8');
    const site = await edge('www.apps.localhost', '/', ca);
    assert.equal(site.status, 200);
    assert.match(site.body, /nginx/);
    const reader = await edge('reader.apps.localhost', '/', ca);
    assert.equal(reader.status, 200);
    assert.match(reader.body, /Postgres Exporter/i);
    assert.equal((await edge('reader.apps.localhost', '/metrics', ca)).status, 404);
  });

  test('the reader logged in with the derived URL, and Prometheus scrapes it', async () => {
    const m = (await compose('exec', '-T', 'reader', 'wget', '-qO-', 'http://127.0.0.1:9187/metrics')).stdout;
    assert.match(m, /^pg_up 1$/m, 'postgres_exporter connected through DATA_SOURCE_NAME');
    for (let i = 0; ; i++) {
      const st = await status(s.ctx);
      const mine = st.targets.list.filter((x) => x.job === 'reader');
      if (mine.length === 2 && mine.every((x) => x.health === 'up')) break;
      if (i > 30) assert.fail(`reader targets: ${JSON.stringify(mine)} ${st.targets.error ?? ''}`);
      await sleep(2000);
    }
  });

  test('loadtest: the edge names the replica, the split is fair for each image', async (t) => {
    for (const route of ['site', 'reader']) {
      const lt = await loadtest(s.ctx, { route, amount: 400, connections: 4 });
      outputs.push({ name: `loadtest ${route}`, text: JSON.stringify(lt) });
      t.diagnostic(
        `${route}: ${lt.requests.total} req, ${lt.rps} req/s, ${lt.distribution.map((d) => `${d.instance}=${d.count}`).join(' ')}, p=${lt.fairness.pValue.toFixed(3)}`,
      );
      assert.equal(lt.source, 'edge');
      assert.equal(lt.requests.errors + lt.requests.non2xx, 0);
      assert.equal(lt.distribution.length, 2, JSON.stringify(lt.distribution));
      assert.equal(lt.fairness.verdict, 'fair', lt.fairness.explanation);
    }
  });

  test('backed up and restored: the database and the site volume', async () => {
    const ex = await stackBackupExecutor(s.ctx);
    await compose('exec', '-T', '-u', 'root', 'site', 'sh', '-c', 'printf "<h1>kept by wharf</h1>" > /var/www/html/index.html');
    await compose(
      'exec',
      '-T',
      'db',
      'psql',
      '-X',
      '-q',
      '-U',
      'app',
      '-d',
      s.ctx.plan.name.replace(/-/g, '_'),
      '-c',
      'CREATE TABLE feeds (url text); INSERT INTO feeds VALUES ($$https://example.org/feed$$)',
    );
    const runs = await backupNow(ex);
    outputs.push({ name: 'backup result', text: JSON.stringify(runs) });
    assert.deepEqual(
      runs.map((r) => [r.target, r.ok]).sort(),
      [
        ['db', true],
        ['site', true],
      ],
      JSON.stringify(runs),
    );
    await compose('exec', '-T', '-u', 'root', 'site', 'sh', '-c', 'echo defaced > /var/www/html/index.html');
    await compose('exec', '-T', 'db', 'psql', '-X', '-q', '-U', 'app', '-d', s.ctx.plan.name.replace(/-/g, '_'), '-c', 'DELETE FROM feeds');
    for (const job of s.ctx.plan.backups) {
      const r = await restoreBackup(ex, { target: job.name, confirm: () => true });
      outputs.push({ name: `restore ${job.name}`, text: JSON.stringify(r) });
      assert.ok(r.ok, `${job.name}: ${r.error}`);
    }
    await up(s.ctx, { timeoutMs: 180_000 });
    assert.match((await edge('www.apps.localhost', '/')).body, /kept by wharf/);
    const rows = (
      await compose(
        'exec',
        '-T',
        'db',
        'psql',
        '-X',
        '-At',
        '-U',
        'app',
        '-d',
        s.ctx.plan.name.replace(/-/g, '_'),
        '-c',
        'SELECT url FROM feeds',
      )
    ).stdout.trim();
    assert.equal(rows, 'https://example.org/feed');
  });

  test('the CLI as a user runs it: check states the probes, status and loadtest work on this stack', async () => {
    const cli = (...args: string[]) =>
      execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), ...args, '-f', s.specPath], { reject: false, env: { NO_COLOR: '1' } });
    const check = await cli('check');
    assert.equal(check.exitCode, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /reader\s+│ in the container: port 9187 listening/);
    assert.match(check.stdout, /site\s+│ in the container: HTTP GET \//);
    const st = await cli('status');
    const lt = await cli('loadtest', '--route', 'reader', '--duration', '1', '--connections', '2');
    assert.equal(lt.exitCode, 0, lt.stdout + lt.stderr);
    assert.match(lt.stdout, /replica \(named by the edge\)/);
    for (const [name, r] of [
      ['check', check],
      ['status', st],
      ['loadtest', lt],
    ] as const)
      outputs.push({ name: `wharf ${name}`, text: `${r.stdout}\n${r.stderr}` });
  });

  test('no secret, derived URL included, in rendered files, results, logs or docker inspect', async () => {
    const inv = secretInventory(s.ctx.plan, s.ctx.secretsDir!);
    assert.ok(
      inv.values.some((v) => v.secret === 'db-url'),
      'the URL is in the inventory',
    );
    const places = [...outputs];
    for (const f of filesUnder(s.ctx.outDir)) places.push({ name: f, text: readFileSync(f, 'utf8') });
    {
      const l = await compose('logs', '--no-color');
      places.push({ name: 'compose logs', text: `${l.stdout}\n${l.stderr}` });
    }
    const ids = (await compose('ps', '-aq')).stdout.split('\n').filter(Boolean);
    assert.ok(ids.length >= 6);
    places.push({ name: 'docker inspect', text: (await execa('docker', ['inspect', ...ids])).stdout });
    const inspect = JSON.parse(places.at(-1)!.text) as Array<{ Name: string; Config: { Env: string[]; Cmd: string[] } }>;
    const reader = inspect.find((c) => c.Name.includes('-reader-'))!;
    assert.ok(reader.Config.Cmd.includes('DATA_SOURCE_NAME=/run/secrets/db-url'), 'only the path is in the container config');
    assert.deepEqual(leaks(inv, places), []);
  });
});
