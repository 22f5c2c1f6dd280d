// Prometheus renderer: the rendered config and rules pass the real promtool, and every
// alert of the catalogue fires on its firing series and stays silent on its quiet ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawnSync, execFile } from 'node:child_process';
import { parse } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';
import type { Plan } from '../../src/plan/model.js';
import {
  renderPrometheus,
  alertCatalogue,
  knownAlertNames,
  recordingRules,
  backupStaleSeconds,
  schedulePeriodSeconds,
  RULES_DIR,
  type AlertRule,
} from '../../src/render/prometheus/index.js';
import { toolPath } from '../support/tools.js';
import { ruleTests } from '../support/rule-tests.js';
import { templatePlan } from '../support/templates.js';

const templates = ['api', 'lab', 'haproxy-mysql'];

const promtool = toolPath('promtool');
const skip = promtool ? false : 'promtool not installed';

function writeTree(dir: string, files: Array<{ path: string; contents: string }>): void {
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.contents);
  }
}

function run(cmd: string, args: string[], cwd?: string) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: performance.now() - t0 };
}

/** Per alert: everything a promtool rule test of it depends on, as one string. */
function alertKeys(plan: Plan): Map<string, string> {
  const rules = renderPrometheus(plan)
    .filter((f) => f.path.startsWith('prometheus/rules/'))
    .flatMap((f) => (parse(f.contents) as { groups: Array<{ rules: Array<Record<string, string>> }> }).groups.flatMap((g) => g.rules));
  const recording = new Map(rules.filter((r) => r.record).map((r) => [r.record!, r]));
  const reads = (expr: string, seen: Set<string>): Set<string> => {
    for (const [name] of expr.matchAll(/[A-Za-z_][A-Za-z0-9_]*:[A-Za-z0-9_:]*/g)) {
      const r = recording.get(name);
      if (r && !seen.has(name)) reads(r.expr!, seen.add(name));
    }
    return seen;
  };
  return new Map(
    alertCatalogue(plan).map((a) => {
      const rule = rules.find((r) => r.alert === a.alert)!;
      const deps = [...reads(rule.expr!, new Set())].sort().map((n) => recording.get(n));
      return [a.alert, JSON.stringify([a, rule, deps])];
    }),
  );
}

function runAsync(cmd: string, args: string[], cwd?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

for (const t of templates) {
  test(`prometheus: ${t} renders a config and rules that promtool accepts`, { skip }, async () => {
    const plan = templatePlan(t);
    const files = renderPrometheus(plan);
    const dir = mkdtempSync(join(tmpdir(), 'wharf-prom-'));
    try {
      writeTree(dir, files);
      // The config points at the container path; point it at the temp copy of the same tree.
      const cfg = parse(files.find((f) => f.path === 'prometheus/prometheus.yml')!.contents) as { rule_files: string[] };
      assert.deepEqual(cfg.rule_files, [`${RULES_DIR}/*.yml`]);
      cfg.rule_files = [join(dir, 'prometheus/rules/*.yml')];
      writeFileSync(join(dir, 'prometheus/check.yml'), JSON.stringify(cfg));
      const c = run(promtool!, ['check', 'config', join(dir, 'prometheus/check.yml')]);
      assert.equal(c.code, 0, c.out);
      const ruleFiles = files.filter((f) => f.path.startsWith('prometheus/rules/')).map((f) => join(dir, f.path));
      assert.ok(ruleFiles.length >= 3);
      const r = run(promtool!, ['check', 'rules', ...ruleFiles]);
      assert.equal(r.code, 0, r.out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const which = t === templates[0] ? 'every alert' : `every alert the ${templates[0]} template's run does not cover`;
  test(`prometheus: ${t} ${which} fires on its example and stays quiet otherwise (promtool test rules)`, { skip }, async () => {
    const plan = templatePlan(t);
    const rules = alertCatalogue(plan);
    // An alert whose catalogue entry (fixture included), rendered rule and the recording rules it
    // reads are the first template's gives promtool the same test: run once, there.
    const covered = t === templates[0] ? new Set<string>() : new Set(alertKeys(templatePlan(templates[0]!)).values());
    const keys = alertKeys(plan);
    const suites = ruleTests(rules.filter((a) => !covered.has(keys.get(a.alert)!)));
    assert.ok(covered.size === 0 || suites.length > 0, `${t}: some alert is its own`);
    const dir = mkdtempSync(join(tmpdir(), 'wharf-promtest-'));
    try {
      writeTree(
        dir,
        renderPrometheus(plan).map((f) => ({ ...f, path: f.path.replace(/^prometheus\//, '') })),
      );
      suites.forEach((s, i) => writeFileSync(join(dir, `tests-${i}.yml`), JSON.stringify(s)));
      const results = await Promise.all(suites.map((_, i) => runAsync(promtool!, ['test', 'rules', `tests-${i}.yml`], dir)));
      for (const r of results) {
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /SUCCESS/, r.out);
      }
      // the harness can fail: a firing expectation on the quiet series is rejected
      const a = rules.find((x) => x.alert === 'TargetDown')!;
      const wrong = ruleTests([{ ...a, fixture: { ...a.fixture, firing: a.fixture.quiet } }])[0] as { tests: unknown[] };
      writeFileSync(join(dir, 'wrong.yml'), JSON.stringify({ ...wrong, tests: wrong.tests.slice(0, 1) }));
      const bad = await runAsync(promtool!, ['test', 'rules', 'wrong.yml'], dir);
      assert.notEqual(bad.code, 0, bad.out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('prometheus: scrape jobs reach every replica through DNS, self statically, alerts go to alertmanager', async () => {
  const plan = templatePlan('api');
  const cfg = parse(renderPrometheus(plan)[0]!.contents) as Record<string, any>;
  assert.deepEqual(cfg.global, {
    scrape_interval: '15s',
    evaluation_interval: '15s',
    scrape_timeout: '10s',
    external_labels: { stack: 'shop' },
  });
  assert.deepEqual(cfg.alerting, { alertmanagers: [{ static_configs: [{ targets: ['alertmanager:9093'] }] }] });
  const jobs = Object.fromEntries((cfg.scrape_configs as any[]).map((j) => [j.job_name, j]));
  assert.deepEqual(Object.keys(jobs).sort(), [
    'alertmanager',
    'api',
    'cache-exporter',
    'cadvisor',
    'db-exporter',
    'grafana',
    'node-exporter',
    'prometheus',
    'proxy',
  ]);
  assert.deepEqual(jobs.api.dns_sd_configs, [{ names: ['api'], type: 'A', port: 3000, refresh_interval: '15s' }]);
  assert.deepEqual(jobs.prometheus.static_configs, [{ targets: ['localhost:9090'], labels: { component: 'prometheus' } }]);
  // exporters stand for what they export, so a database's alerts and its exporter share a component
  assert.deepEqual(jobs['db-exporter'].relabel_configs, [{ target_label: 'component', replacement: 'db' }]);
  assert.deepEqual(jobs['cache-exporter'].relabel_configs, [{ target_label: 'component', replacement: 'cache' }]);
  // retention is a flag of the prometheus command (plan), not a config key
  const prom = plan.components.find((c) => c.name === 'prometheus')!;
  assert.ok(prom.command?.includes('--storage.tsdb.retention.time=15d'));
});

test('prometheus: the catalogue holds only the rules of components present', async () => {
  const names = async (t: string) =>
    alertCatalogue(templatePlan(t))
      .map((a) => a.alert)
      .sort();
  const api = await names('api');
  for (const a of [
    'APIDown',
    'APIHighLatency',
    'APIHighErrorRatio',
    'ContainerHighMemory',
    'HighCPUUsage',
    'TargetDown',
    'JobDown',
    'HostOutOfMemory',
    'HostDiskFull',
    'HostDiskWillFillIn4Hours',
    'ContainerRestarting',
    'HostOomKillDetected',
    'HostOutOfInodes',
    'HostClockSkew',
    'NodeTextfileScrapeError',
    'ContainerHighCpu',
    'PostgresDown',
    'PostgresTooManyConnections',
    'PostgresLongTransaction',
    'Watchdog',
    'PrometheusTsdbCompactionsFailing',
    'PrometheusTsdbReloadsFailing',
    'PrometheusMissedRuleEvaluations',
    'RedisDown',
    'RedisMemoryHigh',
    'RedisRejectedConnections',
    'TraefikBackendDown',
    'TraefikHighErrorRatio',
    'CertificateExpiringSoon',
    'PrometheusConfigReloadFailed',
    'PrometheusRuleEvaluationFailures',
    'PrometheusNotConnectedToAlertmanager',
    'AlertmanagerConfigReloadFailed',
    'AlertmanagerNotificationsFailing',
    'BackupFailed',
    'BackupStale',
    'BackupVerifyFailed',
  ]) {
    assert.ok(api.includes(a), `api template lacks ${a}`);
  }
  for (const a of ['MysqlDown', 'HAProxyBackendDown', 'ContainerOomKilled'])
    assert.ok(!api.includes(a), `api template should not have ${a}`);
  const hm = await names('haproxy-mysql');
  for (const a of ['MysqlDown', 'MysqlTooManyConnections', 'HAProxyBackendDown', 'HAProxyHighErrorRatio', 'BackupStale'])
    assert.ok(hm.includes(a), a);
  for (const a of ['PostgresDown', 'RedisDown', 'TraefikBackendDown', 'CertificateExpiringSoon']) assert.ok(!hm.includes(a), a);
  const lab = await names('lab');
  for (const a of ['APIDown', 'APIHighLatency', 'PostgresDown', 'RedisDown', 'BackupFailed']) assert.ok(!lab.includes(a), a);
  assert.ok(lab.includes('TraefikBackendDown') && lab.includes('ContainerHighMemory'));
});

test('prometheus: every rule has severity, component, summary, description and runbook; templates use only $labels', async () => {
  for (const t of templates) {
    for (const a of alertCatalogue(templatePlan(t))) {
      // only the Watchdog has no quiet case, and a severity no human receiver takes
      const always = a.alert === 'Watchdog';
      assert.ok(always ? a.severity === 'none' : ['critical', 'warning'].includes(a.severity), a.alert);
      assert.ok(a.component.length > 0 && a.summary.length > 0 && a.description.length > 0 && a.runbook.length > 0, a.alert);
      assert.equal(!!a.fixture.always, always, a.alert);
      assert.ok(a.fixture.firing.length > 0 && (always || a.fixture.quiet.length > 0), a.alert);
      for (const s of [a.summary, a.description, a.runbook, a.component]) {
        const other = s.replace(/\{\{ \$labels\.[a-zA-Z_]+ \}\}/g, '');
        assert.ok(!other.includes('{{'), `${a.alert}: only {{ $labels.x }} templates are allowed, got ${s}`);
      }
    }
  }
});

test("prometheus: the seeds' thresholds, and overrides of threshold, for and disabled from the spec", async () => {
  const plan = templatePlan('api');
  const by = Object.fromEntries(alertCatalogue(plan).map((a) => [a.alert, a]));
  assert.equal(by.APIHighLatency!.expr, 'job:app_request_latency_seconds:p95_rate5m > 1');
  assert.equal(by.APIHighLatency!.for, '2m');
  assert.equal(by.APIDown!.for, '1m');
  assert.equal(by.APIDown!.severity, 'critical');
  assert.match(by.APIDown!.expr, /count by \(job, component\) \(up\{job="api"\} == 1\) < 3/);
  assert.equal(by.ContainerHighMemory!.threshold, 0.8);
  assert.equal(by.ContainerHighMemory!.for, '5m');
  assert.equal(by.HighCPUUsage!.threshold, 0.8);
  assert.equal(by.HighCPUUsage!.for, '5m');

  const text = (await import('node:fs')).readFileSync(join(process.cwd(), 'templates', 'api.yaml'), 'utf8');
  const spec = `${text}\n  alerts:\n    overrides:\n      APIHighLatency: { threshold: 0.5, for: 5m }\n      HostDiskFull: { disabled: true }\n      BackupStale: { threshold: 3600 }\n`;
  const r = parseSpecText(spec);
  assert.ok(r.stack, JSON.stringify(r.issues));
  const cat = alertCatalogue(buildPlan(r.stack));
  const lat = cat.find((a) => a.alert === 'APIHighLatency')!;
  assert.equal(lat.expr, 'job:app_request_latency_seconds:p95_rate5m > 0.5');
  assert.equal(lat.for, '5m');
  assert.match(lat.description, /above 0\.5s for 5m/);
  assert.ok(!cat.some((a) => a.alert === 'HostDiskFull'));
  assert.match(cat.find((a) => a.alert === 'BackupStale')!.expr, /> 3600$/);
  // disabled alerts are still known names, so a lint can tell a typo from a disabled alert
  assert.ok(knownAlertNames(buildPlan(r.stack)).includes('HostDiskFull'));
  assert.ok(!knownAlertNames(buildPlan(r.stack)).includes('HostDiskFul'));
});

test('prometheus: recording rules per service and backup staleness from the schedule', async () => {
  const rec = recordingRules(templatePlan('api'));
  assert.deepEqual(
    rec.map((r) => r.record),
    [
      'job:app_requests:rate5m',
      'job:app_request_errors:ratio_rate5m',
      'job:app_request_latency_seconds:p50_rate5m',
      'job:app_request_latency_seconds:p95_rate5m',
      'job:app_request_latency_seconds:p99_rate5m',
      'job_endpoint:app_requests:rate5m',
      'job_endpoint:app_request_latency_seconds:p95_rate5m',
    ],
  );
  assert.ok(rec.every((r) => r.expr.includes('job=~"api"')));
  assert.deepEqual(recordingRules(templatePlan('lab')), []);
  assert.equal(schedulePeriodSeconds('*/5 * * * *'), 300);
  assert.equal(schedulePeriodSeconds('0 3 * * *'), 86400);
  assert.equal(schedulePeriodSeconds('@weekly'), 604800);
  assert.equal(schedulePeriodSeconds('0 */6 * * *'), 21600);
  assert.equal(backupStaleSeconds('*/5 * * * *'), 1500);
});

test('prometheus: rendering is pure and stable', async () => {
  const plan = templatePlan('api');
  assert.deepEqual(renderPrometheus(plan), renderPrometheus(plan));
  const disabled = { ...plan, monitoring: { ...plan.monitoring, enabled: false } };
  assert.deepEqual(renderPrometheus(disabled), []);
});

test(
  'prometheus: down and backup alerts fire where the old rules were silent (exporter unreachable, textfile gone, never ran)',
  { skip },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-promold-'));
    try {
      for (const t of ['api', 'haproxy-mysql']) {
        const rules = alertCatalogue(templatePlan(t));
        const down = rules.find((a) => a.alert === (t === 'api' ? 'PostgresDown' : 'MysqlDown'))!;
        const failed = rules.find((a) => a.alert === 'BackupFailed')!;
        const never = rules.find((a) => a.alert === 'BackupStale' && a.expr.startsWith('absent('))!;
        assert.match(down.expr, /^(pg_up|mysql_up) == 0 or up\{job=~"db-exporter"\} == 0$/);
        assert.ok(never, `${t}: a BackupStale rule for a backup that never ran`);
        assert.equal(never.expr, 'absent(wharf_backup_last_success_timestamp_seconds{backup="db",target="db"})');
        assert.equal(never.for, t === 'api' ? '2895m' : '25m', 'for = the stale threshold of the job');
        // each case against the rule alone: passes with today's expression, fails with the old one
        const cases: Array<[AlertRule, string]> = [
          [down, down.expr.split(' or ')[0]!],
          [failed, 'wharf_backup_last_status == 0'],
          [never, rules.find((a) => a.alert === 'BackupStale' && !a.expr.startsWith('absent('))!.expr],
        ];
        for (const [rule, oldExpr] of cases) {
          const one = (expr: string) => ({
            ...rule,
            expr,
            fixture: {
              ...rule.fixture,
              firing: rule.fixture.alsoFires?.[0]?.firing ?? rule.fixture.firing,
              labels: rule.fixture.alsoFires?.[0]?.labels ?? rule.fixture.labels,
              at: rule.fixture.alsoFires?.[0]?.at ?? rule.fixture.at,
              alsoFires: undefined,
            },
          });
          for (const [expr, ok] of [
            [rule.expr, true],
            [oldExpr, false],
          ] as const) {
            const r1 = one(expr);
            mkdirSync(join(dir, 'rules'), { recursive: true });
            writeFileSync(
              join(dir, 'rules', 'one.yml'),
              JSON.stringify({
                groups: [
                  {
                    name: 'one',
                    rules: [
                      {
                        alert: r1.alert,
                        expr,
                        for: r1.for,
                        labels: { severity: r1.severity, component: r1.component },
                        annotations: { summary: r1.summary, description: r1.description, runbook: r1.runbook },
                      },
                    ],
                  },
                ],
              }),
            );
            const suite = ruleTests([r1])[0] as { tests: unknown[] };
            writeFileSync(join(dir, 'one-test.yml'), JSON.stringify({ ...suite, tests: suite.tests.slice(0, 1) }));
            const res = await runAsync(promtool!, ['test', 'rules', 'one-test.yml'], dir);
            assert.equal(res.code === 0, ok, `${t} ${rule.alert} with ${expr}: ${res.out}`);
          }
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
