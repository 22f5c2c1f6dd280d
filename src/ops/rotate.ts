// `wharf secrets rotate <name>`: a generated secret gets a new value with no failed request.
// - a database or cache password: the store accepts both credentials (rotate-commands.ts),
//   the services that use it roll through the normal zero-downtime rollout, the old is revoked;
// - the edge's basic-auth password and self-signed certificate: the new files are written in
//   place and the edge reloads them (its open connections stay);
// - the restic password: a new key, checked, the backup service rolled, the old key removed.
// New values are staged beside .wharf/secrets first (ensureSecrets derives every dependent file),
// then committed; the rotation is recorded without values (rotate-state.ts).
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OpsContext } from '../engine/context.js';
import { runnerOf } from '../engine/context.js';
import type { Cmd } from '../engine/command.js';
import { listContainers } from '../engine/live.js';
import { InputError, OperationError } from '../errors.js';
import { BACKUP_COMPONENT, jobRepositories, RESTIC_PASSWORD_SECRET } from '../plan/backup.js';
import type { Component, Plan } from '../plan/model.js';
import { ensureSecrets } from '../secrets/generate.js';
import { prepare, type Loaded } from './prepare.js';
import { reloadChanged } from './reload.js';
import { currentKey, noRepository, resticSteps, storeRotation, type StoreEngine, type StoreScript } from './rotate-commands.js';
import { commitSecrets, withLogin } from './rotate-files.js';
import { recordRotation } from './rotate-state.js';
import { rollout } from './rollout.js';

export type RotationKind = 'store' | 'edge' | 'restic';

export interface RotateTarget {
  kind: RotationKind;
  /** the secret that gets a new value; every secret derived from it follows */
  root: string;
  store?: Component & { engine: StoreEngine };
}

const STORES: readonly string[] = ['postgres', 'mysql', 'mariadb', 'redis'];

/** What rotating `name` means for this plan, or an input error naming what can be rotated. */
export function rotationOf(plan: Plan, name: string): RotateTarget {
  const targets = rotatable(plan);
  const t = targets.get(name);
  if (t) return t;
  const known = plan.secrets.some((s) => s.name === name);
  throw new InputError(
    `${name}: ${known ? 'this secret cannot be rotated by wharf yet' : 'no such secret in this stack'} (rotatable: ${[...targets.keys()].join(', ')})`,
  );
}

/** Every secret name that can be rotated (derived names included), and what it rotates. */
export function rotatable(plan: Plan): Map<string, RotateTarget> {
  const out = new Map<string, RotateTarget>();
  const has = (n: string) => plan.secrets.some((s) => s.name === n);
  for (const c of plan.components) {
    if (!c.engine || !STORES.includes(c.engine) || !has(`${c.name}-password`)) continue;
    const t: RotateTarget = { kind: 'store', root: `${c.name}-password`, store: c as RotateTarget['store'] };
    for (const n of [`${c.name}-password`, `${c.name}-url`]) if (has(n)) out.set(n, t);
  }
  if (has('edge-admin-password')) {
    const t: RotateTarget = { kind: 'edge', root: 'edge-admin-password' };
    for (const n of ['edge-admin-password', plan.proxy.authSecret]) out.set(n, t);
  }
  const key = plan.secrets.find((s) => s.name === 'edge-tls-key');
  if (key?.source.kind === 'tls-key') {
    const t: RotateTarget = { kind: 'edge', root: 'edge-tls-key' };
    for (const n of ['edge-tls-key', 'edge-tls-cert', 'edge-tls-pem']) if (has(n)) out.set(n, t);
  }
  if (has(RESTIC_PASSWORD_SECRET)) out.set(RESTIC_PASSWORD_SECRET, { kind: 'restic', root: RESTIC_PASSWORD_SECRET });
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

export interface RotateOptions {
  loaded: Loaded;
  /** the context a plan deploys with (the CLI's target context; tests: compose) */
  contextFor(p: { plan: Plan; outDir: string; secretsDir: string }): Promise<OpsContext>;
  /** how `prepare` renders (the CLI's target and detected Compose) */
  prepare?: Pick<Parameters<typeof prepare>[0], 'target' | 'render'>;
  say?: (line: string) => void;
}

export interface RotateResult {
  secret: string;
  kind: RotationKind;
  /** every secret file that changed */
  changed: string[];
  /** the services rolled or reloaded */
  services: string[];
  durationMs: number;
}

export async function rotateSecret(name: string, o: RotateOptions): Promise<RotateResult> {
  const t0 = performance.now();
  const { plan, layout } = o.loaded;
  const t = rotationOf(plan, name);
  const say = o.say ?? (() => {});
  const deploy = async (p: Plan) => {
    const prepared = await prepare({ ...o.prepare, specPath: layout.specPath, loaded: { ...o.loaded, plan: p } });
    return o.contextFor({ plan: p, outDir: prepared.outDir, secretsDir: prepared.secretsDir });
  };
  const ctx = await deploy(plan);
  const old = readFileSync(join(layout.secretsDir, t.root), 'utf8');
  let changed: Map<string, Buffer>;
  let services: string[];
  try {
    if (t.kind === 'store') ({ changed, services } = await rotateStore(ctx, t, old, o.loaded, deploy, say));
    else if (t.kind === 'edge') ({ changed, services } = await rotateEdge(ctx, t, o.loaded, say));
    else ({ changed, services } = await rotateRestic(ctx, old, o.loaded, deploy, say));
  } catch (e) {
    // every step accepts a state a stopped run left (the twin exists, a key was added): running again finishes it
    const hint = `run \`wharf secrets rotate ${name}\` again: each step can be repeated, and the running services keep the credential they started with`;
    throw new OperationError(`rotation of ${name} stopped: ${(e as Error).message}`, { cause: e, hint });
  }
  for (const [n, v] of changed) if (plan.secrets.some((s) => s.name === n)) recordRotation(layout.projectDir, n, v);
  return {
    secret: name,
    kind: t.kind,
    changed: [...changed.keys()].filter((n) => !n.startsWith('.')),
    services,
    durationMs: Math.round(performance.now() - t0),
  };
}

/** New values for `root` and everything derived from it, computed in a staging copy of the secrets; nothing committed. */
export async function stageSecrets(plan: Plan, secretsDir: string, projectDir: string, root: string): Promise<Map<string, Buffer>> {
  const staging = join(dirname(secretsDir), `secrets.rotating-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    cpSync(secretsDir, staging, { recursive: true });
    rmSync(join(staging, root), { force: true });
    await ensureSecrets(plan, staging, projectDir);
    const out = new Map<string, Buffer>();
    for (const n of readdirSync(staging)) {
      const v = readFileSync(join(staging, n));
      let before: Buffer | undefined;
      try {
        before = readFileSync(join(secretsDir, n));
      } catch {
        before = undefined;
      }
      if (!before || !before.equals(v)) out.set(n, v);
    }
    return out;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Components other than `except` that mount one of these secrets. */
export function consumers(plan: Plan, secrets: Iterable<string>, except?: string): string[] {
  const s = new Set(secrets);
  return plan.components.filter((c) => c.name !== except && c.secrets.some((m) => s.has(m.secret))).map((c) => c.name);
}

async function inStore(ctx: OpsContext, service: string, script: StoreScript, masks: string[], what: string): Promise<void> {
  const c = (await listContainers(ctx.engine, runnerOf(ctx))).find((x) => x.service === service && x.state === 'running');
  if (!c) throw new OperationError(`${what}: no running replica of ${service}`);
  const base = ctx.engine.exec(c, script.argv, what, 60_000, { stdin: true, tty: false });
  const k: Cmd = { ...base, input: script.input, timeoutMs: 60_000, redact: masks };
  const r = await runnerOf(ctx)(k, { reject: false });
  if (r.exitCode !== 0 || (script.ok && !script.ok(r.stdout)))
    throw new OperationError(`${what} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`);
}

type Deploy = (p: Plan) => Promise<OpsContext>;

async function rotateStore(ctx: OpsContext, t: RotateTarget, old: string, loaded: Loaded, deploy: Deploy, say: (l: string) => void) {
  const store = t.store!;
  const { plan, layout } = loaded;
  const env = store.env;
  const user = env.POSTGRES_USER ?? env.MYSQL_USER ?? env.MARIADB_USER ?? 'default';
  const database = env.POSTGRES_DB ?? env.MYSQL_DATABASE ?? env.MARIADB_DATABASE ?? '';
  const rootFile = env.MYSQL_ROOT_PASSWORD_FILE ?? env.MARIADB_ROOT_PASSWORD_FILE;
  const facts = { engine: store.engine, user, database, rootPasswordFile: rootFile };
  // Twin: the services first move to the transient login, so stage the files they will read then.
  const probe = storeRotation(facts, old.trim(), 'x');
  const first = probe.mode === 'twin' ? withLogin(plan, store.name, user, probe.twin!) : plan;
  const staged = await stageSecrets(first, layout.secretsDir, layout.projectDir, t.root);
  const next = staged.get(t.root)!.toString('utf8');
  const steps = storeRotation(facts, old.trim(), next.trim());
  const masks = [old, old.trim(), next, next.trim()];
  const all = consumers(plan, [...staged.keys()], store.name);
  say(`${store.name}: accepting the new ${steps.mode === 'twin' ? `login ${steps.twin}` : 'password'} beside the old`);
  await inStore(ctx, store.name, steps.open, masks, `${store.name}: open the new credential`);
  commitSecrets(layout, staged, 'replace');
  if (steps.mode === 'twin') {
    const moved = consumers(
      first,
      [...staged.keys()].filter((n) => n !== t.root),
      store.name,
    );
    const rolled = first.components.filter((c) => moved.includes(c.name) || envDiffers(c, plan)).map((c) => c.name);
    say(`rolling ${rolled.join(', ')} to ${steps.twin}`);
    await rollout(await deploy(first), rolled);
    await inStore(ctx, store.name, steps.settle!, masks, `${store.name}: new password for ${user}`);
  }
  const ctx2 = await deploy(plan);
  say(`rolling ${all.join(', ')} with the new password`);
  await rollout(ctx2, all);
  await inStore(ctx2, store.name, steps.close, masks, `${store.name}: revoke the old credential`);
  const changed = await changedSince(layout.secretsDir, staged);
  return { changed, services: all };
}

/** The staged names with their values as now on disk (the twin's URL was derived again for the user). */
async function changedSince(secretsDir: string, staged: Map<string, Buffer>): Promise<Map<string, Buffer>> {
  return new Map([...staged.keys()].map((n) => [n, readFileSync(join(secretsDir, n))]));
}

function envDiffers(c: Component, plan: Plan): boolean {
  const o = plan.components.find((x) => x.name === c.name);
  return !!o && JSON.stringify(o.env) !== JSON.stringify(c.env);
}

async function rotateEdge(ctx: OpsContext, t: RotateTarget, loaded: Loaded, say: (l: string) => void) {
  const { plan, layout } = loaded;
  const staged = await stageSecrets(plan, layout.secretsDir, layout.projectDir, t.root);
  const users = consumers(plan, staged.keys());
  const live = plan.components.filter((c) => users.includes(c.name) && c.reload).map((c) => c.name);
  // A running replica bind-mounts each secret file: written in place, so its reload reads the new one.
  commitSecrets(layout, staged, 'in-place');
  say(`reloading ${live.join(', ')}`);
  await reloadChanged(ctx, [], { force: true, only: live });
  const rest = users.filter((u) => !live.includes(u));
  if (rest.length) await rollout(ctx, rest);
  return { changed: staged, services: users };
}

async function rotateRestic(ctx: OpsContext, old: string, loaded: Loaded, deploy: Deploy, say: (l: string) => void) {
  const { plan, layout } = loaded;
  const staged = await stageSecrets(plan, layout.secretsDir, layout.projectDir, RESTIC_PASSWORD_SECRET);
  const next = staged.get(RESTIC_PASSWORD_SECRET)!.toString('utf8');
  const backup = plan.components.find((c) => c.name === BACKUP_COMPONENT);
  const running = async () => {
    const c = (await listContainers(ctx.engine, runnerOf(ctx))).find((x) => x.service === BACKUP_COMPONENT && x.state === 'running');
    if (!c) throw new OperationError(`restic password: no running ${BACKUP_COMPONENT} service to reach the repositories from`);
    return c;
  };
  if (!backup) throw new OperationError(`restic password: the plan has no ${BACKUP_COMPONENT} service`);
  // the container changes when the backup service rolls: read it before each step
  let c = await running();
  const masks = [old, old.trim(), next, next.trim()];
  const runner = runnerOf(ctx);
  const exec = async (argv: string[], what: string, input?: string) => {
    const k = ctx.engine.exec(c, argv, what, 120_000, input === undefined ? undefined : { stdin: true, tty: false });
    return runner({ ...k, input, timeoutMs: 120_000, redact: masks }, { reject: false });
  };
  const repos = [...new Set([...jobRepositories(plan.backups).values()].map((r) => r.repository))].map((r) =>
    r.replaceAll('$WHARF_REPO_DIR', backup.env.WHARF_REPO_DIR ?? '/repo'),
  );
  const keys: Array<{ repo: string; old: string }> = [];
  for (const repo of repos) {
    const l = await exec(s3Env(plan, repo, resticSteps.list(repo)), `restic keys of ${repo}`, old);
    if (l.exitCode !== 0 && noRepository(l.stderr)) {
      say(`${repo}: no repository yet (nothing to re-key)`);
      continue;
    }
    if (l.exitCode !== 0)
      throw new OperationError(`restic password: the current password does not open ${repo}: ${l.stderr.trim().split('\n').at(-1)}`);
    const id = currentKey(l.stdout);
    // logged in with the current password as the container holds it (its secret file, not yet replaced)
    const a = await exec(
      s3Env(plan, repo, resticSteps.add(repo, `/run/secrets/${RESTIC_PASSWORD_SECRET}`)),
      `restic key add on ${repo}`,
      next,
    );
    const v = await exec(s3Env(plan, repo, resticSteps.open(repo)), `open ${repo} with the new key`, next);
    const fresh = v.exitCode === 0 ? currentKey(v.stdout) : undefined;
    if (a.exitCode !== 0 || !fresh || fresh === id || !id)
      throw new OperationError(`restic password: the new key does not open ${repo}; the old key is kept and the password unchanged`);
    keys.push({ repo, old: id });
    say(`${repo}: new key ${fresh.slice(0, 8)} opens it`);
  }
  commitSecrets(layout, staged, 'replace');
  await rollout(await deploy(plan), [BACKUP_COMPONENT]);
  c = await running();
  for (const k of keys) {
    const r = await exec(s3Env(plan, k.repo, resticSteps.remove(k.repo, k.old)), `restic key remove on ${k.repo}`, next);
    if (r.exitCode !== 0)
      throw new OperationError(
        `restic password: removing the old key ${k.old.slice(0, 8)} of ${k.repo} failed: ${r.stderr.trim().split('\n').at(-1)}`,
      );
  }
  return { changed: staged, services: [BACKUP_COMPONENT] };
}

/** An S3 repository's access keys, read inside the container from their secret files. */
function s3Env(plan: Plan, repo: string, argv: string[]): string[] {
  const job = plan.backups.find((j) => j.destination.type === 's3' && repo.includes(`/${j.name}`));
  if (!job || job.destination.type !== 's3') return argv;
  const { accessKeySecret: ak, secretKeySecret: sk } = job.destination;
  const script =
    'AWS_ACCESS_KEY_ID="$(cat "$1")"; AWS_SECRET_ACCESS_KEY="$(cat "$2")"; export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; shift 2; exec "$@"';
  return ['sh', '-c', script, 'wharf-rotate', `/run/secrets/${ak}`, `/run/secrets/${sk}`, ...argv];
}
