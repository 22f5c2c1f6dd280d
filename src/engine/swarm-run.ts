// `wharf run` and release hooks on Swarm: a one-off task placed as the service is. Swarm has
// no `docker run` of a service, so the one-off is a service of its own, never restarted
// (`--restart-condition none`), from the service's definition in the rendered stack file: its
// image, entrypoint, env, secrets, configs, networks and placement constraints. wharf waits
// for its task to end, relays its lines, passes its exit code on, and removes it. It carries
// no stack namespace label: no status, drift, rollout or `stack deploy --prune` counts it.
import { randomBytes } from 'node:crypto';
import type { Cmd } from './command.js';
import { CommandError, type RunOptions, type RunResult, type Runner } from './run.js';
import { shellQuote } from '../escape/shell.js';

export const ONEOFF_LABEL = 'dev.wharf.oneoff';

/** What a stack file says, as far as a one-off needs it. */
export interface StackDoc {
  services?: Record<string, Record<string, unknown>>;
  networks?: Record<string, { name?: string; external?: boolean } | null>;
  secrets?: Record<string, { name?: string; file?: string } | null>;
  configs?: Record<string, { name?: string; file?: string } | null>;
}

type Ref = string | { source: string; target?: string; uid?: string; gid?: string; mode?: number };

/** The objects (secrets and configs) a service mounts: each by its swarm name, with the file it is made of. */
export function objectsOf(
  doc: StackDoc,
  service: string,
  project: string,
): Array<{ kind: 'secret' | 'config'; name: string; file?: string }> {
  const def = doc.services?.[service] ?? {};
  return (['secret', 'config'] as const).flatMap((kind) =>
    ((def[`${kind}s`] as Ref[] | undefined) ?? []).map((r) => {
      const key = typeof r === 'string' ? r : r.source;
      const top = doc[`${kind}s`]?.[key];
      return { kind, name: top?.name ?? `${project}_${key}`, ...(top?.file ? { file: top.file } : {}) };
    }),
  );
}

/** `docker service create` arguments of a one-off of `service`: everything before the image, then the image and argv. */
export function oneOffArgs(doc: StackDoc, service: string, project: string, name: string, argv: string[]): string[] {
  const def = doc.services?.[service];
  if (!def) throw new Error(`bug: no service ${service} in the stack file`);
  const args = ['service', 'create', '--detach', '--quiet', '--with-registry-auth', '--name', name, '--restart-condition', 'none'];
  args.push('--label', `${ONEOFF_LABEL}=${service}`, '--label', `dev.wharf.stack=${project}`, '--no-healthcheck');
  const mounts = (kind: 'secret' | 'config') => {
    for (const r of (def[`${kind}s`] as Ref[] | undefined) ?? []) {
      const ref = typeof r === 'string' ? { source: r } : r;
      const top = doc[`${kind}s`]?.[ref.source];
      // the short syntax mounts a secret at /run/secrets/<key>, a config at /<key>
      const target = ref.target ?? (kind === 'secret' ? ref.source : `/${ref.source}`);
      const extra = [ref.uid ? `uid=${ref.uid}` : '', ref.gid ? `gid=${ref.gid}` : '', ref.mode !== undefined ? `mode=${ref.mode}` : ''];
      args.push(`--${kind}`, [`source=${top?.name ?? `${project}_${ref.source}`}`, `target=${target}`, ...extra.filter(Boolean)].join(','));
    }
  };
  mounts('secret');
  mounts('config');
  const env = def.environment as Record<string, string | number | null> | string[] | undefined;
  const pairs = Array.isArray(env) ? env : Object.entries(env ?? {}).map(([k, v]) => (v === null ? k : `${k}=${v}`));
  for (const e of pairs) args.push('--env', e);
  const nets = def.networks as string[] | Record<string, unknown> | undefined;
  for (const n of Array.isArray(nets) ? nets : Object.keys(nets ?? {}))
    args.push('--network', doc.networks?.[n]?.name ?? `${project}_${n}`);
  const deploy = (def.deploy ?? {}) as { placement?: { constraints?: string[] } };
  for (const c of deploy.placement?.constraints ?? []) args.push('--constraint', c);
  const entrypoint = def.entrypoint as string[] | string | undefined;
  // --entrypoint is split like a shell line: each word quoted
  if (entrypoint) args.push('--entrypoint', Array.isArray(entrypoint) ? entrypoint.map(shellQuote).join(' ') : entrypoint);
  if (typeof def.user === 'string') args.push('--user', def.user);
  if (typeof def.working_dir === 'string') args.push('--workdir', def.working_dir);
  if (def.init === true) args.push('--init');
  const logging = def.logging as { driver?: string } | undefined;
  if (logging?.driver) args.push('--log-driver', logging.driver);
  // `service create` stops reading options at the image: the argv after it is the command's own
  return [...args, String(def.image), ...argv];
}

/** A one-off's name: the service's, marked and unique. */
export function oneOffName(project: string, service: string): string {
  return `${project}_${service}-run-${randomBytes(4).toString('hex')}`;
}

/** One `docker inspect` of a task: `<state> <exit code> <error>`. */
export function parseTaskEnd(line: string): { state: string; exitCode: number; err: string } {
  const [state = '', code = '', ...err] = line.trim().split(' ');
  return { state, exitCode: Number.parseInt(code, 10) || 0, err: err.join(' ') };
}

const ENDED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

export interface OneOffCommands {
  /** `docker ...` on the manager */
  c(args: string[], describe: string, extra?: Omit<Cmd, 'argv' | 'describe'>): Cmd;
  dir: string;
  /** how often the task's state is read (default 500 ms) */
  pollMs?: number;
  /** how long a task may stay pending before it counts as not started (default 2 min) */
  pendingMs?: number;
}

/**
 * Creates the objects the service mounts that the stack does not have yet (a beforeRollout hook
 * runs before the deploy that creates a changed secret), labelled as `stack deploy` labels them
 * so the deploy adopts them and the prune removes them once superseded.
 */
async function ensureObjects(runner: Runner, d: OneOffCommands, doc: StackDoc, service: string, project: string): Promise<void> {
  for (const kind of ['secret', 'config'] as const) {
    const wanted = objectsOf(doc, service, project).filter((o) => o.kind === kind && o.file);
    if (!wanted.length) continue;
    const have = new Set(
      (await runner(d.c([kind, 'ls', '--format', '{{.Name}}'], `list ${kind}s`, { timeoutMs: 30_000 }))).stdout.split('\n'),
    );
    for (const o of wanted.filter((x) => !have.has(x.name)))
      await runner(
        d.c([kind, 'create', '--label', `com.docker.stack.namespace=${project}`, o.name, o.file!], `create the ${kind} ${o.name}`, {
          cwd: d.dir,
          timeoutMs: 30_000,
        }),
      );
  }
}

/** Runs a one-off to its end: created, waited for, its lines relayed through `opts`, removed; its exit code the result. */
export async function runOneOff(
  runner: Runner,
  d: OneOffCommands,
  x: { doc: StackDoc; service: string; project: string; argv: string[]; extra: Pick<Cmd, 'describe' | 'redact' | 'timeoutMs'> },
  opts: RunOptions,
): Promise<RunResult> {
  const t0 = performance.now();
  const name = oneOffName(x.project, x.service);
  const create = d.c(oneOffArgs(x.doc, x.service, x.project, name, x.argv), x.extra.describe, {
    redact: x.extra.redact,
    timeoutMs: 120_000,
  });
  await ensureObjects(runner, d, x.doc, x.service, x.project);
  // a refused create (no such network, image or secret) is the engine's error, not the command's exit code
  const made = await runner(create);
  const logs = (follow: boolean) =>
    d.c(
      ['service', 'logs', '--raw', '--no-trunc', ...(follow ? ['--follow'] : []), name],
      `${follow ? 'follow' : 'read'} the output of ${name}`,
      {
        redact: x.extra.redact,
        timeoutMs: follow ? (x.extra.timeoutMs ?? 30 * 60_000) : 120_000,
      },
    );
  // its lines as they come (masked by the runner); a terminal session reads them once, at the end
  const live = opts.attach === 'terminal' ? undefined : followOneOff(runner, logs(true), opts);
  try {
    const deadline = t0 + (x.extra.timeoutMs ?? 30 * 60_000);
    let end = { state: '', exitCode: 0, err: '' };
    while (!ENDED.has(end.state)) {
      if (performance.now() > deadline) return { ...made, exitCode: 124, timedOut: true, stderr: `${name} did not end in time` };
      await new Promise((r) => setTimeout(r, d.pollMs ?? 500));
      const ids = (await runner(d.c(['service', 'ps', '-q', '--no-trunc', name], `list the task of ${name}`, { timeoutMs: 30_000 })))
        .stdout;
      const id = ids.split('\n').find((l) => l.trim());
      if (!id) continue;
      const format = '{{.Status.State}} {{.Status.ContainerStatus.ExitCode}} {{.Status.Err}}';
      const r = await runner(d.c(['inspect', '--type', 'task', '--format', format, id.trim()], `read the state of ${name}`), {
        reject: false,
      });
      if (r.exitCode === 0) end = parseTaskEnd(r.stdout);
      // no node fits (constraints, resources): the scheduler keeps it pending, saying why
      if (end.state === 'pending' && performance.now() - t0 > (d.pendingMs ?? 120_000)) end = { ...end, state: 'rejected', exitCode: 0 };
    }
    // a followed service log never ends by itself: stopped once the task has, then read whole, and
    // what the follower had not relayed yet (the last lines may arrive after the task ends) relayed now
    const relayed = live ? await live.stop() : undefined;
    const out = await runner(logs(false), relayed ? { reject: false } : { ...opts, attach: 'terminal', reject: false });
    if (relayed) relayRest(out, relayed, opts);
    // a task that never started (no node fits, no image) has no exit code: 125, as `docker run` says
    const exitCode = end.state === 'complete' ? 0 : end.exitCode || 125;
    const why = exitCode === 125 ? `${name} did not start: ${end.state}${end.err ? `: ${end.err}` : ''}` : '';
    if (why) {
      opts.onLine?.(why, 'stderr');
      opts.onOutput?.(`${why}\n`, 'stderr');
    }
    const stderr = [out.stderr, why].filter(Boolean).join('\n');
    const result = { ...out, cmd: create, exitCode, stderr, durationMs: Math.round(performance.now() - t0) };
    if (exitCode !== 0 && opts.reject !== false) throw new CommandError(result);
    return result;
  } finally {
    await live?.stop();
    await runner(d.c(['service', 'rm', name], `remove ${name}`, { timeoutMs: 60_000 }), { reject: false });
  }
}

/** What the follower relayed so far: text per stream for onOutput, lines per stream for onLine. */
interface Relayed {
  text: Record<'stdout' | 'stderr', string>;
  lines: Record<'stdout' | 'stderr', number>;
}

/** Follows a one-off's log, relaying each line and chunk as it arrives; stop() ends it and says what went out. */
function followOneOff(runner: Runner, follow: Cmd, opts: RunOptions) {
  const relayed: Relayed = { text: { stdout: '', stderr: '' }, lines: { stdout: 0, stderr: 0 } };
  const ac = new AbortController();
  const done = runner(follow, {
    stream: true,
    reject: false,
    signal: ac.signal,
    onLine: (l, s) => (relayed.lines[s]++, opts.onLine?.(l, s)),
    onOutput: (t, s) => ((relayed.text[s] += t), opts.onOutput?.(t, s)),
  }).catch(() => undefined);
  return {
    async stop(): Promise<Relayed> {
      ac.abort();
      await done;
      return relayed;
    },
  };
}

/** The whole log's lines and text past what the follower relayed (split as the runner splits lines). */
function relayRest(out: RunResult, relayed: Relayed, opts: RunOptions): void {
  for (const s of ['stdout', 'stderr'] as const) {
    const whole = out[s];
    const lines = whole.split(/\r?\n|\r/).filter((l) => l.trim());
    for (const l of lines.slice(relayed.lines[s])) opts.onLine?.(l, s);
    const text = whole ? `${whole}\n` : '';
    if (text.startsWith(relayed.text[s]) && text.length > relayed.text[s].length) opts.onOutput?.(text.slice(relayed.text[s].length), s);
  }
}
