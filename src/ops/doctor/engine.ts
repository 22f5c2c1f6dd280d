// doctor: the engine answers, its tool is there, the rendered files are valid, disk space.
import { statfsSync } from 'node:fs';
import type { OpsContext } from '../../engine/context.js';
import type { Runner } from '../../engine/run.js';
import { check, type Check, type CheckStatus } from './check.js';

export async function checkEngine(ctx: OpsContext, runner: Runner): Promise<Check> {
  const r = await runner(ctx.engine.ping(), { reject: false }).catch((e: Error) => ({ exitCode: 1, stdout: '', stderr: e.message }));
  if (r.exitCode !== 0) {
    return check({
      id: 'engine',
      title: 'Docker Engine reachable',
      status: 'fail',
      cause: 'engine-unreachable',
      detail: (r.stderr || 'docker did not answer').trim().split('\n').slice(-2).join(' '),
      hint: 'start dockerd (scripts/docker/ensure-engine.sh) or check DOCKER_HOST and your permissions on /var/run/docker.sock',
    });
  }
  try {
    const v = JSON.parse(r.stdout) as { Client?: { Version?: string }; Server?: { Version?: string; ApiVersion?: string } };
    return check({
      id: 'engine',
      title: 'Docker Engine reachable',
      status: 'ok',
      detail: `server ${v.Server?.Version ?? '?'} (API ${v.Server?.ApiVersion ?? '?'}), client ${v.Client?.Version ?? '?'}`,
    });
  } catch {
    return check({ id: 'engine', title: 'Docker Engine reachable', status: 'ok', detail: 'answering' });
  }
}

export async function checkTool(ctx: OpsContext, runner: Runner): Promise<Check> {
  const t = ctx.engine.tool();
  const r = await runner(t.cmd, { reject: false }).catch(() => undefined);
  if (!r || r.exitCode !== 0)
    return check({
      id: t.id,
      title: t.title,
      status: 'fail',
      cause: 'compose-missing',
      detail: `${t.cmd.argv.join(' ')} failed${r ? `: ${(r.stderr || r.stdout).trim().split('\n').pop()}` : ''}`,
      hint: t.missing,
    });
  try {
    const j = t.judge(r.stdout);
    return check({ id: t.id, title: t.title, ...j });
  } catch (e) {
    return check({ id: t.id, title: t.title, status: 'warn', detail: `unexpected answer: ${(e as Error).message}` });
  }
}

export async function checkConfig(ctx: OpsContext, runner: Runner): Promise<Check> {
  const r = await runner(ctx.engine.validate(), { reject: false }).catch((e: Error) => ({ exitCode: 1, stdout: '', stderr: e.message }));
  return r.exitCode === 0
    ? check({ id: 'config', title: 'rendered files valid', status: 'ok', detail: `${ctx.engine.kind} accepts ${ctx.outDir}` })
    : check({
        id: 'config',
        title: 'rendered files valid',
        status: 'fail',
        cause: 'config-invalid',
        detail: r.stderr.trim().split('\n').slice(-3).join(' '),
        hint: 'run `wharf render` again; do not edit generated files',
      });
}

/** The engine's data directory on this machine; undefined when the engine keeps its data elsewhere (nodes). */
export async function checkDisk(ctx: OpsContext, runner: Runner): Promise<Check | undefined> {
  const root = await ctx.engine.dataDir(runner);
  if (!root) return undefined;
  try {
    const s = statfsSync(root);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    const pct = total ? (free / total) * 100 : 100;
    const gb = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GB`;
    const status: CheckStatus = free < 512 * 1024 ** 2 || pct < 2 ? 'fail' : free < 2 * 1024 ** 3 || pct < 10 ? 'warn' : 'ok';
    return check({
      id: 'disk',
      title: `disk space for ${root}`,
      status,
      cause: status === 'ok' ? undefined : 'low-disk',
      detail: `${gb(free)} free of ${gb(total)} (${pct.toFixed(0)}%)`,
      hint: status === 'ok' ? undefined : 'free space: `docker system prune`, shorter monitoring.retention, fewer kept backups',
    });
  } catch (e) {
    return check({ id: 'disk', title: `disk space for ${root}`, status: 'warn', detail: `cannot stat ${root}: ${(e as Error).message}` });
  }
}
