// spec file -> validated stack -> plan -> rendered files on disk + secrets.
// Everything that can fail on user input fails before anything is written.
import { dirname, join, posix, resolve } from 'node:path';
import { validateSpecFile, withRule } from '../check/validate.js';
import { targetErrors } from '../check/policy.js';
import type { Plan } from '../plan/model.js';
import { pitrComponent } from '../plan/pitr.js';
import { createHash } from 'node:crypto';
import type { RenderOptions, Target } from '../render/index.js';
import type { RenderedFile } from '../render/files.js';
import { ensureSecrets, type SecretsResult } from '../secrets/generate.js';
import { findSpecFile } from '../spec/load.js';
import { UserInputError, type Issue } from '../spec/issues.js';
import type { Stack } from '../spec/schema.js';
import { writeFiles, type WriteResult } from './write.js';
import { existsSync, readFileSync } from 'node:fs';
import { assertWritable, mkdirInside, writeInside } from '../fs/confined.js';
import { schemaText } from '../spec/schema-text.js';

/** The JSON Schema the templates point editors at (`# yaml-language-server: $schema=./.wharf/wharf.schema.json`). */
export function writeSchemaFile(projectDir: string): string {
  const path = join(projectDir, '.wharf', 'wharf.schema.json');
  const text = schemaText();
  mkdirInside(projectDir, '.wharf', 0o700);
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeInside(projectDir, path, text);
  return path;
}

export interface Layout {
  specPath: string;
  projectDir: string;
  /** rendered files (compose.yaml and configs) */
  outDir: string;
  secretsDir: string;
}

export function layout(specPath: string, projectDir = dirname(specPath)): Layout {
  const p = resolve(projectDir);
  return { specPath: resolve(specPath), projectDir: p, outDir: join(p, '.wharf', 'compose'), secretsDir: join(p, '.wharf', 'secrets') };
}

export { planPaths } from '../check/validate.js';

export function resolveSpecPath(given: string | undefined, cwd = process.cwd()): string {
  if (given) return resolve(cwd, given);
  const found = findSpecFile(cwd);
  if (!found)
    throw new UserInputError([
      { path: '', severity: 'error', message: `no wharf.yaml or wharf.config.ts in ${cwd}`, hint: 'run `wharf init` or pass --file PATH' },
    ]);
  return found;
}

export interface Loaded {
  stack: Stack;
  plan: Plan;
  layout: Layout;
  warnings: Issue[];
}

/** The spec validated as `wharf check` does (one function): any error refuses the command, nothing written. */
export async function load(specPath: string, projectDir?: string): Promise<Loaded> {
  const v = await validateSpecFile(specPath);
  const issues = v.issues.map(withRule);
  if (!v.stack || !v.plan || issues.some((i) => i.severity === 'error')) throw new UserInputError(issues);
  return { stack: v.stack, plan: v.plan, layout: layout(specPath, projectDir), warnings: issues.filter((i) => i.severity === 'warning') };
}

export interface Prepared extends Loaded {
  files: RenderedFile[];
  write: WriteResult;
  secrets: SecretsResult;
  outDir: string;
  secretsDir: string;
  target: Target;
  /** k8s: the age identity the sealed Secrets open with (load it into flux-system) */
  ageKeyPath?: string;
}

/** Where a target's files go: .wharf/<target>, beside .wharf/secrets (the plan's ../secrets). */
export function targetDir(l: Layout, target: Target): string {
  return join(dirname(l.outDir), target);
}

export async function prepare(opts: {
  specPath: string;
  projectDir?: string;
  render?: RenderOptions;
  target?: Target;
  loaded?: Loaded;
}): Promise<Prepared> {
  const loaded = opts.loaded ?? (await load(opts.specPath, opts.projectDir));
  const target = opts.target ?? loaded.stack.target ?? 'compose';
  // Rendering what cannot be deployed yet is allowed (to read it); deploying it is refused by the ops.
  const blockers = (await targetErrors(target, loaded.stack, loaded.plan)).map((f) => ({
    ...f,
    severity: 'warning' as const,
    message: `${f.message} (${f.rule}: \`wharf up --target ${target}\` refuses this)`,
  }));
  const outDir = targetDir(loaded.layout, target);
  // The renderers (Grafana's SDK, the rule catalogues) load only for commands that render.
  const { loadRenderer, renderAll } = await import('../render/index.js');
  // A link in .wharf (or a local backup destination) leading out of the project stops us before anything is written.
  const root = loaded.layout.projectDir;
  assertWritable(root, [
    outDir,
    loaded.layout.secretsDir,
    join(root, '.wharf', 'wharf.schema.json'),
    ...localBackupDirs(loaded.plan).map((path) => ({ path, allowAbsolute: true })),
  ]);
  // Compose renders first so a renderer bug fails before secrets are made; Swarm names its
  // secrets by content, so it renders once they exist.
  let files = target === 'compose' ? renderAll(loaded.plan, 'compose', opts.render) : [];
  // Secrets first: a missing user secret file is an input error and must stop us before any config is replaced.
  const secrets = await ensureSecrets(loaded.plan, loaded.layout.secretsDir, loaded.layout.projectDir);
  const sealed =
    target === 'k8s' ? await (await import('./seal.js')).sealSecrets(loaded.plan, loaded.layout.secretsDir, outDir) : undefined;
  if (target !== 'compose') {
    await loadRenderer(target);
    files = renderAll(loaded.plan, target, {
      ...opts.render,
      secretHashes: secretHashes(loaded.plan, loaded.layout.secretsDir),
      ...(sealed ? { ageRecipient: sealed.recipient, sealedSecrets: sealed.sealed } : {}),
    });
  }
  const write = writeFiles(outDir, files, root);
  writeSchemaFile(loaded.layout.projectDir);
  ensureBackupDirs(loaded.plan, loaded.layout.projectDir);
  return {
    ...loaded,
    warnings: [...loaded.warnings, ...blockers],
    files,
    write,
    secrets,
    outDir,
    secretsDir: loaded.layout.secretsDir,
    target,
    ...(sealed ? { ageKeyPath: sealed.keyPath } : {}),
  };
}

/** sha256 of each secret file: Swarm secrets are immutable, so their names carry it. */
export function secretHashes(plan: Plan, secretsDir: string): Record<string, string> {
  return Object.fromEntries(
    plan.secrets.map((s) => [
      s.name,
      createHash('sha256')
        .update(readFileSync(join(secretsDir, s.name)))
        .digest('hex'),
    ]),
  );
}

/** Local backup destinations are bind mounts: Compose would create them root-owned and world-readable. */
export function ensureBackupDirs(plan: Plan, projectDir: string): string[] {
  const made = new Set<string>();
  for (const path of localBackupDirs(plan)) {
    // A destination written as an absolute path is the user's explicit choice (README, "Trust boundary").
    mkdirInside(projectDir, path, 0o700, { allowAbsolute: true });
    made.add(resolve(projectDir, path));
  }
  return [...made];
}

function localBackupDirs(plan: Plan): string[] {
  // a point-in-time repository is bind-mounted on its own (plan/pitr.ts): Compose does not create it
  return plan.backups.flatMap((j) =>
    j.destination.type !== 'local'
      ? []
      : [j.destination.path, ...(j.pointInTime ? [posix.join(j.destination.path, pitrComponent(j.target))] : [])],
  );
}
