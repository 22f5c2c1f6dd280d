// `wharf plan --target k8s`: wharf hands Flux a tree in Git rather than talking to a cluster,
// so the plan is the newly rendered tree against the tree last written (.wharf/k8s): per
// object (kind/namespace/name) created, changed (the field paths that differ) or deleted.
// What Flux will apply on the next push. A Secret is only ever "changed", never its values.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Plan } from '../plan/model.js';
import type { RenderedFile } from '../render/files.js';
import { byCodeUnit } from '../plan/sort.js';
import { stableJson } from './applied.js';

export interface K8sChange {
  /** kind/namespace/name (namespace empty for cluster-scoped objects) */
  object: string;
  action: 'create' | 'change' | 'delete';
  /** the field paths that differ (`spec.replicas`, `spec.template.spec.containers[0].image`); a Secret: only that it changed */
  fields: string[];
  /** the file it is in (the new one, or the old one when deleted) */
  file: string;
}

export interface K8sPlan {
  target: 'k8s';
  project: string;
  objects: K8sChange[];
  unchanged: number;
}

export const SECRET_CHANGED = 'secret: changed (values never shown)';

type Obj = Record<string, unknown>;

/** Every Kubernetes object of the YAML files, by kind/namespace/name. */
export function k8sObjects(files: Array<Pick<RenderedFile, 'path' | 'contents'>>): Map<string, { file: string; obj: Obj }> {
  const out = new Map<string, { file: string; obj: Obj }>();
  for (const f of files.filter((x) => /\.ya?ml$/.test(x.path))) {
    for (const doc of parseAllDocuments(f.contents)) {
      const obj = doc.toJS() as Obj | null;
      const meta = obj?.metadata as { name?: string; namespace?: string } | undefined;
      if (!obj || typeof obj.kind !== 'string' || !meta?.name) continue;
      out.set(`${obj.kind}/${meta.namespace ?? ''}/${meta.name}`, { file: f.path, obj });
    }
  }
  return out;
}

const named = (xs: unknown[]) => xs.every((x) => !!x && typeof x === 'object' && typeof (x as { name?: unknown }).name === 'string');

/** Leaves by path; items of a list of named things (containers, env, ports) by name, other items by index. */
function leaves(v: unknown, path: string, out: Map<string, string>): Map<string, string> {
  if (Array.isArray(v) && v.length && named(v)) for (const x of v as Array<{ name: string }>) leaves(x, `${path}[${x.name}]`, out);
  else if (Array.isArray(v)) v.forEach((x, i) => leaves(x, `${path}[${i}]`, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  else out.set(path, stableJson(v));
  return out;
}

function fieldsThatDiffer(a: Obj, b: Obj): string[] {
  const x = leaves(a, '', new Map());
  const y = leaves(b, '', new Map());
  return [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k)).sort(byCodeUnit);
}

export function diffK8s(before: Array<Pick<RenderedFile, 'path' | 'contents'>>, after: Array<Pick<RenderedFile, 'path' | 'contents'>>) {
  const was = k8sObjects(before);
  const now = k8sObjects(after);
  const objects: K8sChange[] = [];
  let unchanged = 0;
  for (const key of [...new Set([...was.keys(), ...now.keys()])].sort(byCodeUnit)) {
    const a = was.get(key);
    const b = now.get(key);
    if (!a) objects.push({ object: key, action: 'create', fields: [], file: b!.file });
    else if (!b) objects.push({ object: key, action: 'delete', fields: [], file: a.file });
    else {
      const fields = fieldsThatDiffer(a.obj, b.obj);
      if (!fields.length) unchanged++;
      else objects.push({ object: key, action: 'change', fields: b.obj.kind === 'Secret' ? [SECRET_CHANGED] : fields, file: b.file });
    }
  }
  return { objects, unchanged };
}

/** The tree as last written: every file under the output directory but wharf's bookkeeping. */
export function writtenTree(outDir: string): RenderedFile[] {
  const out: RenderedFile[] = [];
  const walk = (rel: string) => {
    const p = rel ? join(outDir, rel) : outDir;
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) {
      for (const n of readdirSync(p).sort(byCodeUnit)) if (!n.startsWith('.wharf')) walk(rel ? `${rel}/${n}` : n);
    } else out.push({ path: rel, contents: readFileSync(p, 'utf8') });
  };
  walk('');
  return out;
}

/**
 * The plan of the k8s tree. Secrets are sealed again only when the age identity and every
 * secret exist already (sealing keeps a file whose value did not change); otherwise the sealed
 * files last written stand in for them, so nothing is created by planning.
 */
export async function planK8s(plan: Plan, outDir: string, secretsDir: string): Promise<K8sPlan> {
  const { loadRenderer, renderAll } = await import('../render/index.js');
  const { AGE_KEY_FILE, sealSecrets } = await import('./seal.js');
  const { secretFileName, secretsNeeded } = await import('../render/k8s/index.js');
  const before = writtenTree(outDir);
  const needed = secretsNeeded(plan);
  const canSeal = existsSync(join(secretsDir, AGE_KEY_FILE)) && needed.every((n) => existsSync(join(secretsDir, n)));
  const sealed = canSeal ? await sealSecrets(plan, secretsDir, outDir) : undefined;
  const kept = Object.fromEntries(
    needed.flatMap((n) => {
      const f = before.find((x) => x.path === secretFileName(n));
      return f ? [[n, f.contents]] : [];
    }),
  );
  await loadRenderer('k8s');
  const after = renderAll(plan, 'k8s', sealed ? { ageRecipient: sealed.recipient, sealedSecrets: sealed.sealed } : { sealedSecrets: kept });
  return { target: 'k8s', project: plan.name, ...diffK8s(before, after) };
}
