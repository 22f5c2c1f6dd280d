// The k8s target's workloads read back from the rendered tree: StatefulSet or Deployment, the
// HPA, probes, limits, hardening, drain, rollout, placement, PDBs, Flux and the routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderAll } from '../index.js';
import { k8sComponents } from './index.js';
import { k8sSchemaErrors } from '../../../test/support/k8s-schema.js';
import { type Doc, docsOf, render } from '../../../test/support/k8s-tree.js';
import { loadVariant } from '../../../test/support/templates.js';
import { probeCommand } from '../probes.js';

test('k8s: an autoscaled service with a volume is a StatefulSet its HPA scales (no fixed count), each replica with its claim', () => {
  const { plan } = loadVariant({
    template: 'api',
    change: (d) => {
      delete d.services.api.build;
      d.services.api.image = 'registry.example.com/shop/api:1.4.2';
      d.services.api.volumes = [{ name: 'uploads', target: '/uploads' }];
    },
  });
  const docs = docsOf(renderAll(plan, 'k8s')).map((d) => d.doc);
  const api = docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'api')!;
  assert.equal(api.spec.replicas, undefined, 'the HPA owns the count');
  assert.deepEqual(
    api.spec.volumeClaimTemplates.map((t: Doc) => t.metadata.name),
    ['uploads'],
  );
  assert.deepEqual(
    api.spec.persistentVolumeClaimRetentionPolicy,
    { whenDeleted: 'Retain', whenScaled: 'Retain' },
    'a scaled-down replica keeps its data',
  );
  const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler' && d.metadata.name === 'api')!;
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'api' });
  for (const d of [api, hpa]) assert.deepEqual(k8sSchemaErrors(d), []);
});

test('k8s workloads: probes, limits, hardening, drain, rollout and placement from the plan', () => {
  const { plan, files } = render('api');
  const docs = docsOf(files).map((d) => d.doc);
  const workload = (n: string) => docs.find((d) => ['Deployment', 'StatefulSet'].includes(d.kind) && d.metadata.name === n)!;
  const api = workload('api');
  assert.equal(api.kind, 'Deployment');
  // autoscaled: the HPA owns the count (a fixed one would be reset on every Flux apply)
  assert.equal(api.spec.replicas, undefined);
  const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler')!;
  assert.deepEqual(
    [hpa.metadata.name, hpa.spec.scaleTargetRef, hpa.spec.minReplicas, hpa.spec.maxReplicas, hpa.spec.metrics],
    [
      'api',
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
      3,
      6,
      [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    ],
  );
  assert.deepEqual(
    docs.filter((d) => d.kind === 'HorizontalPodAutoscaler').map((d) => d.metadata.name),
    ['api'],
    'only what the spec autoscales',
  );
  assert.deepEqual(api.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 }, 'start-first');
  const c = api.spec.template.spec.containers[0];
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/health', port: 3000, scheme: 'HTTP' });
  // readiness asks /ready (200 only while PostgreSQL and Redis answer), liveness /health
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/ready', port: 3000, scheme: 'HTTP' });
  assert.equal(c.readinessProbe.failureThreshold, 1);
  assert.ok(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds >= 20, 'startup covers the start period');
  assert.deepEqual(c.lifecycle.preStop, { sleep: { seconds: 5 } });
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.runAsNonRoot, true);
  assert.equal(api.spec.template.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.deepEqual(c.resources.limits, { cpu: '500m', memory: '256Mi' });
  const db = workload('db');
  assert.equal(db.kind, 'StatefulSet');
  assert.equal(db.spec.serviceName, 'db-headless');
  assert.deepEqual(db.spec.template.spec.nodeSelector, { 'wharf.db': 'true' });
  assert.deepEqual(
    db.spec.volumeClaimTemplates.map((v: Doc) => [v.metadata.name, v.spec.storageClassName]),
    [['db-data', 'local-path']],
  );
  assert.deepEqual(
    db.spec.template.spec.containers[0].livenessProbe.exec.command,
    probeCommand(plan.components.find((x) => x.name === 'db')!.healthcheck!.probe),
  );
  // local-path volumes are root-owned: PostgreSQL keeps its data one directory below the mount
  assert.deepEqual(
    db.spec.template.spec.containers[0].env.find((e: Doc) => e.name === 'PGDATA'),
    { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
  );
  const headless = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'db-headless')!;
  assert.equal(headless.spec.clusterIP, 'None');
  for (const d of docs.filter((x) => x.kind === 'Service'))
    assert.ok(!d.spec.type || d.spec.type === 'ClusterIP', `${d.metadata.name} stays inside the cluster`);
  // a PDB for every long-running workload but the per-node agent; none for the backup CronJobs
  const names = k8sComponents(plan)
    .map((x) => x.name)
    .filter((n) => !['node-exporter', 'backup'].includes(n));
  assert.deepEqual(
    docs
      .filter((d) => d.kind === 'PodDisruptionBudget')
      .map((d) => d.metadata.name)
      .sort(),
    names,
  );
  const apps = docs.find((d) => d.kind === 'Kustomization' && d.metadata.name === 'apps')!;
  assert.deepEqual(apps.spec.dependsOn, [{ name: 'infra-configs' }]);
  assert.deepEqual(apps.spec.decryption, { provider: 'sops', secretRef: { name: 'sops-age' } });
  const route = docs.find((d) => d.kind === 'IngressRoute' && d.metadata.name === 'api')!;
  assert.deepEqual(
    route.spec.routes.map((r: Doc) => r.match),
    ['Host(`api.shop.localhost`)', 'Host(`api.shop.localhost`) && PathRegexp(`(?i)^/metrics(/|$)`)'],
  );
  assert.deepEqual(
    route.spec.routes[1].middlewares.map((m: Doc) => m.name),
    ['security-headers', 'deny-all'],
  );
});
