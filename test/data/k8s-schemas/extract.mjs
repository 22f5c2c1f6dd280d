// Keeps the definitions of the kinds wharf renders (and everything they reference) from the
// Kubernetes OpenAPI v2 document, descriptions dropped. See README.md for where it comes from.
// usage: node extract.mjs swagger.json > kubernetes-1.32.0.json
import { readFileSync } from 'node:fs';

const KINDS = [
  'io.k8s.api.core.v1.Namespace', 'io.k8s.api.core.v1.Service', 'io.k8s.api.core.v1.ConfigMap',
  'io.k8s.api.core.v1.ServiceAccount', 'io.k8s.api.core.v1.PersistentVolumeClaim',
  'io.k8s.api.apps.v1.Deployment', 'io.k8s.api.apps.v1.StatefulSet', 'io.k8s.api.apps.v1.DaemonSet',
  'io.k8s.api.batch.v1.CronJob', 'io.k8s.api.networking.v1.NetworkPolicy', 'io.k8s.api.policy.v1.PodDisruptionBudget',
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
  'io.k8s.api.rbac.v1.Role', 'io.k8s.api.rbac.v1.RoleBinding', 'io.k8s.api.rbac.v1.ClusterRole', 'io.k8s.api.rbac.v1.ClusterRoleBinding',
];
const swagger = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const keep = new Map();
const strip = (v) => {
  if (Array.isArray(v)) return v.map(strip);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'description').map(([k, x]) => [k, strip(x)]));
};
const visit = (name) => {
  if (keep.has(name)) return;
  const d = swagger.definitions[name];
  if (!d) throw new Error(`no definition ${name}`);
  keep.set(name, strip(d));
  JSON.stringify(d, (k, v) => { if (k === '$ref') visit(v.replace('#/definitions/', '')); return v; });
};
KINDS.forEach(visit);
const definitions = Object.fromEntries([...keep].sort(([a], [b]) => (a < b ? -1 : 1)));
process.stdout.write(`${JSON.stringify({ kinds: KINDS, definitions })}\n`);
