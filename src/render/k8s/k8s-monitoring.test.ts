// Monitoring and backups on the k8s target, offline and without a process:
//   - the ConfigMaps hold exactly what the shared renderers make of the K3s view (rules,
//     alertmanager.yml, Grafana provisioning and dashboards, backup scripts);
//   - RBAC is exactly the discovery it needs; the CronJobs run the same jobs on the spec's cron.
// promtool and a real Prometheus on the kubelet's series: k8s-monitoring.tools.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { alertCatalogue, renderRuleFiles } from '../prometheus/index.js';
import { renderAlertmanager } from '../alertmanager/index.js';
import { renderGrafana } from '../grafana/index.js';
import { renderBackup } from '../backup/index.js';
import { normalizeCron } from '../../spec/cron.js';
import { k8sView } from './index.js';
import { type Doc, renderWithView as render } from '../../../test/support/k8s-tree.js';
import { loadVariant, variants } from '../../../test/support/templates.js';

for (const id of ['api', 'haproxy-mysql']) {
  test(`k8s monitoring of ${id}: the ConfigMaps are the shared renderers' files of the K3s view`, () => {
    const { view, docs, configMap } = render(id);
    const rules = Object.fromEntries(renderRuleFiles(view).map((f) => [f.path.slice('prometheus/rules/'.length), f.contents]));
    assert.deepEqual(configMap('prometheus-rules'), rules);
    assert.deepEqual(configMap('alertmanager-alertmanager-yml'), { 'alertmanager.yml': renderAlertmanager(view)[0]!.contents });
    const grafana = renderGrafana(view);
    assert.deepEqual(
      configMap('grafana-dashboards'),
      Object.fromEntries(
        grafana
          .filter((f) => f.path.startsWith('grafana/dashboards/'))
          .map((f) => [f.path.slice('grafana/dashboards/'.length), f.contents]),
      ),
    );
    assert.deepEqual(Object.keys(configMap('grafana-provisioning')).sort(), ['dashboards_wharf.yml', 'datasources_prometheus.yml']);
    assert.deepEqual(
      configMap('backup'),
      Object.fromEntries(renderBackup(view).map((f) => [f.path.slice('backup/'.length).replaceAll('/', '_'), f.contents])),
    );
    // the API server refuses an object over 1 MiB (etcd's limit)
    for (const d of docs.filter((x) => x.kind === 'ConfigMap')) {
      assert.ok(Buffer.byteLength(JSON.stringify(d)) < 1024 * 1024, `ConfigMap ${d.metadata.name} is over 1 MiB`);
    }
  });

  test(`k8s monitoring of ${id}: the view's catalogue is Compose's without the edge's alerts (the edge is K3s's Traefik)`, () => {
    const { plan, view } = render(id);
    const compose = alertCatalogue(plan).map((a) => a.alert);
    const k8s = alertCatalogue(view).map((a) => a.alert);
    const edge =
      plan.proxy.kind === 'traefik'
        ? ['CertificateExpiringSoon', 'TraefikBackendDown', 'TraefikHighErrorRatio']
        : ['HAProxyBackendDown', 'HAProxyHighErrorRatio'];
    assert.deepEqual([...new Set(compose)].filter((a) => !k8s.includes(a)).sort(), edge);
    assert.deepEqual(
      k8s.filter((a) => !compose.includes(a)),
      [],
    );
    // every scrape job has a target here; the kubelet keeps cAdvisor's job name, the backup metrics get theirs
    assert.deepEqual(
      view.monitoring.scrapeJobs.map((j) => j.job).sort(),
      [...plan.monitoring.scrapeJobs.map((j) => j.job).filter((j) => j !== 'proxy'), 'backup-metrics'].sort(),
    );
  });
}

test("k8s monitoring: Prometheus discovers pods in its namespaces only, by the plan's component and port", () => {
  const { plan, configMap } = render('api');
  const cfg = parse(configMap('prometheus-prometheus-yml')['prometheus.yml']!) as Doc;
  const jobs = Object.fromEntries((cfg.scrape_configs as Doc[]).map((j) => [j.job_name, j]));
  assert.deepEqual(jobs.api.kubernetes_sd_configs, [{ role: 'pod', namespaces: { names: [plan.name] } }]);
  assert.deepEqual(jobs.api.relabel_configs.slice(0, 2), [
    { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: 'api', action: 'keep' },
    { source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: '3000', action: 'keep' },
  ]);
  assert.deepEqual(
    jobs['db-exporter'].relabel_configs.at(-1),
    { target_label: 'component', replacement: 'db' },
    'an exporter stands for what it exports, as on Compose',
  );
  assert.deepEqual(jobs['node-exporter'].kubernetes_sd_configs, [{ role: 'pod', namespaces: { names: [`${plan.name}-host`] } }]);
  assert.deepEqual(jobs.prometheus.static_configs, [{ targets: ['localhost:9090'], labels: { component: 'prometheus' } }]);
  assert.deepEqual(jobs.cadvisor.kubernetes_sd_configs, [{ role: 'node' }]);
  assert.equal(jobs.cadvisor.metrics_path, '/metrics/cadvisor');
  assert.deepEqual(cfg.alerting, { alertmanagers: [{ static_configs: [{ targets: ['alertmanager:9093'] }] }] });
});

test('k8s monitoring: RBAC is the discovery Prometheus does, nothing more', () => {
  const { plan, docs } = render('api');
  const rbac = docs.filter((d) => /^(Cluster)?Role(Binding)?$/.test(d.kind));
  assert.deepEqual(
    rbac.filter((d) => d.kind === 'Role').map((d) => [d.metadata.namespace, d.rules]),
    [
      [plan.name, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]],
      [`${plan.name}-host`, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]],
    ],
  );
  assert.deepEqual(
    rbac.filter((d) => d.kind === 'ClusterRole').map((d) => d.rules),
    [
      [
        { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
      ],
    ],
  );
  for (const b of rbac.filter((d) => d.kind.endsWith('Binding')))
    assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'prometheus', namespace: plan.name }]);
  // only Prometheus holds an API token
  const pods = docs
    .filter((d) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(d.kind))
    .map((d) => [d.metadata.name, d.spec.template.spec]);
  assert.deepEqual(
    pods.filter(([, s]) => s.automountServiceAccountToken).map(([n, s]) => [n, s.serviceAccountName]),
    [['prometheus', 'prometheus']],
  );
  // a change of a mounted config rolls the pods that mount it
  const prom = docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'prometheus')!;
  assert.match(prom.spec.template.metadata.annotations['wharf.dev/config-hash'], /^[0-9a-f]{16}$/);
});

test("k8s backups: a backup and a verify CronJob per job, the same scripts, the spec's cron, never overlapping", () => {
  const { plan, docs } = render('api');
  const crons = docs.filter((d) => d.kind === 'CronJob');
  assert.deepEqual(
    crons.map((d) => d.metadata.name).sort(),
    plan.backups.flatMap((j) => [`backup-${j.name}`, `backup-${j.name}-verify`]).sort(),
  );
  for (const j of plan.backups) {
    for (const [name, script, schedule] of [
      [`backup-${j.name}`, 'backup', j.schedule],
      [`backup-${j.name}-verify`, 'verify', j.verifySchedule],
    ] as const) {
      const cj = crons.find((d) => d.metadata.name === name)!;
      assert.equal(cj.spec.schedule, normalizeCron(schedule));
      assert.equal(cj.spec.timeZone, 'Etc/UTC');
      assert.equal(cj.spec.concurrencyPolicy, 'Forbid');
      const pod = cj.spec.jobTemplate.spec.template.spec;
      assert.equal(pod.restartPolicy, 'Never');
      assert.deepEqual(pod.containers[0].command, [`/backup/bin/${script}.sh`, j.name]);
      // the metrics textfiles land in the PVC the backup-metrics exporter reads
      assert.deepEqual(
        pod.containers[0].volumeMounts.find((m: Doc) => m.mountPath === '/metrics'),
        { name: 'backup-metrics', mountPath: '/metrics', readOnly: false },
      );
      assert.deepEqual(pod.volumes.find((v: Doc) => v.name === 'backup-metrics').persistentVolumeClaim, {
        claimName: 'backup-metrics',
        readOnly: false,
      });
      // secrets are the SOPS Secrets, at the Compose paths
      const secrets = pod.volumes
        .find((v: Doc) => v.projected)
        .projected.sources.map((x: Doc) => x.secret.name)
        .sort();
      assert.deepEqual(
        secrets,
        plan.components
          .find((c) => c.role === 'backup')!
          .secrets.map((s) => s.secret)
          .sort(),
      );
    }
  }
  const exporter = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'backup-metrics')!;
  const c = exporter.spec.template.spec.containers[0];
  assert.deepEqual(c.args, ['--collector.disable-defaults', '--collector.textfile', '--collector.textfile.directory=/textfile']);
  assert.deepEqual(exporter.spec.template.spec.volumes.find((v: Doc) => v.name === 'backup-metrics').persistentVolumeClaim, {
    claimName: 'backup-metrics',
    readOnly: true,
  });
  // beside the backups' volume, on the data node
  assert.deepEqual(exporter.spec.template.spec.nodeSelector, crons[0]!.spec.jobTemplate.spec.template.spec.nodeSelector);
  assert.deepEqual(
    docs
      .filter((d) => d.kind === 'PersistentVolumeClaim')
      .map((d) => d.metadata.name)
      .sort(),
    ['backup-metrics', 'backup-repo'],
  );
});

test('spec: autoscale min <= max and replicas within them, path-named; health.ready is a URL path', async () => {
  const { parseSpecText } = await import('../../spec/load.js');
  const { templateText } = await import('../../../test/support/templates.js');
  const base = templateText('api');
  const issues = (from: string, to: string) => {
    assert.ok(base.includes(from));
    return parseSpecText(base.replace(from, to)).issues.map((i) => `${i.path}: ${i.message}`);
  };
  assert.deepEqual(issues('autoscale: { min: 3, max: 6, cpu: 70 }', 'autoscale: { min: 3, max: 6, cpu: 70 }'), []);
  assert.deepEqual(
    issues('autoscale: { min: 3, max: 6, cpu: 70 }', 'autoscale: { min: 7, max: 6 }').filter((i) =>
      i.startsWith('services.api.autoscale.min'),
    ).length,
    1,
  );
  assert.match(
    issues('replicas: 3', 'replicas: 9').join('\n'),
    /services\.api\.replicas: should lie between autoscale\.min and autoscale\.max/,
  );
  assert.match(issues('ready: /ready', 'ready: "/ready; rm -rf /"').join('\n'), /services\.api\.health\.ready: should be a URL path/);
  assert.match(
    issues('autoscale: { min: 3, max: 6, cpu: 70 }', 'autoscale: { min: 3, max: 6, cpu: 5 }').join('\n'),
    /services\.api\.autoscale\.cpu/,
  );
});

test('k8s view: the view of a view is itself (secretsNeeded and the checks take either)', () => {
  for (const v of variants) {
    const { plan } = loadVariant(v);
    assert.deepEqual(k8sView(k8sView(plan)), k8sView(plan), v.id);
  }
});
