// Each substitute image, run for real the way the plan runs the official one (same command,
// env, user, secret files, capabilities), checked where it serves: the plan's own healthcheck
// commands, connections from a second container over a Docker network, metrics through the
// exporters and Prometheus scraping every one of them, a restic backup of a live pg_dump.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildScript, dockerSkipReason, ensureTestImages, parseImageMap, substitutedKeys, type TestImages } from './support/images.js';

const skip = dockerSkipReason();
const run = `wsmk${process.pid}`;
const label = `org.wharf.test.smoke=${run}`;
const net = `${run}-net`;

// Secrets: random, written to files, mounted read-only; never printed.
const pw = {
  pg: randomBytes(18).toString('base64url'),
  app: randomBytes(18).toString('hex'),
  // quotes and a backslash: the entrypoint must escape them in SQL
  root: `r'o"o\\t-${randomBytes(9).toString('base64url')}`,
  redis: randomBytes(18).toString('hex'),
  restic: randomBytes(18).toString('base64url'),
  edge: randomBytes(12).toString('hex'),
};

async function docker(args: string[], opts: { input?: string; timeout?: number } = {}) {
  return execa('docker', args, { reject: false, timeout: opts.timeout ?? 120_000, input: opts.input, stripFinalNewline: true });
}

async function must(args: string[], what: string) {
  const r = await docker(args);
  assert.equal(r.exitCode, 0, `${what}: docker ${args.slice(0, 3).join(' ')}… exited ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface Started {
  name: string;
  alias: string;
  t0: number;
}

/** docker run -d on the test network, with our label so cleanup finds exactly ours. */
async function start(alias: string, image: string, opts: { flags?: string[]; cmd?: string[] } = {}): Promise<Started> {
  const name = `${run}-${alias}`;
  const t0 = Date.now();
  await must(
    [
      'run',
      '-d',
      '--name',
      name,
      '--label',
      label,
      '--network',
      net,
      '--network-alias',
      alias,
      ...(opts.flags ?? []),
      image,
      ...(opts.cmd ?? []),
    ],
    `start ${alias}`,
  );
  return { name, alias, t0 };
}

async function logs(c: Started): Promise<string> {
  const r = await docker(['logs', '--tail', '40', c.name]);
  return `${r.stdout}\n${r.stderr}`;
}

/** Polls `docker exec` of a command until it exits 0; returns ms since the container started. */
async function waitExec(c: Started, cmd: string[], timeoutMs = 90_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await docker(['exec', c.name, ...cmd], { timeout: 15_000 });
    if (r.exitCode === 0) return Date.now() - c.t0;
    last = `${r.stdout}${r.stderr}`.slice(-300);
    const st = await docker(['inspect', '-f', '{{.State.Running}}', c.name]);
    if (st.stdout !== 'true') assert.fail(`${c.alias} exited while waiting for ${cmd.join(' ')}:\n${await logs(c)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.fail(`${c.alias}: ${cmd.join(' ')} never succeeded within ${timeoutMs} ms (last: ${last})\n${await logs(c)}`);
}

/** Runs a throwaway client container on the test network. */
async function client(image: string, script: string, mounts: string[] = []) {
  return docker([
    'run',
    '--rm',
    '--label',
    label,
    '--network',
    net,
    ...mounts.flatMap((m) => ['-v', m]),
    '--entrypoint',
    'sh',
    image,
    '-c',
    script,
  ]);
}

async function hostPort(c: Started, port: number): Promise<number> {
  const out = await must(['port', c.name, `${port}/tcp`], `port of ${c.alias}`);
  const m = /:(\d+)\s*$/m.exec(out.split('\n')[0] ?? '');
  assert.ok(m, `no published port ${port} for ${c.alias}: ${out}`);
  return Number(m[1]);
}

async function uidOf(c: Started): Promise<string> {
  const status = await must(['exec', c.name, 'cat', '/proc/1/status'], `status of ${c.alias}`);
  return /^Uid:\s+(\d+)/m.exec(status)?.[1] ?? '?';
}

async function assertNoSecretsIn(c: Started) {
  const r = await docker(['logs', c.name]);
  const text = `${r.stdout}\n${r.stderr}`;
  for (const [k, v] of Object.entries(pw)) assert.ok(!text.includes(v), `${c.alias} logs contain the ${k} secret`);
}

describe('e2e substitute images (docker)', { skip }, () => {
  let images: TestImages;
  let dir: string;
  const s = (f: string) => join(dir, f);
  const c: Record<string, Started> = {};
  const img = (k: string) => {
    const r = images[k];
    assert.ok(r, `no image for ${k}`);
    return r;
  };

  before(async () => {
    const t = Date.now();
    images = await ensureTestImages();
    console.error(`[smoke] images ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    dir = mkdtempSync(join(tmpdir(), 'wharf-smoke-'));
    chmodSync(dir, 0o755);
    const files: Record<string, string> = {
      'pg-password': pw.pg,
      'db-password': pw.app,
      'db-root-password': pw.root,
      'cache-password': pw.redis,
      'cache-acl': `user default on >${pw.redis} ~* &* +@all\n`,
      'cache-exporter-passwords': JSON.stringify({ 'redis://cache:6379': pw.redis }),
      'db-exporter-cnf': `[client]\nuser=app\npassword=${pw.app}\nhost=mysql\nport=3306\n`,
      'restic-password': pw.restic,
      'edge-userlist': `userlist admins\n  user admin insecure-password ${pw.edge}\n`,
      'haproxy.cfg': [
        'global',
        '  log stdout format raw local0',
        '  maxconn 256',
        'defaults',
        '  mode http',
        '  log global',
        '  timeout connect 3s',
        '  timeout client 10s',
        '  timeout server 10s',
        '  default-server init-addr last,libc,none',
        'resolvers docker',
        '  nameserver dns 127.0.0.11:53',
        '  hold valid 5s',
        'frontend web',
        '  bind :80',
        '  default_backend app',
        'frontend stats',
        '  bind :8404',
        '  http-request use-service prometheus-exporter if { path /metrics }',
        '  stats enable',
        '  stats uri /stats',
        '  stats http-request auth realm stats unless { http_auth(admins) }',
        'backend app',
        '  server app1 app:3000 check resolvers docker',
        '',
      ].join('\n'),
      'prometheus.yml': [
        'global:',
        '  scrape_interval: 2s',
        '  evaluation_interval: 2s',
        'scrape_configs:',
        ...(
          [
            ['prometheus', 'localhost:9090'],
            ['alertmanager', 'alertmanager:9093'],
            ['node-exporter', 'node-exporter:9100'],
            ['pg-exporter', 'pg-exporter:9187'],
            ['db-exporter', 'db-exporter:9104'],
            ['cache-exporter', 'cache-exporter:9121'],
            ['proxy', 'proxy:8404'],
          ] as const
        ).flatMap(([job, target]) => [`  - job_name: ${job}`, '    static_configs:', `      - targets: ['${target}']`]),
        '',
      ].join('\n'),
      'alertmanager.yml': 'route:\n  receiver: devnull\n  group_by: [alertname]\nreceivers:\n  - name: devnull\n',
    };
    for (const [f, v] of Object.entries(files)) {
      writeFileSync(s(f), v);
      chmodSync(s(f), 0o444);
    }
    await must(['network', 'create', '--label', label, net], 'network');
    await must(['volume', 'create', '--label', label, `${run}-prom`], 'volume');
    await must(['volume', 'create', '--label', label, `${run}-am`], 'volume');

    const sec = (f: string, target = f) => ['-v', `${s(f)}:/run/secrets/${target}:ro`];
    const hardening = ['--security-opt', 'no-new-privileges:true'];
    // Started all at once; each test then waits for its own.
    const started = await Promise.all([
      start('pg', img('postgres'), {
        flags: [
          ...hardening,
          ...sec('pg-password'),
          '-e',
          'POSTGRES_USER=app',
          '-e',
          'POSTGRES_DB=appdb',
          '-e',
          'POSTGRES_PASSWORD_FILE=/run/secrets/pg-password',
          '-e',
          'POSTGRES_INITDB_ARGS=--auth-host=scram-sha-256',
        ],
        cmd: ['postgres', '-c', 'max_connections=50'],
      }),
      start('mysql', img('mysql'), {
        flags: [
          ...hardening,
          ...sec('db-password'),
          ...sec('db-root-password'),
          '-e',
          'MYSQL_USER=app',
          '-e',
          'MYSQL_DATABASE=appdb',
          '-e',
          'MYSQL_PASSWORD_FILE=/run/secrets/db-password',
          '-e',
          'MYSQL_ROOT_PASSWORD_FILE=/run/secrets/db-root-password',
        ],
        cmd: ['--max-connections=42'],
      }),
      start('mariadb', img('mariadb'), {
        flags: [
          ...hardening,
          ...sec('db-password'),
          ...sec('db-root-password'),
          '-e',
          'MARIADB_USER=app',
          '-e',
          'MARIADB_DATABASE=appdb',
          '-e',
          'MARIADB_PASSWORD_FILE=/run/secrets/db-password',
          '-e',
          'MARIADB_ROOT_PASSWORD_FILE=/run/secrets/db-root-password',
        ],
      }),
      start('cache', img('redis'), {
        flags: [...hardening, ...sec('cache-acl'), ...sec('cache-password')],
        cmd: [
          'redis-server',
          '--aclfile',
          '/run/secrets/cache-acl',
          '--maxmemory',
          '64mb',
          '--maxmemory-policy',
          'allkeys-lru',
          '--save',
          '',
          '--appendonly',
          'no',
        ],
      }),
      start('app', img('node'), {
        flags: [...hardening, '--init', '-e', 'PORT=3000', '--user', 'node'],
        cmd: [
          '-e',
          "require('http').createServer((q,s)=>{s.setHeader('X-Instance',require('os').hostname());s.end('hello from node '+process.version+' uid '+process.getuid()+'\\n')}).listen(+process.env.PORT)",
        ],
      }),
      start('alertmanager', img('alertmanager'), {
        flags: [
          ...hardening,
          '--user',
          '65534:65534',
          '-v',
          `${s('alertmanager.yml')}:/etc/alertmanager/alertmanager.yml:ro`,
          '-v',
          `${run}-am:/alertmanager`,
        ],
        cmd: ['--config.file=/etc/alertmanager/alertmanager.yml', '--storage.path=/alertmanager'],
      }),
      start('node-exporter', img('node-exporter'), {
        flags: [...hardening, '--user', '65534:65534', '-v', '/proc:/host/proc:ro', '-v', '/sys:/host/sys:ro', '-v', '/:/host/root:ro'],
        cmd: [
          '--path.procfs=/host/proc',
          '--path.sysfs=/host/sys',
          '--path.rootfs=/host/root',
          '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)',
        ],
      }),
    ]);
    for (const x of started) c[x.alias] = x;
    const more = await Promise.all([
      start('pg-exporter', img('postgres-exporter'), {
        flags: [
          ...hardening,
          ...sec('pg-password'),
          '-e',
          'DATA_SOURCE_URI=pg:5432/appdb?sslmode=disable',
          '-e',
          'DATA_SOURCE_USER=app',
          '-e',
          'DATA_SOURCE_PASS_FILE=/run/secrets/pg-password',
        ],
      }),
      start('db-exporter', img('mysqld-exporter'), {
        flags: [...hardening, ...sec('db-exporter-cnf')],
        cmd: ['--config.my-cnf=/run/secrets/db-exporter-cnf'],
      }),
      start('cache-exporter', img('redis-exporter'), {
        flags: [
          ...hardening,
          ...sec('cache-exporter-passwords'),
          '-e',
          'REDIS_ADDR=redis://cache:6379',
          '-e',
          'REDIS_PASSWORD_FILE=/run/secrets/cache-exporter-passwords',
        ],
      }),
      start('proxy', img('haproxy'), {
        flags: [
          ...hardening,
          '--cap-drop',
          'ALL',
          '--cap-add',
          'NET_BIND_SERVICE',
          '-p',
          '127.0.0.1::80',
          '-p',
          '127.0.0.1::8404',
          '-v',
          `${s('haproxy.cfg')}:/usr/local/etc/haproxy/haproxy.cfg:ro`,
          ...sec('edge-userlist'),
        ],
        cmd: ['haproxy', '-W', '-db', '-f', '/usr/local/etc/haproxy/haproxy.cfg', '-f', '/run/secrets/edge-userlist'],
      }),
      start('prometheus', img('prometheus'), {
        flags: [
          ...hardening,
          '--user',
          '65534:65534',
          '-p',
          '127.0.0.1::9090',
          '-v',
          `${s('prometheus.yml')}:/etc/prometheus/prometheus.yml:ro`,
          '-v',
          `${run}-prom:/prometheus`,
        ],
        cmd: [
          '--config.file=/etc/prometheus/prometheus.yml',
          '--storage.tsdb.path=/prometheus',
          '--storage.tsdb.retention.time=1d',
          '--web.enable-lifecycle',
          '--web.console.libraries=/usr/share/prometheus/console_libraries',
          '--web.console.templates=/usr/share/prometheus/consoles',
        ],
      }),
    ]);
    for (const x of more) c[x.alias] = x;
  });

  after(async () => {
    // Only what this run created, found by its label, removed by id.
    const ids = (await docker(['ps', '-aq', '--filter', `label=${label}`])).stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(['rm', '-f', '-v', ...ids]);
    const vols = (await docker(['volume', 'ls', '-q', '--filter', `label=${label}`])).stdout.split('\n').filter(Boolean);
    if (vols.length) await docker(['volume', 'rm', ...vols]);
    await docker(['network', 'rm', net]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('maps every substituted imageKey to a built wharf-test image', async () => {
    assert.deepEqual(Object.keys(images).sort(), [...substitutedKeys].sort());
    assert.equal(images.mysql, images.mariadb, 'mysql and mariadb share the MariaDB image');
    for (const ref of new Set(Object.values(images))) {
      const id = await must(['image', 'inspect', '-f', '{{.Id}}', ref], `inspect ${ref}`);
      assert.match(id, /^sha256:/);
    }
  });

  it('a second build run finds every tag and rebuilds nothing (warm cache)', async () => {
    const t = Date.now();
    const r = await execa('bash', [buildScript, '--json'], { reject: false, timeout: 120_000 });
    const ms = Date.now() - t;
    assert.equal(r.exitCode, 0, r.stderr.slice(-2000));
    assert.deepEqual(parseImageMap(r.stdout), images, 'same map as the first run');
    const lines = r.stderr.split('\n');
    const cached = lines.filter((l) => /^\[build-images\] cached /.test(l));
    // the summary table: one row per image the script builds, whatever their number
    const rows = lines.filter((l) => /^\[build-images\] [a-z0-9-]+ +wharf-test\//.test(l));
    assert.ok(rows.length >= substitutedKeys.length - 1, `a row per image:\n${r.stderr}`);
    assert.ok(
      rows.every((l) => / cached /.test(l)),
      `every image cached:\n${r.stderr}`,
    );
    assert.equal(cached.length, rows.length + 1, `the base and every image cached:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /^\[build-images\] build /m);
    console.error(`[smoke] warm build run: ${ms} ms (budget: bench/timings)`);
  });

  it('postgres: initialises from POSTGRES_* and the password file, serves scram-sha-256 on 5432', async () => {
    const pg = c.pg!;
    const ms = await waitExec(pg, ['pg_isready', '-h', '127.0.0.1', '-U', 'app', '-d', 'appdb']);
    console.error(`[smoke] postgres ready after ${ms} ms`);
    const sql =
      "select current_user || ' ' || current_database() || ' ' || current_setting('max_connections') || ' ' || current_setting('password_encryption')";
    const ok = await client(img('restic'), `PGPASSWORD="$(cat /s/pg-password)" psql -h pg -U app -d appdb -tAc "${sql}"`, [
      `${s('pg-password')}:/s/pg-password:ro`,
    ]);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'app appdb 50 scram-sha-256');
    const bad = await client(img('restic'), 'PGPASSWORD=not-the-password psql -h pg -U app -d appdb -tAc "select 1"');
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /password authentication failed/);
    assert.equal(await uidOf(pg), '999');
    await assertNoSecretsIn(pg);
  });

  for (const flavour of ['mysql', 'mariadb'] as const) {
    it(`${flavour}: initialises from ${flavour.toUpperCase()}_* and the password files; app and root log in over the network`, async () => {
      const db = c[flavour]!;
      const admin = flavour === 'mariadb' ? 'mariadb-admin' : 'mysqladmin';
      const ms = await waitExec(db, ['sh', '-c', `${admin} ping -h 127.0.0.1 --silent`]);
      console.error(`[smoke] ${flavour} ready after ${ms} ms`);
      await waitExec(db, ['healthcheck.sh', '--connect', '--innodb_initialized'], 10_000);
      const m = [`${s('db-password')}:/s/db-password:ro`, `${s('db-root-password')}:/s/db-root-password:ro`];
      const app = await client(
        img('restic'),
        `MYSQL_PWD="$(cat /s/db-password)" mariadb -h ${flavour} -u app appdb -N -e "select current_user(), @@max_connections; create table t (x int); insert into t values (7); select sum(x) from t"`,
        m,
      );
      assert.equal(app.exitCode, 0, app.stderr);
      const want = flavour === 'mysql' ? '42' : '151';
      assert.deepEqual(
        app.stdout
          .trim()
          .split('\n')
          .map((l) => l.trim()),
        [`app@%\t${want}`, '7'],
      );
      const root = await client(
        img('restic'),
        `MYSQL_PWD="$(cat /s/db-root-password)" mariadb -h ${flavour} -u root -N -e "select count(*) from mysql.user where user=''"`,
        m,
      );
      assert.equal(root.exitCode, 0, `root login with a password containing quotes and a backslash: ${root.stderr}`);
      assert.equal(root.stdout.trim(), '0', 'no anonymous accounts');
      const bad = await client(img('restic'), `MYSQL_PWD=wrong mariadb -h ${flavour} -u app appdb -e "select 1"`);
      assert.notEqual(bad.exitCode, 0);
      assert.match(bad.stderr, /Access denied/);
      assert.equal(await uidOf(db), '999');
      await assertNoSecretsIn(db);
    });
  }

  it('redis: the plan command with an ACL file; the plan healthcheck passes, no password is refused', async () => {
    const r = c.cache!;
    const ms = await waitExec(r, [
      'sh',
      '-c',
      'REDISCLI_AUTH="$(cat /run/secrets/cache-password)" redis-cli -h 127.0.0.1 ping | grep -q PONG',
    ]);
    console.error(`[smoke] redis ready after ${ms} ms`);
    const anon = await docker(['exec', r.name, 'redis-cli', '-h', '127.0.0.1', 'ping']);
    assert.match(anon.stdout, /NOAUTH/);
    const net = await client(
      img('restic'),
      'export REDISCLI_AUTH="$(cat /s/pw)"; redis-cli -h cache set k v >/dev/null && redis-cli -h cache get k && redis-cli -h cache config get maxmemory | tail -n1',
      [`${s('cache-password')}:/s/pw:ro`],
    );
    assert.equal(net.exitCode, 0, net.stderr);
    assert.deepEqual(net.stdout.trim().split('\n'), ['v', String(64 * 1024 * 1024)]);
    assert.equal(await uidOf(r), '999');
  });

  it('node: the host Node.js (>= 20) as user node, official entrypoint semantics, npm present', async () => {
    const v = await must(['run', '--rm', '--label', label, img('node'), '--version'], 'node --version');
    assert.match(v, /^v(\d+)\./);
    assert.ok(Number(/^v(\d+)/.exec(v)![1]) >= 20, `node ${v} is older than 20`);
    const npm = await must(['run', '--rm', '--label', label, img('node'), 'npm', '--version'], 'npm --version');
    assert.match(npm, /^\d+\.\d+\.\d+$/);
    const id = await must(['run', '--rm', '--label', label, img('node'), 'id', 'node'], 'id node');
    assert.match(id, /^uid=1000\(node\) gid=1000\(node\)/);
    const app = c.app!;
    await waitExec(app, ['node', '-e', "fetch('http://127.0.0.1:3000/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]);
  });

  it('haproxy: the plan command as user haproxy with only NET_BIND_SERVICE; routes :80, Prometheus exporter on :8404', async () => {
    const p = c.proxy!;
    await waitExec(p, ['bash', '-c', '</dev/tcp/127.0.0.1/8404']);
    const check = await docker([
      'exec',
      p.name,
      'haproxy',
      '-c',
      '-f',
      '/usr/local/etc/haproxy/haproxy.cfg',
      '-f',
      '/run/secrets/edge-userlist',
    ]);
    assert.equal(check.exitCode, 0, check.stderr);
    assert.equal(await uidOf(p), '99');
    const port = await hostPort(p, 80);
    let body = '';
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      if (res?.ok) {
        body = await res.text();
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(body, /^hello from node v\d+.* uid 1000$/m);
    const statsPort = await hostPort(p, 8404);
    const metrics = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text();
    assert.match(metrics, /^haproxy_process_uptime_seconds /m);
    assert.equal((await fetch(`http://127.0.0.1:${statsPort}/stats`)).status, 401, 'stats need the userlist credentials');
    const auth = Buffer.from(`admin:${pw.edge}`).toString('base64');
    assert.equal((await fetch(`http://127.0.0.1:${statsPort}/stats`, { headers: { authorization: `Basic ${auth}` } })).status, 200);
  });

  const exporters = [
    ['pg-exporter', 9187, 'pg_up 1'],
    ['db-exporter', 9104, 'mysql_up 1'],
    ['cache-exporter', 9121, 'redis_up 1'],
    ['node-exporter', 9100, 'node_cpu_seconds_total{'],
  ] as const;
  for (const [alias, port, want] of exporters) {
    it(`${alias}: the plan command and secrets; wget healthcheck and ${want.split(/[ {]/)[0]} from /metrics`, async () => {
      const e = c[alias]!;
      await waitExec(e, ['wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${port}/`]);
      // the database behind it may still be initialising: poll the metric
      await waitExec(e, ['sh', '-c', `wget -q -O - http://127.0.0.1:${port}/metrics | grep -qF '${want}'`], 90_000);
      assert.notEqual(await uidOf(e), '0', `${alias} runs as root`);
      await assertNoSecretsIn(e);
    });
  }

  it('alertmanager: /bin/alertmanager as nobody with the plan command; ready; amtool checks the config', async () => {
    const a = c.alertmanager!;
    await waitExec(a, ['wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9093/-/ready']);
    const chk = await docker(['exec', a.name, 'amtool', 'check-config', '/etc/alertmanager/alertmanager.yml']);
    assert.equal(chk.exitCode, 0, chk.stderr);
    assert.equal(await uidOf(a), '65534');
  });

  it('prometheus: /bin/prometheus as nobody with the plan command, writable /prometheus volume; every substitute target up', async () => {
    const p = c.prometheus!;
    const ms = await waitExec(p, ['wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9090/-/ready']);
    console.error(`[smoke] prometheus ready after ${ms} ms`);
    const chk = await docker(['exec', p.name, 'promtool', 'check', 'config', '/etc/prometheus/prometheus.yml']);
    assert.equal(chk.exitCode, 0, chk.stderr);
    assert.equal(await uidOf(p), '65534');
    const port = await hostPort(p, 9090);
    type Target = { labels: { job: string }; health: string; lastError: string };
    let targets: Target[] = [];
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const j = (await (await fetch(`http://127.0.0.1:${port}/api/v1/targets`)).json()) as { data: { activeTargets: Target[] } };
      targets = j.data.activeTargets;
      if (targets.length === 7 && targets.every((t) => t.health === 'up')) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const down = targets.filter((t) => t.health !== 'up').map((t) => `${t.labels.job}: ${t.health} ${t.lastError}`);
    assert.deepEqual(down, [], 'targets not up');
    assert.equal(targets.length, 7);
    const q = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=sum(up)`)).json()) as {
      data: { result: Array<{ value: [number, string] }> };
    };
    assert.equal(q.data.result[0]?.value[1], '7');
  });

  it('restic: restic >= 0.17 as the entrypoint; backs up a live pg_dump with --stdin-from-command and restores it', async () => {
    const v = await must(['run', '--rm', '--label', label, img('restic'), 'version'], 'restic version');
    const m = /restic (\d+)\.(\d+)\.(\d+)/.exec(v);
    assert.ok(m, v);
    assert.ok(Number(m[1]) > 0 || Number(m[2]) >= 17, `restic ${v} lacks 0.17 features`);
    await waitExec(c.pg!, ['pg_isready', '-h', '127.0.0.1', '-U', 'app', '-d', 'appdb']);
    const script = [
      'set -e',
      'export RESTIC_REPOSITORY=/repo RESTIC_PASSWORD_FILE=/s/restic-password PGPASSWORD="$(cat /s/pg-password)"',
      'psql -h pg -U app -d appdb -qc "create table if not exists backed_up (v text); insert into backed_up values (\'kept\')"',
      'restic init --quiet',
      'restic backup --quiet --stdin-filename appdb.sql --stdin-from-command -- pg_dump -h pg -U app appdb',
      'restic snapshots --json | grep -c appdb.sql',
      'restic dump latest /appdb.sql | grep -c "^kept$"',
      'command -v mariadb-dump mysqldump redis-cli gzip >/dev/null',
    ].join('\n');
    const r = await client(img('restic'), script, [
      `${s('restic-password')}:/s/restic-password:ro`,
      `${s('pg-password')}:/s/pg-password:ro`,
    ]);
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(r.stdout.trim().split('\n'), ['1', '1']);
  });

  it('stops quickly: each server honours its stop signal', async () => {
    for (const alias of ['pg', 'mysql', 'cache', 'proxy', 'prometheus'] as const) {
      const t = Date.now();
      await must(['stop', '-t', '10', c[alias]!.name], `stop ${alias}`);
      const ms = Date.now() - t;
      console.error(`[smoke] ${alias} stopped in ${ms} ms`);
      // Killed at the 10 s timeout would exit 137: the exit code proves the signal was honoured.
      const code = await must(['inspect', '-f', '{{.State.ExitCode}}', c[alias]!.name], 'exit code');
      assert.ok(['0', '130', '143'].includes(code), `${alias} exited ${code}`);
    }
  });
});
