// Grafana renderer: provisioning files, dashboards built with the foundation SDK, stable
// output, and every panel query is valid PromQL (checked by the real promtool).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { renderGrafana, dashboardQueries, dashboardUid, stableJson } from '../../src/render/grafana/index.js';
import { renderPrometheus } from '../../src/render/prometheus/index.js';
import { toolPath } from '../support/tools.js';
import { templatePlan } from '../support/templates.js';

const templates = ['api', 'lab', 'haproxy-mysql'];

const promtool = toolPath('promtool');

test('grafana: provisioning points at the Prometheus datasource and the mounted dashboards dir', async () => {
  const plan = templatePlan('api');
  const files = renderGrafana(plan);
  const byPath = Object.fromEntries(files.map((f) => [f.path, f.contents]));
  const dsDoc = parse(byPath['grafana/provisioning/datasources/prometheus.yml']!);
  assert.deepEqual(dsDoc.datasources[0], {
    name: 'Prometheus',
    uid: 'prometheus',
    type: 'prometheus',
    access: 'proxy',
    url: 'http://prometheus:9090',
    isDefault: true,
    editable: false,
    jsonData: { timeInterval: '15s', httpMethod: 'POST' },
  });
  const prov = parse(byPath['grafana/provisioning/dashboards/wharf.yml']!);
  assert.equal(prov.providers[0].options.path, '/var/lib/grafana/dashboards');
  // the plan mounts exactly these directories into the Grafana container
  const grafana = plan.components.find((c) => c.name === 'grafana')!;
  assert.ok(
    grafana.mounts.some((m) => m.type === 'config' && m.bundle === 'grafana-provisioning' && m.target === '/etc/grafana/provisioning'),
  );
  assert.ok(
    grafana.mounts.some((m) => m.type === 'config' && m.bundle === 'grafana-dashboards' && m.target === prov.providers[0].options.path),
  );
  assert.deepEqual(
    files.filter((f) => f.path.startsWith('grafana/dashboards/')).map((f) => f.path),
    [
      'grafana/dashboards/overview.json',
      'grafana/dashboards/service-api.json',
      'grafana/dashboards/host.json',
      'grafana/dashboards/containers.json',
      'grafana/dashboards/postgres.json',
      'grafana/dashboards/redis.json',
      'grafana/dashboards/proxy.json',
      'grafana/dashboards/backups.json',
    ],
  );
});

test('grafana: dashboards only for components present', async () => {
  const names = async (t: string) =>
    renderGrafana(templatePlan(t))
      .map((f) => f.path)
      .filter((p) => p.endsWith('.json'))
      .map((p) => p.replace(/^.*\/|\.json$/g, ''));
  assert.deepEqual(await names('lab'), ['overview', 'host', 'containers', 'proxy']);
  assert.deepEqual(await names('haproxy-mysql'), ['overview', 'service-web', 'host', 'containers', 'mysql', 'proxy', 'backups']);
  const lab = templatePlan('lab');
  assert.deepEqual(renderGrafana({ ...lab, monitoring: { ...lab.monitoring, enabled: false } }), []);
});

for (const t of templates) {
  test(`grafana: ${t} dashboards are well-formed, stable and list every query`, async () => {
    const plan = templatePlan(t);
    const files = renderGrafana(plan);
    assert.deepEqual(files, renderGrafana(plan));
    const queries = dashboardQueries(plan);
    const uids = new Set<string>();
    let seen = 0;
    for (const f of files.filter((x) => x.path.endsWith('.json'))) {
      const d = JSON.parse(f.contents) as Record<string, any>;
      assert.equal(f.contents, `${stableJson(d)}\n`, 'keys sorted');
      assert.ok(d.uid.length <= 40 && !uids.has(d.uid), d.uid);
      uids.add(d.uid);
      assert.equal(d.uid, dashboardUid(plan, f.path.replace(/^.*\/|\.json$/g, '')));
      assert.deepEqual(d.templating, { list: [] });
      const ids = new Set<number>();
      for (const p of d.panels as any[]) {
        assert.ok(['stat', 'timeseries'].includes(p.type), p.type);
        assert.ok(!ids.has(p.id));
        ids.add(p.id);
        assert.deepEqual(p.datasource, { type: 'prometheus', uid: 'prometheus' });
        assert.ok(p.gridPos.x + p.gridPos.w <= 24);
        assert.ok(p.targets.length > 0);
        for (const q of p.targets) {
          assert.deepEqual(q.datasource, { type: 'prometheus', uid: 'prometheus' });
          assert.ok(
            queries.some((x) => x.uid === d.uid && x.panel === p.title && x.expr === q.expr),
            `${d.title}/${p.title} missing from dashboardQueries`,
          );
          seen++;
        }
      }
    }
    assert.equal(seen, queries.length);
    const jobs = new Set(plan.monitoring.scrapeJobs.map((j) => j.job));
    for (const q of queries) assert.ok(jobs.has(q.source) || q.source === 'backup', `${q.panel}: unknown source ${q.source}`);
  });

  test(
    `grafana: ${t} every panel query is valid PromQL (promtool check rules)`,
    { skip: promtool ? false : 'promtool not installed' },
    async () => {
      const plan = templatePlan(t);
      const queries = dashboardQueries(plan);
      // Recording rules the panels read must exist in the rendered rules.
      const rules = renderPrometheus(plan)
        .filter((f) => f.path.startsWith('prometheus/rules/'))
        .map((f) => f.contents)
        .join('\n');
      for (const q of queries) {
        for (const rec of q.expr.match(/\bjob(_endpoint)?:[a-z0-9_]+:[a-z0-9_]+/g) ?? [])
          assert.ok(rules.includes(`record: ${rec}`), `${q.panel}: ${rec} is not recorded`);
      }
      const dir = mkdtempSync(join(tmpdir(), 'wharf-graf-'));
      try {
        const file = join(dir, 'panels.yml');
        writeFileSync(
          file,
          JSON.stringify({ groups: [{ name: 'panels', rules: queries.map((q, i) => ({ record: `wharf:panel:${i}`, expr: q.expr })) }] }),
        );
        const r = spawnSync(promtool!, ['check', 'rules', file], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
        assert.match(r.stdout, new RegExp(`${queries.length} rules found`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

test("grafana: long stack names still give unique uids within Grafana's 40 characters", async () => {
  const plan = { ...templatePlan('api'), name: 'a-very-long-stack-name-that-goes-on-and-on' };
  const a = dashboardUid(plan, 'service-api');
  const b = dashboardUid(plan, 'service-apx');
  assert.ok(a.length <= 40 && b.length <= 40);
  assert.notEqual(a, b);
  assert.equal(a, dashboardUid(plan, 'service-api'));
});
