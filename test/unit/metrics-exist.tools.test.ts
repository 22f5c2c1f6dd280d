// Every metric and label that the rendered alert rules, recording rules and dashboard queries
// name is really exposed by the exporter meant to expose it. The names come from each PromQL
// expression through the Prometheus UI's grammar (test/support/promql-refs.ts); the exposed names
// from real processes: node-exporter (publishing the textfile the real `write_metrics` writes),
// postgres-exporter, mysqld-exporter and redis-exporter against real servers, HAProxy's built-in
// exporter, apps/api against real PostgreSQL and Redis, Alertmanager, and a Prometheus that
// scrapes them all and runs the rendered rules. Prometheus is the parser: its series API gives
// each scraped series with every label, target labels and recording-rule outputs included.
// cAdvisor and Traefik cannot run here: test/fixtures/metrics/ holds their lists, read from the
// upstream source at the pinned tags (see its README for the gap between Debian and the pinned versions).
// Two rules whose names all exist but which could not fire as meant are also run here for real:
// PrometheusNotConnectedToAlertmanager with Alertmanager killed, RedisMemoryHigh on a full LRU cache;
// and two whose fault is cheap to make: PostgresLongTransaction on a transaction left idle (its
// threshold lowered to seconds), NodeTextfileScrapeError on a corrupt metrics file. HostOomKillDetected
// needs a container OOM-killed: metrics-oom.engine.test.ts.
// The WAL archiver's three rules run on the textfile the real pitr.sh writes from its state (the fault
// that leaves that state, an unwritable repository, is made for real in pitr.tools.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { alertCatalogue, recordingRules, renderRuleFiles } from '../../src/render/prometheus/index.js';
import { dashboardQueries } from '../../src/render/grafana/index.js';
import { jobComponents } from '../../src/render/prometheus/catalogue.js';
import type { Plan } from '../../src/plan/model.js';
import { promqlRefs } from '../support/promql-refs.js';
import { DRIFT_TEXTFILE, driftTextfile } from '../../src/ops/doctor/drift.js';
import { loadVariant, templatePlan, templateNames, repoRoot } from '../support/templates.js';
import { renderPitrEnv } from '../../src/render/pitr/index.js';
import { pitrCipherSecret } from '../../src/plan/pitr.js';
import { have, requireTool, toolPath } from '../support/tools.js';
import { freePort, skipUnless, startMariadb, startPostgres, startRedis, type DbServer, type RedisServer } from '../support/servers.js';
import { Redis } from 'ioredis';
import pgPkg from 'pg';
import { buildServer, startApi, secretFile, type RunningApi } from '../../apps/api/test/support.js';

const bins = {
  prometheus: toolPath('prometheus'),
  alertmanager: toolPath('prometheus-alertmanager'),
  node: toolPath('prometheus-node-exporter'),
  postgres: toolPath('prometheus-postgres-exporter'),
  mysqld: toolPath('prometheus-mysqld-exporter'),
  redis: toolPath('prometheus-redis-exporter'),
  haproxy: toolPath('haproxy'),
};
const missing = Object.entries(bins)
  .filter(([, p]) => !p)
  .map(([k]) => k);
const skip = skipUnless('postgres', 'mariadb', 'redis') || (missing.length ? `missing ${missing.join(', ')}` : false);

/** Who exposes a metric, by the exporters' name prefixes. */
type Source =
  | 'prometheus'
  | 'alertmanager'
  | 'node-exporter'
  | 'postgres-exporter'
  | 'mysqld-exporter'
  | 'redis-exporter'
  | 'haproxy'
  | 'api'
  | 'backup'
  | 'drift'
  | 'pitr'
  | 'cadvisor'
  | 'traefik'
  | 'recording';
const PREFIXES: Array<[RegExp, Source]> = [
  [/:/, 'recording'],
  [/^(up|scrape_[a-z_]+|ALERTS|ALERTS_FOR_STATE)$/, 'prometheus'],
  [/^prometheus_/, 'prometheus'],
  [/^alertmanager_/, 'alertmanager'],
  [/^node_/, 'node-exporter'],
  [/^pg_/, 'postgres-exporter'],
  [/^mysql_/, 'mysqld-exporter'],
  [/^redis_/, 'redis-exporter'],
  [/^haproxy_/, 'haproxy'],
  [/^app_/, 'api'],
  [/^wharf_backup_/, 'backup'],
  [/^wharf_drift$/, 'drift'],
  [/^wharf_pitr_/, 'pitr'],
  [/^(container|machine)_/, 'cadvisor'],
  [/^traefik_/, 'traefik'],
];
const sourceOf = (metric: string): Source | undefined => PREFIXES.find(([re]) => re.test(metric))?.[1];

/** Labels Prometheus itself puts on series: target labels, and ALERTS' own (rule labels included). */
const TARGET_LABELS = ['job', 'instance', 'component'];
const ALERT_LABELS = ['alertname', 'alertstate', 'severity', 'component'];

/** Functions that look for a series' value moving. */
const CHANGE_FUNCTIONS = ['changes', 'resets', 'delta', 'deriv', 'rate', 'irate', 'increase'];
/** Metrics whose value does not move for the events a rule might watch, with the reason (fixtures' "constant"). */
const CONSTANT = new Map<string, string>();

interface Exposure {
  version: string;
  metrics: Map<string, Set<string>>;
}
const exposed = new Map<Source, Exposure>();

function fixture(file: string): { version: string; metrics: Record<string, string[]>; constant?: Record<string, string> } {
  return JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'metrics', file), 'utf8'));
}

function addExposure(src: Source, version: string, metric: string, labels: Iterable<string>) {
  const e = exposed.get(src) ?? { version, metrics: new Map() };
  if (!e.version.includes(version)) e.version += ` + ${version}`;
  const s = e.metrics.get(metric) ?? new Set<string>();
  for (const l of labels) s.add(l);
  e.metrics.set(metric, s);
  exposed.set(src, e);
}

function versionOf(bin: string, args = ['--version']): string {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 10_000 });
  const text = `${r.stdout}${r.stderr}`;
  return /version v?(\d+\.\d+\.\d+)/i.exec(text)?.[1] ?? /(\d+\.\d+\.\d+)/.exec(text)?.[1] ?? 'unknown';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const procs: ChildProcess[] = [];
const secrets: Array<{ remove(): void }> = [];
let dir = '';
let pg: DbServer | undefined;
let maria: DbServer | undefined;
let redis: RedisServer | undefined;
let api: RunningApi | undefined;
let alertmanagerProc: ChildProcess | undefined;
let prometheusProc: ChildProcess | undefined;
let promApi: (path: string) => Promise<any> = async () => {
  throw new Error('no Prometheus');
};
const promQuery = async (expr: string) =>
  (await promApi(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result as Array<{
    metric: Record<string, string>;
    value: [number, string];
  }>;

function run(bin: string, args: string[], env?: Record<string, string>): ChildProcess {
  const c = spawn(bin, args, { stdio: 'ignore', env: env ? { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } : process.env });
  procs.push(c);
  return c;
}

/** The textfile the real backup library writes for a job, from the state lines given
 *  (default: one good backup and one good verification). */
function writeBackupTextfile(
  textfileDir: string,
  job = 'db-daily',
  target = 'db',
  state = [
    'state_put "$WHARF_STATE_DIR/$JOB.backup" "last_run=$t" last_status=1 "last_success=$t" last_duration=3 last_size=4096 last_added=512 snapshots=2',
    'state_put "$WHARF_STATE_DIR/$JOB.verify" "last_run=$t" last_status=1 "last_success=$t" restore_test_status=1',
  ],
) {
  const stateDir = join(dir, 'backup-state');
  const lib = join(repoRoot, 'src', 'render', 'backup', 'sh', 'lib.sh');
  const r = spawnSync(
    'sh',
    [
      '-c',
      ['. "$1"', 'JOB="$2" TARGET="$3" KIND=postgres', 'mkdir -p "$WHARF_STATE_DIR"', 't="$(now)"', ...state, 'write_metrics'].join('\n'),
      'sh',
      lib,
      job,
      target,
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WHARF_METRICS_DIR: textfileDir, WHARF_STATE_DIR: stateDir } },
  );
  assert.equal(r.status, 0, r.stderr);
}

/** The api template with point-in-time recovery on its database: what the WAL archiver's rules render for. */
const pitrPlan = () => loadVariant({ template: 'api', change: (d) => (d.databases.db.backup.pointInTime = true) }).plan;

/** The textfile the real WAL archiver (`pitr.sh metrics`) writes from its state files, with
 *  segments waiting in its spool that were written `pendingAgo` seconds ago. */
function writePitrTextfile(textfileDir: string, state: Record<string, string>, pendingAgo?: number) {
  const plan = pitrPlan();
  const job = plan.backups.find((j) => j.pointInTime)!;
  const base = join(dir, 'pitr');
  const paths = { spool: join(base, 'sock/spool'), pgdata: join(base, 'data'), socket: join(base, 'sock'), repoDir: join(base, 'repo') };
  rmSync(base, { recursive: true, force: true });
  for (const d of ['secrets', 'sock/pitr-state', 'sock/spool']) mkdirSync(join(base, d), { recursive: true });
  writeFileSync(join(base, 'pitr.env'), renderPitrEnv(plan, job, paths));
  writeFileSync(join(base, 'secrets', pitrCipherSecret(job.target)), 'a-cipher-pass-for-tests-only');
  for (const [k, v] of Object.entries(state)) writeFileSync(join(paths.socket, 'pitr-state', k), `${v}\n`);
  if (pendingAgo !== undefined) {
    const seg = join(paths.spool, '000000010000000000000007');
    writeFileSync(seg, '');
    const t = Date.now() / 1000 - pendingAgo;
    utimesSync(seg, t, t);
  }
  const r = spawnSync(join(repoRoot, 'src/render/pitr/sh/pitr.sh'), ['metrics'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PITR_HOME: base,
      PITR_ENV: join(base, 'pitr.env'),
      PITR_METRICS_DIR: textfileDir,
      PITR_SECRETS_DIR: join(base, 'secrets'),
      PITR_RUN_AS: '',
    },
  });
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'wharf-metrics-'));
  buildServer();
  [pg, maria, redis] = await Promise.all([startPostgres(), startMariadb(), startRedis()]);
  const [pp, ap, np, pgp, myp, rdp, hp, fp] = await Promise.all(Array.from({ length: 8 }, () => freePort()));

  const dbPw = secretFile(pg.password);
  const rdPw = secretFile(redis.password);
  secrets.push(dbPw, rdPw);
  api = await startApi({
    DB_DRIVER: pg.driver,
    DB_HOST: pg.host,
    DB_PORT: String(pg.port),
    DB_NAME: pg.database,
    DB_USER: pg.user,
    DB_PASSWORD_FILE: dbPw.path,
    REDIS_HOST: redis.host,
    REDIS_PORT: String(redis.port),
    REDIS_PASSWORD_FILE: rdPw.path,
  });

  const textfiles = join(dir, 'textfile');
  mkdirSync(textfiles, { recursive: true });
  writeBackupTextfile(textfiles);
  writeFileSync(join(textfiles, DRIFT_TEXTFILE), driftTextfile('shop', ['api', 'postgres'], []));
  writePitrTextfile(textfiles, { push_status: '1' });
  run(bins.node!, [`--web.listen-address=127.0.0.1:${np}`, `--collector.textfile.directory=${textfiles}`]);
  run(bins.postgres!, [`--web.listen-address=127.0.0.1:${pgp}`], {
    DATA_SOURCE_NAME: `postgresql://${encodeURIComponent(pg.user)}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${pg.database}?sslmode=disable`,
  });
  const cnf = join(dir, 'my.cnf');
  writeFileSync(cnf, `[client]\nuser=${maria.user}\npassword="${maria.password}"\nhost=${maria.host}\nport=${maria.port}\n`, {
    mode: 0o600,
  });
  run(bins.mysqld!, [`--web.listen-address=127.0.0.1:${myp}`, `--config.my-cnf=${cnf}`]);
  run(bins.redis!, [`--web.listen-address=127.0.0.1:${rdp}`], {
    REDIS_ADDR: `redis://${redis.host}:${redis.port}`,
    REDIS_PASSWORD: redis.password,
  });
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    [
      'global',
      '  log stdout format raw local0 err',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      'frontend metrics',
      `  bind 127.0.0.1:${hp}`,
      '  http-request use-service prometheus-exporter if { path /metrics }',
      'frontend www',
      `  bind 127.0.0.1:${fp}`,
      '  default_backend web',
      'backend web',
      '  option httpchk GET /health',
      `  server web1 127.0.0.1:${api.port} check inter 300ms`,
      '',
    ].join('\n'),
  );
  run(bins.haproxy!, ['-db', '-f', join(dir, 'haproxy.cfg')]);
  writeFileSync(join(dir, 'alertmanager.yml'), 'route: { receiver: none }\nreceivers: [{ name: none }]\n');
  alertmanagerProc = run(bins.alertmanager!, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'am')}`,
    `--web.listen-address=127.0.0.1:${ap}`,
    '--cluster.listen-address=',
  ]);

  // Prometheus runs the api template's rules; its app jobs are the scrape job of apps/api.
  const plan = templatePlan('api');
  for (const f of renderRuleFiles(plan)) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.contents);
  }
  // Something always firing, so Prometheus has alerts to deliver (the behaviour test needs it).
  writeFileSync(
    join(dir, 'prometheus/rules/always.yml'),
    JSON.stringify({ groups: [{ name: 'always', rules: [{ alert: 'Always', expr: 'vector(1)' }] }] }),
  );
  const appJobs = jobComponents(plan)
    .filter((j) => j.app)
    .map((j) => j.job);
  const targets: Record<string, string> = {
    prometheus: `127.0.0.1:${pp}`,
    alertmanager: `127.0.0.1:${ap}`,
    'node-exporter': `127.0.0.1:${np}`,
    'postgres-exporter': `127.0.0.1:${pgp}`,
    'mysqld-exporter': `127.0.0.1:${myp}`,
    'redis-exporter': `127.0.0.1:${rdp}`,
    haproxy: `127.0.0.1:${hp}`,
    ...Object.fromEntries(appJobs.map((j) => [j, `127.0.0.1:${api!.port}`])),
  };
  writeFileSync(
    join(dir, 'prometheus.yml'),
    JSON.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${ap}`] }] }] },
      rule_files: [join(dir, 'prometheus/rules/*.yml')],
      scrape_configs: Object.entries(targets).map(([job, t]) => ({
        job_name: job,
        static_configs: [{ targets: [t], labels: { component: job } }],
      })),
    }),
  );
  prometheusProc = run(bins.prometheus!, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${pp}`,
    '--rules.alert.resend-delay=1s',
  ]);

  promApi = async (path: string) => {
    const body = (await (await fetch(`http://127.0.0.1:${pp}${path}`)).json()) as { status: string; data: any; error?: string };
    if (body.status !== 'success') throw new Error(body.error);
    return body.data;
  };
  // Traffic, so that the API's labelled counters and HAProxy's response counters have series.
  const traffic = async () => {
    for (const p of ['/health', '/api/items', '/api/items/1', '/api/data', '/nope'])
      await fetch(`${api!.url}${p}`)
        .then((r) => r.text())
        .catch(() => undefined);
    await fetch(`http://127.0.0.1:${fp}/health`)
      .then((r) => r.text())
      .catch(() => undefined);
  };
  await waitFor(
    'every target up',
    async () => {
      await traffic();
      const r = (await promApi('/api/v1/query?query=' + encodeURIComponent('count(up == 1)'))).result as Array<{ value: [number, string] }>;
      return Number(r[0]?.value[1]) === Object.keys(targets).length ? true : undefined;
    },
    60_000,
  );
  await waitFor(
    'recording rules produce series',
    async () => {
      await traffic();
      const r = (await promApi('/api/v1/query?query=' + encodeURIComponent('count({__name__=~".+:.+"}) by (__name__)')))
        .result as unknown[];
      return r.length >= recordingRules(plan).length ? true : undefined;
    },
    60_000,
  );

  const versions: Record<Source, string> = {
    prometheus: `prometheus ${versionOf(bins.prometheus!)}`,
    alertmanager: `alertmanager ${versionOf(bins.alertmanager!)}`,
    'node-exporter': `node_exporter ${versionOf(bins.node!)}`,
    'postgres-exporter': `postgres_exporter ${versionOf(bins.postgres!)}`,
    'mysqld-exporter': `mysqld_exporter ${versionOf(bins.mysqld!)}`,
    'redis-exporter': `redis_exporter ${versionOf(bins.redis!)}`,
    haproxy: `haproxy ${versionOf(bins.haproxy!, ['-v'])}`,
    api: 'apps/api (prom-client)',
    backup: 'backup write_metrics via node_exporter textfile',
    drift: 'wharf doctor driftTextfile via node_exporter textfile',
    pitr: 'pitr.sh write_metrics via node_exporter textfile',
    recording: 'wharf recording rules',
    cadvisor: '',
    traefik: '',
  };
  const series = (await promApi(
    `/api/v1/series?match[]=${encodeURIComponent('{__name__=~".+"}')}&start=${Date.now() / 1000 - 600}`,
  )) as Array<Record<string, string>>;
  for (const s of series) {
    const name = s.__name__!;
    const src = sourceOf(name);
    if (!src) continue;
    addExposure(
      src,
      versions[src],
      name,
      Object.keys(s).filter((l) => l !== '__name__'),
    );
  }
  for (const f of ['cadvisor-v0.49.1.json', 'traefik-v3.2.3.json']) {
    const fx = fixture(f);
    for (const [name, labels] of Object.entries(fx.metrics)) addExposure(sourceOf(name)!, fx.version, name, [...labels, ...TARGET_LABELS]);
    for (const [name, why] of Object.entries(fx.constant ?? {})) CONSTANT.set(name, `${why} (${fx.version})`);
  }
});

after(async () => {
  for (const c of procs)
    if (c.pid && c.exitCode === null) {
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  if (api) await api.stop('SIGKILL');
  await Promise.allSettled([pg?.stop(), maria?.stop(), redis?.stop()]);
  for (const s of secrets) s.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every expression a template renders: alert and recording rules, dashboard panel queries. */
function expressions(plan: Plan): Array<{ where: string; expr: string }> {
  return [
    ...recordingRules(plan).map((r) => ({ where: `recording ${r.record}`, expr: r.expr })),
    ...alertCatalogue(plan).map((a) => ({ where: `alert ${a.alert}`, expr: a.expr })),
    ...dashboardQueries(plan).map((q) => ({ where: `panel ${q.dashboard} / ${q.panel}`, expr: q.expr })),
  ];
}

function labelsOf(metric: string): Set<string> | undefined {
  if (metric === 'ALERTS' || metric === 'ALERTS_FOR_STATE') return new Set([...ALERT_LABELS, ...TARGET_LABELS]);
  const src = sourceOf(metric);
  return src ? exposed.get(src)?.metrics.get(metric) : undefined;
}

function mismatches(exprs: Array<{ where: string; expr: string }>, checked: Set<string>): string[] {
  const out = new Set<string>();
  for (const { where, expr } of exprs) {
    const refs = promqlRefs(expr);
    for (const s of refs.selectors) {
      checked.add(s.metric);
      const src = sourceOf(s.metric);
      const by = src ? (exposed.get(src)?.version ?? src) : 'no known exporter';
      const labels = labelsOf(s.metric);
      if (!labels) {
        out.add(`${where} -> ${s.metric} not exposed by ${by}`);
        continue;
      }
      for (const l of s.labels)
        if (!labels.has(l) && !TARGET_LABELS.includes(l)) out.add(`${where} -> label ${l} of ${s.metric} not exposed by ${by}`);
    }
    for (const c of refs.calls) {
      for (const m of c.scope) {
        const why = CONSTANT.get(m);
        if (why && CHANGE_FUNCTIONS.includes(c.fn)) out.add(`${where} -> ${c.fn}(${m}) never changes: ${why}`);
      }
    }
    for (const g of refs.groupings) {
      if (TARGET_LABELS.includes(g.label) || g.created.includes(g.label)) continue;
      const known = g.scope.map(labelsOf).filter((x): x is Set<string> => !!x);
      if (known.length === 0) continue; // the metrics themselves are reported above
      if (!known.some((ls) => ls.has(g.label))) out.add(`${where} -> label ${g.label} (${g.clause}) on none of ${g.scope.join(', ')}`);
    }
  }
  return [...out];
}

test('metrics exist: every metric and label the rules and dashboards name is exposed', { skip, timeout: 180_000 }, () => {
  const checked = new Set<string>();
  const found: string[] = [];
  for (const name of templateNames) for (const m of mismatches(expressions(templatePlan(name)), checked)) found.push(`${name}: ${m}`);
  for (const m of mismatches(expressions(pitrPlan()), checked)) found.push(`api with pointInTime: ${m}`);
  assert.ok(checked.has('wharf_pitr_archive_last_status'), 'the WAL archiver rules are among those checked');
  const sources = [...exposed].map(([s, e]) => `${s}: ${e.metrics.size} metrics (${e.version})`).sort();
  console.log(`metrics checked: ${checked.size}; exposed: ${sources.join('; ')}`);
  assert.ok(checked.size > 40, `only ${checked.size} metrics checked`);
  assert.deepEqual([...new Set(found)].sort(), []);
});

const ruleOf = (name: string) => alertCatalogue(templatePlan('api')).find((a) => a.alert === name)!;
const fires = (expr: string, ms = 20_000) =>
  waitFor(
    `${expr} yields a series`,
    async () => {
      const r = await promQuery(expr);
      return r.length ? r : undefined;
    },
    ms,
  );
const quiets = (expr: string, ms = 20_000) =>
  waitFor(`${expr} yields nothing`, async () => ((await promQuery(expr)).length ? undefined : true), ms);

test(
  'metrics exist: StackDrift on the textfile wharf doctor writes: a replica stopped by hand fires it, none quiets it',
  { skip, timeout: 60_000 },
  async () => {
    const expr = ruleOf('StackDrift').expr;
    const file = join(dir, 'textfile', DRIFT_TEXTFILE);
    const stopped = { service: 'api', what: '1 replica stopped by hand (shop-api-2)', fix: 'up brings it back to the spec' };
    try {
      await quiets(expr);
      writeFileSync(file, driftTextfile('shop', ['api', 'postgres'], [stopped]));
      const hit = await fires(expr);
      assert.deepEqual(
        hit.map((x) => [x.metric.stack, x.metric.service, x.value[1]]),
        [['shop', 'api', '1']],
      );
    } finally {
      writeFileSync(file, driftTextfile('shop', ['api', 'postgres'], []));
    }
    await quiets(expr);
  },
);

test(
  'metrics exist: Prometheus and Alertmanager config reload failures fire on a broken file and clear when it is fixed',
  { skip, timeout: 90_000 },
  async () => {
    for (const [alert, proc, file] of [
      ['PrometheusConfigReloadFailed', prometheusProc, 'prometheus.yml'],
      ['AlertmanagerConfigReloadFailed', alertmanagerProc, 'alertmanager.yml'],
    ] as const) {
      const rule = ruleOf(alert);
      const path = join(dir, file);
      const good = readFileSync(path, 'utf8');
      assert.deepEqual(await promQuery(rule.expr), [], `${alert} quiet on the running configuration`);
      writeFileSync(path, 'route: [this is: not a config\n');
      try {
        process.kill(proc!.pid!, 'SIGHUP');
        await fires(rule.expr);
      } finally {
        writeFileSync(path, good);
      }
      process.kill(proc!.pid!, 'SIGHUP');
      await quiets(rule.expr);
    }
  },
);

test(
  'metrics exist: PrometheusRuleEvaluationFailures stays quiet on every wharf rule and fires on a rule that fails',
  { skip, timeout: 60_000 },
  async () => {
    const rule = ruleOf('PrometheusRuleEvaluationFailures');
    // wharf's own rules evaluate without error on real series
    assert.deepEqual(await promQuery(rule.expr), []);
    const bad = join(dir, 'prometheus/rules/zz-bad.yml');
    // one-to-one matching on no labels over many `up` series: an evaluation error every round
    writeFileSync(bad, JSON.stringify({ groups: [{ name: 'bad', rules: [{ record: 'wharf_test:bad', expr: 'up * on () up' }] }] }));
    try {
      process.kill(prometheusProc!.pid!, 'SIGHUP');
      const hit = await fires(rule.expr);
      assert.deepEqual(
        hit.map((x) => x.metric.rule_group),
        [`${bad};bad`],
      );
    } finally {
      rmSync(bad, { force: true });
      process.kill(prometheusProc!.pid!, 'SIGHUP');
    }
  },
);

test('metrics exist: PrometheusNotConnectedToAlertmanager fires when Alertmanager is gone', { skip, timeout: 60_000 }, async () => {
  const rule = alertCatalogue(templatePlan('api')).find((a) => a.alert === 'PrometheusNotConnectedToAlertmanager')!;
  // quiet while Alertmanager runs (a config reload counts 0 discovered for a moment: hence `for`)
  await quiets(rule.expr);
  process.kill(alertmanagerProc!.pid!, 'SIGKILL');
  await waitFor('failed notifications', async () =>
    (await promQuery('increase(prometheus_notifications_errors_total[1m]) > 0')).length ? true : undefined,
  );
  // With a static Alertmanager target the discovered count stays 1 whether it answers or not.
  const discovered = await promQuery('prometheus_notifications_alertmanagers_discovered{job="prometheus"}');
  assert.equal(discovered[0]?.value[1], '1');
  await waitFor(`${rule.expr} yields a series`, async () => ((await promQuery(rule.expr)).length ? true : undefined), 20_000);
});

test(
  'metrics exist: RedisMemoryHigh stays quiet on a full LRU cache that hits, fires when it evicts what is asked for',
  { skip, timeout: 90_000 },
  async () => {
    const rule = alertCatalogue(templatePlan('api')).find((a) => a.alert === 'RedisMemoryHigh')!;
    const rc = new Redis({ host: redis!.host, port: redis!.port, password: redis!.password, maxRetriesPerRequest: 1 });
    try {
      // What the plan runs: --maxmemory N --maxmemory-policy allkeys-lru; then twice as much data as fits.
      await rc.config('SET', 'maxmemory', '8mb');
      await rc.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const value = 'x'.repeat(2048);
      for (let b = 0; b < 8; b++) {
        const p = rc.pipeline();
        for (let i = 0; i < 1000; i++) p.set(`k${b * 1000 + i}`, value);
        await p.exec();
      }
      const recent = async () => {
        const p = rc.pipeline();
        for (let i = 7800; i < 8000; i++) p.get(`k${i}`);
        await p.exec();
      };
      // A healthy full cache: memory at its limit, evictions, and the keys asked for are there.
      await waitFor('redis memory at maxmemory', async () => {
        await recent();
        return (await promQuery('redis_memory_used_bytes / (redis_memory_max_bytes > 0) > 0.9')).length ? true : undefined;
      });
      for (let i = 0; i < 8; i++) {
        await recent();
        await sleep(500);
      }
      assert.deepEqual(await promQuery(rule.expr), [], `${rule.expr} on a full cache whose reads hit`);
      // Thrashing: the keys asked for were evicted.
      await waitFor(
        `${rule.expr} yields a series`,
        async () => {
          const p = rc.pipeline();
          for (let i = 0; i < 2000; i++) p.get(`k${i}`);
          await p.exec();
          return (await promQuery(rule.expr)).length ? true : undefined;
        },
        30_000,
      );
    } finally {
      rc.disconnect();
    }
  },
);

/** A rule's expression with its threshold (the trailing number) replaced. */
const withThreshold = (expr: string, t: number) => {
  assert.match(expr, / > \d+$/);
  return expr.replace(/ > \d+$/, ` > ${t}`);
};

test('metrics exist: PostgresLongTransaction fires on a transaction left idle, not on short ones', { skip, timeout: 60_000 }, async () => {
  const rule = alertCatalogue(templatePlan('api')).find((a) => a.alert === 'PostgresLongTransaction')!;
  const expr = withThreshold(rule.expr, 3);
  assert.deepEqual(await promQuery(expr), [], 'quiet with no transaction open');
  const c = new pgPkg.Client({ host: pg!.host, port: pg!.port, user: pg!.user, password: pg!.password, database: pg!.database });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT 1');
    const hit = await waitFor(
      `${expr} yields a series`,
      async () => {
        const r = await promQuery(expr);
        return r.length ? r : undefined;
      },
      30_000,
    );
    assert.deepEqual(
      hit.map((x) => [x.metric.datname, x.metric.state]),
      [[pg!.database, 'idle in transaction']],
    );
    await c.query('COMMIT');
    await waitFor('quiet after COMMIT', async () => ((await promQuery(expr)).length ? undefined : true), 30_000);
  } finally {
    await c.end();
  }
});

test(
  'metrics exist: NodeTextfileScrapeError fires on a corrupt metrics file and clears when it is rewritten',
  { skip, timeout: 60_000 },
  async () => {
    const rule = alertCatalogue(templatePlan('api')).find((a) => a.alert === 'NodeTextfileScrapeError')!;
    assert.deepEqual(await promQuery(rule.expr), [], 'quiet with the backup textfile as write_metrics writes it');
    const bad = join(dir, 'textfile', 'wharf-backup-broken.prom');
    writeFileSync(bad, 'wharf_backup_last_status{backup="x" 1\n');
    try {
      await waitFor(`${rule.expr} yields a series`, async () => ((await promQuery(rule.expr)).length ? true : undefined), 20_000);
    } finally {
      rmSync(bad, { force: true });
    }
    await waitFor('quiet once the file is gone', async () => ((await promQuery(rule.expr)).length ? undefined : true), 20_000);
  },
);

test(
  'metrics exist: a small ext4 filling up: HostDiskWillFillIn4Hours, then HostDiskFull and HostOutOfInodes',
  {
    skip: skip || requireTool(process.getuid?.() === 0 && have('mkfs.ext4', ['-V']), 'root and mkfs.ext4 (a loop mount)'),
    timeout: 120_000,
  },
  async () => {
    const at = (expr: string, mnt: string) => async () => {
      const r = await promQuery(expr);
      return r.some((x) => x.metric.mountpoint === mnt) ? true : undefined;
    };
    const fsDir = mkdtempSync(join(tmpdir(), 'wharf-fs-'));
    const mnt = join(fsDir, 'mnt');
    mkdirSync(mnt);
    // 16 MiB, 256 inodes, no root reserve: what node-exporter reports is the whole disk
    const img = join(fsDir, 'disk.img');
    const mk = spawnSync('mkfs.ext4', ['-q', '-F', '-m', '0', '-N', '256', img, '16M'], { encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    const mount = spawnSync('mount', ['-o', 'loop', img, mnt], { encoding: 'utf8' });
    assert.equal(mount.status, 0, mount.stderr);
    try {
      const rules = Object.fromEntries(['HostDiskFull', 'HostOutOfInodes', 'HostDiskWillFillIn4Hours'].map((n) => [n, ruleOf(n).expr]));
      await waitFor('node-exporter sees the new filesystem', async () =>
        (await promQuery(`node_filesystem_size_bytes{mountpoint="${mnt}"}`)).length ? true : undefined,
      );
      for (const [n, e] of Object.entries(rules)) assert.equal(await at(e, mnt)(), undefined, `${n} quiet on an empty disk`);
      // a steady write: at this rate the disk is full in seconds, well inside 4 hours
      for (let i = 0; i < 8; i++) {
        const dd = spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, `grow-${i}`)}`, 'bs=1M', 'count=1', 'status=none']);
        assert.equal(dd.status, 0);
        await sleep(1000);
      }
      await waitFor('HostDiskWillFillIn4Hours', at(rules.HostDiskWillFillIn4Hours!, mnt), 20_000);
      assert.equal(await at(rules.HostDiskFull!, mnt)(), undefined, 'not full yet');
      spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'fill')}`, 'bs=1M', 'status=none']); // ends at ENOSPC
      await waitFor('HostDiskFull', at(rules.HostDiskFull!, mnt), 20_000);
      assert.equal(await at(rules.HostOutOfInodes!, mnt)(), undefined, 'inodes are still free');
      for (let i = 0; i < 256; i++) {
        try {
          writeFileSync(join(mnt, `f${i}`), '');
        } catch {
          break;
        }
      }
      await waitFor('HostOutOfInodes', at(rules.HostOutOfInodes!, mnt), 20_000);
    } finally {
      spawnSync('umount', [mnt]);
      rmSync(fsDir, { recursive: true, force: true });
    }
  },
);

test('metrics exist: RedisRejectedConnections fires once Redis refuses clients over maxclients', { skip, timeout: 60_000 }, async () => {
  const rule = ruleOf('RedisRejectedConnections');
  await quiets(rule.expr);
  const admin = new Redis({ host: redis!.host, port: redis!.port, password: redis!.password, maxRetriesPerRequest: 1 });
  const extra: Redis[] = [];
  try {
    const [, was] = (await admin.config('GET', 'maxclients')) as [string, string];
    const clients = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1]);
    await admin.config('SET', 'maxclients', String(clients));
    try {
      for (let i = 0; i < 3; i++) {
        const c = new Redis({
          host: redis!.host,
          port: redis!.port,
          password: redis!.password,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
          lazyConnect: true,
        });
        extra.push(c);
        await c
          .connect()
          .then(() => c.ping())
          .catch(() => undefined);
      }
      assert.match(await admin.info('stats'), /rejected_connections:[1-9]/);
    } finally {
      await admin.config('SET', 'maxclients', was);
    }
    await fires(rule.expr);
  } finally {
    for (const c of extra) c.disconnect();
    admin.disconnect();
  }
});

test(
  'metrics exist: the backup rules on textfiles the real write_metrics writes: never ran, good, failed and long stale, metrics gone',
  { skip, timeout: 60_000 },
  async () => {
    // the api template's backup job (its name differs from the one the exposure check writes)
    const job = templatePlan('api').backups[0]!;
    const stale = alertCatalogue(templatePlan('api')).filter((a) => a.alert === 'BackupStale');
    const absent = stale.find((a) => a.expr.startsWith('absent('))!.expr;
    const tooOld = stale.find((a) => a.expr.startsWith('time()'))!.expr;
    const failed = ruleOf('BackupFailed').expr;
    const verify = ruleOf('BackupVerifyFailed').expr;
    const file = join(dir, 'textfile', `wharf_backup_${job.name}.prom`);
    const quietAll = async () => {
      for (const e of [absent, tooOld, failed, verify]) await quiets(e);
    };
    try {
      await fires(absent); // never ran: no series at all
      writeBackupTextfile(join(dir, 'textfile'), job.name, job.target);
      await quietAll();
      // a failed run, and a last success older than twice the schedule period
      writeBackupTextfile(join(dir, 'textfile'), job.name, job.target, [
        'old=$((t - 3 * 86400))',
        'state_put "$WHARF_STATE_DIR/$JOB.backup" "last_run=$t" last_status=0 "last_success=$old"',
        'state_put "$WHARF_STATE_DIR/$JOB.verify" "last_run=$t" last_status=0',
      ]);
      const hits = await Promise.all([fires(failed), fires(tooOld), fires(verify)]);
      assert.ok(
        hits.every((h) => h.some((x) => x.metric.backup === job.name && x.metric.target === job.target)),
        JSON.stringify(hits),
      );
      rmSync(file);
      await fires(absent); // the metrics vanished
    } finally {
      rmSync(file, { force: true });
    }
  },
);

test('metrics exist: the checker reports a metric, a matcher label and a grouping label that are not exposed', { skip }, () => {
  const found = mismatches(
    [
      { where: 'alert X', expr: 'sum by (nolabel) (node_load1{nolabel2="x"}) + node_nonexistent_total' },
      { where: 'panel Y', expr: 'max by (name) (changes(container_start_time_seconds[15m]))' },
    ],
    new Set(),
  );
  const node = exposed.get('node-exporter')!.version;
  assert.deepEqual(found.sort(), [
    `alert X -> label nolabel (by) on none of node_load1`,
    `alert X -> label nolabel2 of node_load1 not exposed by ${node}`,
    `alert X -> node_nonexistent_total not exposed by ${node}`,
    `panel Y -> changes(container_start_time_seconds) never changes: ${CONSTANT.get('container_start_time_seconds')}`,
  ]);
});

test(
  'metrics exist: the point-in-time rules on textfiles the real pitr.sh writes: archiving failing, falling behind, the archiver silent',
  { skip, timeout: 90_000 },
  async () => {
    const rules = alertCatalogue(pitrPlan());
    const expr = (name: string) => rules.find((a) => a.alert === name)!.expr;
    const failing = expr('PitrArchiveFailing');
    const behind = expr('PitrArchiveBehind');
    // the archiver writes every 5 s; silent for 6 s here, where the rule waits 120 s
    const silent = withThreshold(expr('PitrArchiverDown'), 6);
    const textfiles = join(dir, 'textfile');
    try {
      writePitrTextfile(textfiles, { push_status: '1' });
      for (const e of [failing, behind, silent]) await quiets(e);
      writePitrTextfile(textfiles, { push_status: '0' }); // what a push to an unwritable repository leaves (pitr.tools.test.ts)
      const [hit] = await Promise.all([fires(failing), quiets(behind)]);
      assert.deepEqual(
        hit.map((x) => x.metric.database),
        ['db'],
      );
      writePitrTextfile(textfiles, { push_status: '1' }, 3600); // a segment waiting for an hour
      await Promise.all([fires(behind), quiets(failing)]);
      writePitrTextfile(textfiles, { push_status: '1' });
      await quiets(behind);
      await fires(silent); // nothing rewrites the file: the archiver stopped
      writePitrTextfile(textfiles, { push_status: '1' });
      await quiets(silent);
    } finally {
      writePitrTextfile(textfiles, { push_status: '1' });
    }
  },
);
