// The k8s tree as the k8s tests read it: a variant rendered, its documents read back from
// YAML, a tree written to or listed from disk. Shared by src/render/k8s/*.test.ts.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadRenderer, renderAll } from '../../src/render/index.js';
import { k8sView } from '../../src/render/k8s/index.js';
import { loadVariant, variants } from './templates.js';

await loadRenderer('k8s');
// k3s has messaging: (k8s only), so it is not among the variants every target renders
export const k8sVariants = [...variants, { id: 'k3s', template: 'k3s' }];

export function render(id: string) {
  const { plan } = loadVariant(k8sVariants.find((v) => v.id === id)!);
  return { plan, files: renderAll(plan, 'k8s') };
}

export type Doc = Record<string, any>;
export const docsOf = (files: { path: string; contents: string }[]): Array<{ file: string; doc: Doc }> =>
  files
    .filter((f) => f.path.endsWith('.yaml') && !f.path.endsWith('kustomization.yaml') && f.path !== '.sops.yaml')
    .flatMap((f) => parseAllDocuments(f.contents).map((d) => ({ file: f.path, doc: d.toJS() as Doc })));

export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

export function writeTree(dir: string, files: { path: string; contents: string }[]) {
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.contents);
  }
}

/** A variant's tree with its K3s view, every document (.sops.yaml too) and its ConfigMaps' data by name. */
export function renderWithView(id: string) {
  const { plan, files } = render(id);
  const docs = files
    .filter((f) => f.path.endsWith('.yaml') && !f.path.endsWith('kustomization.yaml'))
    .flatMap((f) => parseAllDocuments(f.contents).map((d) => d.toJS() as Doc));
  const configMap = (name: string) => docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === name)?.data as Record<string, string>;
  return { plan, view: k8sView(plan), files, docs, configMap };
}
