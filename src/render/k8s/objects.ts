// Typed Kubernetes objects -> stable YAML. Every object is validated against the schema its
// model package was generated from (kubernetes-models: the Kubernetes OpenAPI; the
// @kubernetes-models CRD packages: Flux, Traefik, cert-manager) before it is written.
import { byCodeUnit } from '../../plan/sort.js';
import { generatedHeader, toYaml } from '../files.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  validate(): void;
  toJSON(): unknown;
}

/** Drops undefined fields and puts apiVersion, kind, metadata first (cdk8s order). */
export function plain(o: K8sObject): Record<string, unknown> {
  o.validate();
  const json = JSON.parse(JSON.stringify(o.toJSON())) as Record<string, unknown>;
  const { apiVersion, kind, metadata, ...rest } = json;
  return { apiVersion, kind, ...(metadata ? { metadata } : {}), ...rest };
}

/** One YAML stream, documents in the order given (callers build them in a stable order). */
export function yamlStream(objects: K8sObject[]): string {
  return `${generatedHeader
    .split('\n')
    .map((l) => `# ${l}`)
    .join('\n')}\n${objects.map((o) => toYaml(plain(o))).join('---\n')}`;
}

/** Plain YAML for files that are not API objects (kustomization.yaml, .sops.yaml). */
export function yamlFile(doc: Record<string, unknown>, comment?: string): string {
  const header = comment ? `${generatedHeader}\n${comment}` : generatedHeader;
  return toYaml(doc, header);
}

export const labelsOf = (plan: { name: string }, name: string, role: string): Record<string, string> => ({
  'app.kubernetes.io/name': name,
  'app.kubernetes.io/part-of': plan.name,
  'app.kubernetes.io/component': role,
  'app.kubernetes.io/managed-by': 'wharf',
});

export const selectorOf = (name: string): Record<string, string> => ({ 'app.kubernetes.io/name': name });

export function sortedKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => byCodeUnit(a, b)));
}

/** CPUs as millicores: "0.5" -> 500m, exact and stable. */
export function cpuQuantity(cpus: number): string {
  return `${Math.max(1, Math.round(cpus * 1000))}m`;
}
