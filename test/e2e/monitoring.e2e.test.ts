// Monitoring end to end on the real Docker Engine: the `api` template (HAProxy edge, 3 API
// replicas, PostgreSQL, Redis, Prometheus, Alertmanager, node-exporter, exporters) with a test
// profile of short intervals (scrape/evaluation 1s, `for` 2s on the alerts the scenarios fire,
// group_wait 1s) and a webhook receiver run by the test as a container on the stack's internal
// monitoring network. Proves that every dashboard query returns live data (listing the panels
// whose source cannot run here), that a killed API replica and a stopped database reach the
// webhook as the right alerts (APIDown; PostgresDown, or JobDown{component="db"} when the
// exporter's scrape times out) and resolve after recovery, and that a database that is down
// inhibits that database's other alerts; and that the always-firing Watchdog reaches the
// heartbeat path of the hook every interval, never the human receiver, and nothing else reaches
// the heartbeat; a failed backup run (repository unreadable) delivers BackupFailed and the next
// good run resolves it; the deploy of `wharf up` and the failed backup each send exactly one event
// message to each receiver (the webhook, and ntfy's JSON publish through the notify relay, both
// at the hook); a stopped exporter reports its database unwatched; a corrupt metrics file delivers NodeTextfileScrapeError until removed.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { buildPlan } from '../../src/plan/build.js';
import { validateSpec } from '../../src/spec/load.js';
import { edgeRequest } from '../../src/engine/edge.js';
import { up } from '../../src/ops/up.js';
import { alertCatalogue } from '../../src/render/prometheus/index.js';
import { dashboardQueries } from '../../src/render/grafana/index.js';
import { dockerSkipReason } from './support/images.js';
import { createStack, type E2EStack } from './support/stack.js';
import {
  amAlerts,
  amPost,
  containerOf,
  findDelivery,
  monitoringDiagnostics,
  monitoringEdit,
  promQuery,
  promRules,
  startHook,
  testProfile,
  waitFor,
  durationSeconds,
  HEARTBEAT_PATH,
  NTFY_TOPIC,
  type Delivered,
  type Hook,
} from './support/monitoring.js';
import { backupEvents, deployWithEvent } from '../../src/ops/events.js';
import { randomBytes } from 'node:crypto';

const skip = dockerSkipReason() ?? false;

/** Panel sources that cannot run on this engine: their images cannot be obtained (no registry),
 *  or the plan does not deploy them yet. Any other source that is not scraped fails the test. */
const CANNOT_RUN: Record<string, string> = {
  cadvisor: 'cAdvisor image cannot be obtained here',
  grafana: 'Grafana image cannot be obtained here',
  traefik: 'Traefik image cannot be obtained here (the e2e edge is HAProxy)',
};

describe('monitoring on the real engine: live dashboard queries, alerts delivered to a webhook', { skip, timeout: 420_000 }, () => {
  let s: E2EStack;
  let hook: Hook;
  let prom: string;
  let am: string;
  let host: string;
  const diag = () => monitoringDiagnostics(s, hook);

  /** One message of the event at each receiver: the webhook's alert and the relay's ntfy publish. */
  async function exactlyOneEvent(t: TestContext, mark: number, kind: string): Promise<void> {
    const alertname = `Wharf${kind.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`;
    const of = (d: Delivered[]) => ({
      webhook: d.slice(mark).filter((x) => x.labels.wharf_event === kind),
      ntfy: d.slice(mark).filter((x) => x.status === 'message' && String(x.message?.title).includes(alertname)),
    });
    const t0 = Date.now();
    await waitFor(
      `${kind} at the webhook and through the relay`,
      async () => {
        const e = of(await hook.read());
        return e.webhook.length && e.ntfy.length ? true : undefined;
      },
      30_000,
      250,
      diag,
    );
    const took = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 3000)); // a second copy would have come by now (group_wait 0s)
    const e = of(await hook.read());
    assert.equal(e.webhook.length, 1, `one ${kind} alert at the webhook: ${JSON.stringify(e.webhook)}`);
    assert.equal(e.ntfy.length, 1, `one ${kind} message through the relay: ${JSON.stringify(e.ntfy)}`);
    assert.equal(e.ntfy[0]!.message!.topic, NTFY_TOPIC);
    t.diagnostic(`${kind}: one message per receiver, ${took} ms after it was posted`);
  }

  before(async () => {
    s = await createStack('api', `wharf-mon-e2e-${randomBytes(3).toString('hex')}`, monitoringEdit(testProfile));
    host = s.ctx.plan.routes.find((r) => r.service === 'api')!.host;
    const u = await up(s.ctx, { timeoutMs: 240_000 });
    assert.ok(
      u.services.every((x) => x.state === 'healthy'),
      JSON.stringify(u.services),
    );
    hook = await startHook(s);
    prom = (await containerOf(s, 'prometheus')).name;
    am = (await containerOf(s, 'alertmanager')).name;
  });
  after(async () => {
    await hook?.remove();
    await s?.destroy();
  });

  test('every scrape job has its targets up and every rule evaluates without error', async (t) => {
    const jobs = s.ctx.plan.monitoring.scrapeJobs.map((j) => j.job);
    await waitFor(
      'every scrape job up (api: 3 replicas)',
      async () => {
        const r = await promQuery(prom, 'count by (job) (up == 1)');
        const n = new Map(r.map((x) => [x.metric.job, Number(x.value[1])]));
        return jobs.every((j) => (n.get(j) ?? 0) >= 1) && n.get('api') === 3 ? true : undefined;
      },
      90_000,
      500,
      diag,
    );
    const groups = await waitFor(
      'every rule evaluated',
      async () => {
        const g = await promRules(prom);
        return g.length && g.every((x) => x.rules.every((r) => r.health !== 'unknown')) ? g : undefined;
      },
      30_000,
      500,
      diag,
    );
    const bad = groups.flatMap((g) => g.rules.filter((r) => r.health !== 'ok').map((r) => `${g.name}/${r.name}: ${r.lastError}`));
    assert.deepEqual(bad, []);
    t.diagnostic(
      `${jobs.length} scrape jobs up; ${groups.length} rule groups, ${groups.reduce((n, g) => n + g.rules.length, 0)} rules healthy`,
    );
  });

  test('every dashboard panel query returns data from the live Prometheus, except panels whose source cannot run here', async (t) => {
    // Traffic through the edge on several endpoints, so the request, latency and endpoint panels have series.
    const paths = ['/health', '/api/data', '/api/items?limit=5'];
    for (let i = 0; i < 60; i++) {
      const r = await edgeRequest({ host, path: paths[i % paths.length]!, port: s.ports.https, address: '127.0.0.1' });
      assert.ok(r.status < 500, `${paths[i % paths.length]} -> ${r.status}`);
    }
    // Backup panels read the backup service's metrics, which node-exporter publishes after a run.
    const { backupNow, stackBackupExecutor } = await import('../../src/ops/backup.js');
    const runs = await backupNow(await stackBackupExecutor(s.ctx));
    assert.ok(runs.length > 0 && runs.every((r) => r.ok), JSON.stringify(runs));
    const scraped = new Set([...s.ctx.plan.monitoring.scrapeJobs.map((j) => j.job), ...(s.ctx.plan.backups.length ? ['backup'] : [])]);
    const all = dashboardQueries(s.ctx.plan);
    // The same spec with cAdvisor and Grafana on, as the template has them: its extra panels
    // (the containers dashboard) are the ones this engine cannot feed.
    const full = structuredClone(parse(readFileSync(s.specPath, 'utf8')) as Record<string, any>);
    full.monitoring = { ...full.monitoring, cadvisor: true, grafana: {} };
    const fullStack = validateSpec(full).stack;
    assert.ok(fullStack, 'the spec with cAdvisor and Grafana on validates');
    const key = (q: { dashboard: string; panel: string; expr: string }) => `${q.dashboard}\0${q.panel}\0${q.expr}`;
    const have = new Set(all.map(key));
    const absent = dashboardQueries(buildPlan(fullStack)).filter((q) => !have.has(key(q)));
    const skipped = [...all.filter((q) => !scraped.has(q.source)), ...absent];
    const unexplained = [...new Set(skipped.map((q) => q.source))].filter((x) => !CANNOT_RUN[x]);
    assert.deepEqual(unexplained, [], 'panel sources neither scraped nor known to be impossible here');
    for (const q of skipped) {
      const line = `not run here: ${q.dashboard} / ${q.panel} (source ${q.source}: ${CANNOT_RUN[q.source]})`;
      t.diagnostic(line);
    }
    const live = all.filter((q) => scraped.has(q.source));
    assert.ok(live.length >= 30, `only ${live.length} live queries`);
    // A rate over fresh counters needs two samples: poll until every query has answered, then name
    // the ones that never did. A query counts once it has returned data: on a loaded machine a 1 s
    // scrape of node-exporter (0.1 CPU) sometimes times out, and its series go stale until the next
    // one, so asking for every query in the same instant measured the machine's load, not the panels.
    const answered = new Set<string>();
    const empty = async () => {
      const out: string[] = [];
      for (const q of live) {
        const name = `${q.dashboard} / ${q.panel} [${q.source}]: ${q.expr}`;
        if (answered.has(name)) continue;
        if ((await promQuery(prom, q.expr)).length > 0) answered.add(name);
        else out.push(name);
      }
      return out;
    };
    let last: string[] = [];
    try {
      await waitFor(
        'every live dashboard query to return data',
        async () => {
          last = await empty();
          return last.length === 0 ? true : undefined;
        },
        45_000,
        2000,
      );
    } catch {
      /* reported below */
    }
    assert.deepEqual(last, [], `dashboard queries without data:\n${last.join('\n')}\n${await diag()}`);
    assert.ok(
      absent.some((q) => q.source === 'cadvisor'),
      'the containers dashboard is listed as not run here',
    );
    t.diagnostic(`${live.length} panel queries returned data; ${skipped.length} not run here`);
  });

  test('the Watchdog reaches the heartbeat every interval, and only the heartbeat; nothing else reaches it', async (t) => {
    const interval = durationSeconds(testProfile.heartbeatInterval) * 1000;
    const beats = await waitFor(
      'three Watchdog heartbeats',
      async () => {
        const b = (await hook.read()).filter((d) => d.path === HEARTBEAT_PATH && d.labels.alertname === 'Watchdog');
        return b.length >= 3 ? b : undefined;
      },
      60_000,
      500,
      diag,
    );
    const gaps = beats.slice(1).map((b, i) => b.at - beats[i]!.at);
    t.diagnostic(`heartbeat gaps ${gaps.join(', ')} ms (interval ${interval} ms, group_interval a quarter of it)`);
    // repeat_interval is the floor; a tick of a quarter interval (plus delivery) the ceiling
    for (const g of gaps) assert.ok(g >= interval - 500 && g <= interval * 1.5 + 1000, `gap ${g} ms for interval ${interval} ms`);
    const all = await hook.read();
    assert.deepEqual(
      all.filter((d) => d.labels.alertname === 'Watchdog' && d.path !== HEARTBEAT_PATH).map((d) => d.path),
      [],
      'the Watchdog reached a human receiver',
    );
    assert.deepEqual(
      all.filter((d) => d.path === HEARTBEAT_PATH && d.labels.alertname !== 'Watchdog').map((d) => d.labels.alertname),
      [],
      'another alert reached the heartbeat',
    );
    assert.ok(beats.every((b) => b.status === 'firing'));
  });

  test('a killed API replica: APIDown reaches the webhook firing, and resolved after wharf up, whose deploy sends one event per receiver', async (t) => {
    const victim = await containerOf(s, 'api', 2);
    const mark = (await hook.read()).length;
    const t0 = Date.now();
    await execa('docker', ['kill', victim.name]);
    const fired = await waitFor(
      'APIDown firing at the webhook',
      async () => findDelivery(await hook.read(), mark, 'APIDown', 'firing', { job: 'api', component: 'api' }),
      60_000,
      250,
      diag,
    );
    assert.equal(fired.labels.severity, 'critical');
    const detect = fired.at - t0;
    t.diagnostic(
      `APIDown delivered ${detect} ms after docker kill ${victim.name} (for ${testProfile.alertFor}, scrape ${testProfile.scrapeInterval}, group_wait ${testProfile.groupWait})`,
    );
    const t1 = Date.now();
    // as `wharf up` runs it: the deploy that recreates the replica posts one deploy event
    const mark2 = (await hook.read()).length;
    const { result: u, event } = await deployWithEvent(s.ctx, () => up(s.ctx, { build: false, timeoutMs: 120_000 }));
    assert.equal(u.services.find((x) => x.service === 'api')?.healthy, 3, JSON.stringify(u.services));
    assert.deepEqual(event, { posted: true });
    await exactlyOneEvent(t, mark2, 'deploy-finished');
    const resolved = await waitFor(
      'APIDown resolved at the webhook',
      async () => findDelivery(await hook.read(), mark, 'APIDown', 'resolved', { job: 'api', component: 'api' }),
      60_000,
      250,
      diag,
    );
    t.diagnostic(`APIDown resolved ${resolved.at - t1} ms after wharf up began`);
  });

  test("a stopped database: its down alert reaches the webhook, inhibits the database's other alerts, and resolves after wharf up", async (t) => {
    const db = await containerOf(s, 'db');
    const downAlerts = new Set(
      alertCatalogue(s.ctx.plan)
        .filter((a) => a.down)
        .map((a) => a.alert),
    );
    assert.ok(downAlerts.has('PostgresDown') && downAlerts.has('JobDown'));
    const mark = (await hook.read()).length;
    const t0 = Date.now();
    await execa('docker', ['stop', '-t', '10', db.name]);
    // PostgresDown when the exporter answers pg_up 0; JobDown{component="db"} when the exporter's
    // scrape times out instead (it hangs on the dead container's name: Docker's DNS needs 20 s to
    // fail a lookup when no upstream resolver answers, longer than the 1 s scrape timeout).
    const fired = await waitFor(
      'PostgresDown or JobDown{component="db"} firing at the webhook',
      async () => {
        const d = await hook.read();
        return (
          findDelivery(d, mark, 'PostgresDown', 'firing', { component: 'db' }) ??
          findDelivery(d, mark, 'JobDown', 'firing', { component: 'db' })
        );
      },
      60_000,
      250,
      diag,
    );
    const dbDown = fired.labels.alertname!;
    assert.equal(fired.labels.severity, 'critical');
    t.diagnostic(`${dbDown}{component="db"} delivered ${fired.at - t0} ms after docker stop ${db.name} began`);

    // Inhibition, on the stack's own Alertmanager with its rendered rules: a warning of the same
    // component (as PostgresTooManyConnections or a failed backup of it would be) is suppressed by
    // the down alert; the same warning for another component is delivered.
    const endsAt = new Date(Date.now() + 10 * 60_000).toISOString();
    const target = { alertname: 'PostgresTooManyConnections', component: 'db', severity: 'warning', job: 'db-exporter', e2e: 'inhibition' };
    const control = { ...target, component: 'e2e-control' };
    await amPost(am, [
      { labels: target, endsAt },
      { labels: control, endsAt },
    ]);
    const suppressed = await waitFor(
      `the database warning suppressed by ${dbDown}`,
      async () =>
        (await amAlerts(am)).find((a) => a.labels.e2e === 'inhibition' && a.labels.component === 'db' && a.status.state === 'suppressed'),
      20_000,
      250,
      diag,
    );
    assert.ok(suppressed.status.inhibitedBy.length > 0, JSON.stringify(suppressed.status));
    await waitFor(
      'the control warning delivered',
      async () => findDelivery(await hook.read(), mark, 'PostgresTooManyConnections', 'firing', { component: 'e2e-control' }),
      20_000,
      250,
      diag,
    );
    // Every real alert of the database other than its down alerts is suppressed too.
    const dbAlerts = (await amAlerts(am)).filter((a) => a.labels.component === 'db' && !downAlerts.has(a.labels.alertname ?? ''));
    assert.deepEqual(
      dbAlerts.filter((a) => a.status.state !== 'suppressed').map((a) => `${a.labels.alertname} ${a.status.state}`),
      [],
    );
    // Both were posted together and grouped alike: the control has flushed, the inhibited one never does.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(
      findDelivery(await hook.read(), mark, 'PostgresTooManyConnections', 'firing', { component: 'db' }),
      undefined,
      'an inhibited alert reached the webhook',
    );
    t.diagnostic(
      `inhibited: ${dbAlerts.map((a) => a.labels.alertname).join(', ')} (inhibitedBy ${suppressed.status.inhibitedBy.length} alert)`,
    );
    await amPost(am, [
      { labels: target, endsAt: new Date().toISOString() },
      { labels: control, endsAt: new Date().toISOString() },
    ]);

    const t1 = Date.now();
    const u = await up(s.ctx, { build: false, timeoutMs: 120_000 });
    assert.equal(u.services.find((x) => x.service === 'db')?.state, 'healthy', JSON.stringify(u.services));
    const resolved = await waitFor(
      `${dbDown} resolved at the webhook`,
      async () => findDelivery(await hook.read(), mark, dbDown, 'resolved', { component: 'db' }),
      90_000,
      250,
      diag,
    );
    t.diagnostic(`${dbDown} resolved ${resolved.at - t1} ms after wharf up began`);
    assert.equal(findDelivery(await hook.read(), mark, 'PostgresTooManyConnections', 'firing', { component: 'db' }), undefined);
  });

  test('a stopped exporter: the database is reported unwatched (JobDown or PostgresDown), and resolves after wharf up', async (t) => {
    const exporter = await containerOf(s, 'db-exporter');
    const mark = (await hook.read()).length;
    const t0 = Date.now();
    await execa('docker', ['stop', '-t', '5', exporter.name]);
    // Docker DNS drops a stopped container: the job's `up` vanishes (JobDown's absent()), or reads 0 (PostgresDown's up clause)
    const fired = await waitFor(
      'JobDown{job="db-exporter"} or PostgresDown firing',
      async () => {
        const d = await hook.read();
        return (
          findDelivery(d, mark, 'JobDown', 'firing', { job: 'db-exporter', component: 'db' }) ??
          findDelivery(d, mark, 'PostgresDown', 'firing', { component: 'db' })
        );
      },
      60_000,
      250,
      diag,
    );
    t.diagnostic(`${fired.labels.alertname}{component="db"} delivered ${fired.at - t0} ms after docker stop ${exporter.name} began`);
    const t1 = Date.now();
    await up(s.ctx, { build: false, timeoutMs: 120_000 });
    const resolved = await waitFor(
      `${fired.labels.alertname} resolved`,
      async () => findDelivery(await hook.read(), mark, fired.labels.alertname!, 'resolved', { component: 'db' }),
      90_000,
      250,
      diag,
    );
    t.diagnostic(`${fired.labels.alertname} resolved ${resolved.at - t1} ms after wharf up began`);
  });

  test('a backup that fails: one backup-failed event per receiver, BackupFailed reaches the webhook and resolves with the next good backup', async (t) => {
    const { backupNow, stackBackupExecutor } = await import('../../src/ops/backup.js');
    const ex = await stackBackupExecutor(s.ctx);
    const job = s.ctx.plan.backups.find((b) => b.target === 'db')!;
    const backup = (await containerOf(s, 'backup')).name;
    // the repository made unreadable (its config moved aside) while the database is up: the run
    // fails without a down alert to inhibit it
    const repoConfigs = (on: boolean) =>
      execa('docker', [
        'exec',
        backup,
        'sh',
        '-c',
        on
          ? 'for c in /repo/*/config.off /repo/config.off; do [ -e "$c" ] && mv "$c" "${c%.off}"; done; true'
          : 'for c in /repo/*/config /repo/config; do [ -e "$c" ] && mv "$c" "$c.off"; done; true',
      ]);
    const mark = (await hook.read()).length;
    await repoConfigs(false);
    let t0: number;
    try {
      t0 = Date.now();
      const runs = await backupNow(ex, { target: 'db' });
      assert.ok(runs.length === 1 && runs.every((r) => !r.ok), JSON.stringify(runs));
      // as `wharf backup` reports it: one backup-failed event per failed job
      assert.deepEqual(await backupEvents(s.ctx, runs), [{ posted: true }]);
    } finally {
      await repoConfigs(true);
    }
    await exactlyOneEvent(t, mark, 'backup-failed');
    const fired = await waitFor(
      'BackupFailed firing at the webhook',
      async () => findDelivery(await hook.read(), mark, 'BackupFailed', 'firing', { backup: job.name, target: 'db' }),
      60_000,
      250,
      diag,
    );
    assert.equal(fired.labels.severity, 'critical');
    t.diagnostic(`BackupFailed delivered ${fired.at - t0} ms after the failing run began`);
    const t1 = Date.now();
    const ok = await backupNow(ex, { target: 'db' });
    assert.ok(
      ok.every((r) => r.ok),
      JSON.stringify(ok),
    );
    const resolved = await waitFor(
      'BackupFailed resolved at the webhook',
      async () => findDelivery(await hook.read(), mark, 'BackupFailed', 'resolved', { backup: job.name, target: 'db' }),
      60_000,
      250,
      diag,
    );
    t.diagnostic(`BackupFailed resolved ${resolved.at - t1} ms after the good run began`);
  });

  test('a corrupt backup metrics file: NodeTextfileScrapeError reaches the webhook, and resolves when it is gone', async (t) => {
    const backup = (await containerOf(s, 'backup')).name;
    const mark = (await hook.read()).length;
    const t0 = Date.now();
    await execa('docker', [
      'exec',
      backup,
      'sh',
      '-c',
      'printf "wharf_backup_last_status{backup=\\"x\\" 1\\n" > /metrics/wharf-e2e-corrupt.prom',
    ]);
    try {
      const fired = await waitFor(
        'NodeTextfileScrapeError firing at the webhook',
        async () => findDelivery(await hook.read(), mark, 'NodeTextfileScrapeError', 'firing'),
        60_000,
        250,
        diag,
      );
      t.diagnostic(`NodeTextfileScrapeError delivered ${fired.at - t0} ms after the corrupt file was written`);
    } finally {
      await execa('docker', ['exec', backup, 'rm', '-f', '/metrics/wharf-e2e-corrupt.prom']);
    }
    await waitFor(
      'NodeTextfileScrapeError resolved at the webhook',
      async () => findDelivery(await hook.read(), mark, 'NodeTextfileScrapeError', 'resolved'),
      60_000,
      250,
      diag,
    );
  });

  test('after the faults: no alert but the Watchdog ever reached the heartbeat, and the Watchdog never a human receiver', async () => {
    const all = await hook.read();
    assert.ok(
      all.some((d) => d.labels.alertname === 'APIDown'),
      'the faults above were delivered',
    );
    assert.deepEqual([...new Set(all.filter((d) => d.path === HEARTBEAT_PATH).map((d) => d.labels.alertname))], ['Watchdog']);
    assert.deepEqual(
      all.filter((d) => d.labels.alertname === 'Watchdog' && d.path !== HEARTBEAT_PATH),
      [],
    );
  });
});
