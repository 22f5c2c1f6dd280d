// `wharf check --target k8s`: rules over the Kubernetes documents the plan renders to, so
// they judge exactly what Flux would apply. `checkK8sDocuments` takes any documents (a
// tampered tree in the tests, a user's added files later); the policy rules feed it the
// rendered tree. Paths name the spec place to fix when there is one, else the file.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Plan } from '../plan/model.js';
import { renderK8s } from '../render/k8s/index.js';
import type { Severity } from '../spec/issues.js';
import type { PolicyRule } from './rule.js';

export interface K8sDoc {
  file: string;
  doc: Record<string, any>;
}
export interface K8sFinding {
  rule: string;
  path: string;
  message: string;
  hint: string;
  severity: Severity;
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** The pod template of a workload or a CronJob, and whether its containers must be probed (a Job's run to completion: no probes). */
function podTemplate(d: K8sDoc): { spec: Record<string, any> | undefined; probed: boolean } | undefined {
  if (WORKLOADS.has(d.doc.kind)) return { spec: d.doc.spec?.template?.spec, probed: true };
  if (d.doc.kind === 'CronJob') return { spec: d.doc.spec?.jobTemplate?.spec?.template?.spec, probed: false };
  return undefined;
}
const DATA_ROLES = new Set(['database', 'cache']);

export function k8sDocuments(plan: Plan): K8sDoc[] {
  return renderK8s(plan)
    .filter((f) => f.path.endsWith('.yaml') && !f.path.endsWith('kustomization.yaml'))
    .flatMap((f) =>
      parseAllDocuments(f.contents)
        .map((d) => ({ file: f.path, doc: d.toJS() as Record<string, any> }))
        .filter((d) => d.doc),
    );
}

/** Every document of a tree on disk (kustomization.yaml and .sops.yaml are not API objects). */
export function readK8sTree(dir: string): K8sDoc[] {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  return walk(dir)
    .filter((p) => /\.ya?ml$/.test(p) && !/(^|\/)(kustomization\.ya?ml|\.sops\.ya?ml)$/.test(p))
    .sort()
    .flatMap((p) =>
      parseAllDocuments(readFileSync(p, 'utf8'))
        .map((d) => ({ file: relative(dir, p), doc: d.toJS() as Record<string, any> }))
        .filter((d) => d.doc && typeof d.doc === 'object'),
    );
}

const where = (d: K8sDoc) =>
  `${d.file}: ${d.doc.kind} ${d.doc.metadata?.namespace ? `${d.doc.metadata.namespace}/` : ''}${d.doc.metadata?.name ?? ''}`;

export function imageUnpinned(image: string): boolean {
  if (image.includes('@sha256:')) return false;
  const last = image.split('/').pop() ?? image;
  return !last.includes(':') || last.endsWith(':latest');
}

/** K8S001..K8S005 over a set of documents. */
export function checkK8sDocuments(docs: K8sDoc[]): K8sFinding[] {
  const out: K8sFinding[] = [];
  for (const d of docs) {
    const pod = podTemplate(d);
    if (!pod) continue;
    for (const c of pod.spec?.containers ?? []) {
      const missing = [
        pod.probed && !c.livenessProbe && 'liveness probe',
        pod.probed && !c.readinessProbe && 'readiness probe',
        !(c.resources?.limits?.cpu && c.resources?.limits?.memory) && 'CPU and memory limits',
      ].filter(Boolean);
      if (missing.length)
        out.push({
          rule: 'K8S001',
          severity: 'warning',
          path: where(d),
          message: `container ${c.name} has no ${missing.join(', no ')}`,
          hint: 'give the service a health path or an image with a health command, and resources.cpus/memory',
        });
      if (imageUnpinned(String(c.image ?? '')))
        out.push({
          rule: 'K8S005',
          severity: 'error',
          path: where(d),
          message: `container ${c.name} runs ${c.image}, which is not pinned: every node may pull a different image`,
          hint: 'pin a version tag (image:1.2.3) or a digest (@sha256:...)',
        });
    }
  }
  for (const d of docs) {
    if (d.doc.kind === 'Secret' && !(d.doc.sops && d.doc.sops.mac)) {
      out.push({
        rule: 'K8S002',
        severity: 'error',
        path: where(d),
        message: 'a Secret without SOPS metadata: its values would sit in Git readable by anyone with the repository',
        hint: "encrypt it with sops (the tree's .sops.yaml names the age recipient), or let wharf render it",
      });
    }
  }
  for (const d of docs) {
    if (d.doc.kind !== 'Namespace') continue;
    const ns = d.doc.metadata?.name;
    const denies = docs.some((p) => p.doc.kind === 'NetworkPolicy' && p.doc.metadata?.namespace === ns && isDefaultDeny(p.doc));
    if (!denies)
      out.push({
        rule: 'K8S003',
        severity: 'error',
        path: where(d),
        message: `namespace ${ns} has no default-deny NetworkPolicy: every pod can reach every other`,
        hint: 'add a NetworkPolicy with podSelector: {}, policyTypes [Ingress, Egress] and no rules',
      });
  }
  const dataPods = new Set(
    docs
      .filter((d) => WORKLOADS.has(d.doc.kind) && DATA_ROLES.has(d.doc.spec?.template?.metadata?.labels?.['app.kubernetes.io/component']))
      .map((d) => `${d.doc.metadata?.namespace}/${d.doc.spec?.template?.metadata?.labels?.['app.kubernetes.io/name']}`),
  );
  for (const d of docs) {
    if (d.doc.kind !== 'Service' || !['LoadBalancer', 'NodePort'].includes(d.doc.spec?.type)) continue;
    const target = `${d.doc.metadata?.namespace}/${d.doc.spec?.selector?.['app.kubernetes.io/name']}`;
    if (dataPods.has(target))
      out.push({
        rule: 'K8S004',
        severity: 'error',
        path: where(d),
        message: `a ${d.doc.spec.type} Service exposes a database or cache outside the cluster`,
        hint: 'use type ClusterIP; reach it with kubectl port-forward for maintenance',
      });
  }
  return out;
}

function isDefaultDeny(p: Record<string, any>): boolean {
  const sel = p.spec?.podSelector ?? {};
  const types: string[] = p.spec?.policyTypes ?? [];
  return (
    !Object.keys(sel.matchLabels ?? {}).length &&
    !(sel.matchExpressions ?? []).length &&
    types.includes('Ingress') &&
    types.includes('Egress') &&
    !(p.spec?.ingress ?? []).length &&
    !(p.spec?.egress ?? []).length
  );
}

// Secrets are judged in the tree on disk too (sealed ones, and any a user added); the rest
// on what the spec renders to.
const rule = (id: string, title: string, severity: Severity): PolicyRule => ({
  id,
  title,
  severity,
  check: ({ plan, k8sTree }) =>
    checkK8sDocuments([...k8sDocuments(plan), ...(id === 'K8S002' ? (k8sTree ?? []) : [])])
      .filter((f) => f.rule === id)
      .map(({ path, message, hint, severity: s }) => ({ path, message, hint, severity: s })),
});

export const k8sRules: PolicyRule[] = [
  rule('K8S001', 'workload without probes or limits (CronJob: without limits)', 'warning'),
  rule('K8S002', 'Secret without SOPS metadata', 'error'),
  rule('K8S003', 'namespace without default-deny', 'error'),
  rule('K8S004', 'database Service of type LoadBalancer or NodePort', 'error'),
  rule('K8S005', 'unpinned image (latest or no tag)', 'error'),
];
