// Prometheus, Alertmanager and Grafana on K3s: the files Compose mounts (the same renderers:
// alert catalogue and rule files, alertmanager.yml, Grafana provisioning and dashboards) as
// ConfigMaps, and the RBAC Prometheus' service discovery needs, least privilege:
//   - a Role per namespace it discovers in: get/list/watch pods (role `pod` reads nothing else);
//   - a ClusterRole for the kubelets: list/watch nodes (role `node`) and get nodes/metrics
//     (the kubelet's /metrics/cadvisor); nodes are cluster-wide, so this one cannot be a Role.
// alertmanager.yml holds no secret (receivers read theirs from files: SOPS Secrets mounted
// like every other secret), so it is a ConfigMap too.
import { renderNotifyRelay } from '../notify-relay/index.js';
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { ConfigMap, ServiceAccount } from 'kubernetes-models/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { Component, ConfigBundle, Plan } from '../../plan/model.js';
import { bundlePath } from '../bundles.js';
import { byCodeUnit } from '../../plan/sort.js';
import { generatedHeader, toYaml, type RenderedFile } from '../files.js';
import { renderAlertmanager } from '../alertmanager/index.js';
import { renderGrafana } from '../grafana/index.js';
import { renderRuleFiles } from '../prometheus/index.js';
import { renderBackup } from '../backup/index.js';
import { labelsOf, type K8sObject } from './objects.js';
import { k8sPrometheusConfig } from './prometheus.js';
import type { ConfigMapRef } from './workloads.js';

export const PROMETHEUS_SA = 'prometheus';

/** Every config file the view's components mount, by the paths Compose renders them to. */
export function k8sConfigFiles(view: Plan, namespaceOf: (c: string) => string): RenderedFile[] {
  const has = (role: Component['role']) => view.components.some((c) => c.role === role);
  const files: RenderedFile[] = [];
  if (view.monitoring.enabled && has('prometheus')) {
    files.push(
      { path: 'prometheus/prometheus.yml', contents: toYaml(k8sPrometheusConfig(view, namespaceOf), generatedHeader) },
      ...renderRuleFiles(view),
    );
  }
  if (has('alertmanager')) files.push(...renderAlertmanager(view));
  if (has('notify-relay')) files.push(...renderNotifyRelay(view));
  if (has('grafana')) files.push(...renderGrafana(view));
  if (has('backup')) files.push(...renderBackup(view));
  return files.sort((a, b) => byCodeUnit(a.path, b.path));
}

/** ConfigMap names and keys: a key is the file's path below the mount, `/` written `_` (keys allow no slash). */
export function configMapsOf(
  c: Component,
  files: RenderedFile[],
): Array<{ ref: ConfigMapRef; bundle: ConfigBundle; data: Record<string, string> }> {
  return c.mounts
    .flatMap((m) => (m.type === 'config' ? [m.bundle] : []))
    .map((bundle) => {
      const source = bundlePath(bundle);
      const name = `${source.replace(/[^a-z0-9]+/g, '-')}`;
      const exact = files.find((f) => f.path === source);
      const under = exact ? [exact] : files.filter((f) => f.path.startsWith(`${source}/`));
      if (!under.length) throw new Error(`bug: ${c.name} mounts ${source}, which renders no file`);
      const rel = (f: RenderedFile) => (exact ? posix.basename(f.path) : f.path.slice(source.length + 1));
      const key = (f: RenderedFile) => rel(f).replaceAll('/', '_');
      const data = Object.fromEntries(under.map((f) => [key(f), f.contents]).sort(([a], [b]) => byCodeUnit(a!, b!)));
      const items = under
        .map((f) => ({ key: key(f), path: rel(f), ...(f.mode && f.mode & 0o111 ? { mode: 0o555 } : {}) }))
        .sort((a, b) => byCodeUnit(a.key, b.key));
      return { bundle, data, ref: { name, items, ...(exact ? { file: key(exact) } : {}) } };
    });
}

export function configMapObjects(plan: Plan, c: Component, namespace: string, maps: ReturnType<typeof configMapsOf>): K8sObject[] {
  return maps.map(
    (m) => new ConfigMap({ metadata: { name: m.ref.name, namespace, labels: labelsOf(plan, c.name, c.role) }, data: m.data }),
  );
}

/** A hash of what the pod mounts from ConfigMaps: in the pod template, so a change rolls the pods. */
export function configHash(maps: ReturnType<typeof configMapsOf>): string {
  const h = createHash('sha256');
  for (const m of maps)
    for (const [k, v] of Object.entries(m.data)) h.update(m.ref.name).update('\0').update(k).update('\0').update(v).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** The ServiceAccount and the (Cluster)Roles of Prometheus' service discovery. */
export function prometheusRbac(plan: Plan, c: Component, namespace: string, discovers: string[], kubelet: boolean): K8sObject[] {
  const labels = labelsOf(plan, c.name, c.role);
  const subject = { kind: 'ServiceAccount', name: PROMETHEUS_SA, namespace };
  const out: K8sObject[] = [
    new ServiceAccount({ metadata: { name: PROMETHEUS_SA, namespace, labels }, automountServiceAccountToken: false }),
  ];
  for (const ns of discovers) {
    const name = ns === namespace ? 'prometheus-discovery' : `prometheus-discovery-${namespace}`;
    out.push(
      new Role({
        metadata: { name, namespace: ns, labels },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
      }),
    );
    out.push(
      new RoleBinding({
        metadata: { name, namespace: ns, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [subject],
      }),
    );
  }
  if (kubelet) {
    const name = `${namespace}-prometheus-kubelet`;
    out.push(
      new ClusterRole({
        metadata: { name, labels },
        rules: [
          { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
          { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        ],
      }),
    );
    out.push(
      new ClusterRoleBinding({
        metadata: { name, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [subject],
      }),
    );
  }
  return out;
}
