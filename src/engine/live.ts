// Live state of a deployed project, read through `docker ps` / `docker inspect`.
import { httpGetScript, type ContainerRef } from './docker.js';
import type { Cmd } from './command.js';
import type { Runner } from './run.js';
import { byCodeUnit } from '../plan/sort.js';
import { OperationError } from '../errors.js';

export type Health = 'healthy' | 'unhealthy' | 'starting' | 'none';

export interface ContainerState {
  id: string;
  name: string;
  service: string;
  /** created | running | restarting | exited | paused | dead */
  state: string;
  health: Health;
  /** last healthcheck output when it failed */
  healthLog?: string;
  startedAt: string;
  restartCount: number;
  exitCode: number;
  image: string;
  imageId: string;
  /** engine network names (e.g. shop_backend) with the aliases the container answers to */
  networks: Array<{ name: string; aliases: string[]; ip: string }>;
  env: Record<string, string>;
  labels: Record<string, string>;
  /** published ports: container port/proto -> host bindings */
  ports: Array<{ container: string; hostIp: string; hostPort: number }>;
  /** DOCKER_HOST of the engine running it (multi-node targets); undefined: the environment's */
  host?: string;
  /** the node it runs on (multi-node targets) */
  node?: string;
  /** the definition it runs (compose: its config hash; swarm: its image ID) */
  revision?: string;
}

interface InspectJson {
  Id: string;
  Name: string;
  Image: string;
  RestartCount?: number;
  State: {
    Status: string;
    StartedAt: string;
    ExitCode: number;
    Health?: { Status: string; Log?: Array<{ ExitCode: number; Output: string }> };
  };
  Config: { Image: string; Env?: string[] | null; Labels?: Record<string, string> | null };
  NetworkSettings: {
    Networks?: Record<string, { Aliases?: string[] | null; IPAddress?: string; DNSNames?: string[] | null }> | null;
    Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null;
  };
}

export function parseInspect(
  json: string,
  engine: { serviceOf(labels: Record<string, string>): string | undefined },
  where: { host?: string; node?: string } = {},
): ContainerState[] {
  const raw = JSON.parse(json) as InspectJson[];
  return raw
    .map((c) => {
      const labels = c.Config.Labels ?? {};
      const env: Record<string, string> = {};
      for (const e of c.Config.Env ?? []) {
        const i = e.indexOf('=');
        if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
      }
      const h = c.State.Health;
      const last = h?.Log?.[h.Log.length - 1];
      return {
        id: c.Id,
        name: c.Name.replace(/^\//, ''),
        service: engine.serviceOf(labels) ?? '',
        state: c.State.Status,
        health: (h ? h.Status : 'none') as Health,
        // a check that fails silently (curl -f, a script's exit 1) still says how it failed
        healthLog: last && last.ExitCode !== 0 ? last.Output.trim().slice(-500) || `exit code ${last.ExitCode}, no output` : undefined,
        startedAt: c.State.StartedAt,
        restartCount: c.RestartCount ?? 0,
        exitCode: c.State.ExitCode,
        image: c.Config.Image,
        imageId: c.Image,
        networks: Object.entries(c.NetworkSettings.Networks ?? {})
          .map(([name, n]) => ({
            name,
            aliases: [...new Set([...(n.Aliases ?? []), ...(n.DNSNames ?? [])])],
            ip: n.IPAddress ?? '',
          }))
          .sort((a, b) => byCodeUnit(a.name, b.name)),
        env,
        labels,
        ports: Object.entries(c.NetworkSettings.Ports ?? {}).flatMap(([container, binds]) =>
          (binds ?? []).map((b) => ({ container, hostIp: b.HostIp, hostPort: Number(b.HostPort) })),
        ),
        ...(where.host ? { host: where.host } : {}),
        ...(where.node ? { node: where.node } : {}),
      };
    })
    .sort((a, b) => byCodeUnit(a.service, b.service) || byCodeUnit(a.name, b.name) || byCodeUnit(a.node ?? '', b.node ?? ''));
}

/** Every container of the project, from one read of the live state (tests and tools). */
export async function listContainers(
  engine: { liveState(runner: Runner): Promise<{ containers: ContainerState[] }> },
  runner: Runner,
): Promise<ContainerState[]> {
  return (await engine.liveState(runner)).containers;
}

export function byService(cs: ContainerState[]): Map<string, ContainerState[]> {
  const m = new Map<string, ContainerState[]>();
  for (const c of cs) {
    const l = m.get(c.service) ?? [];
    l.push(c);
    m.set(c.service, l);
  }
  return m;
}

/** Last log lines of a container (stdout and stderr together), for error messages. */
export async function lastLogLines(
  engine: { replicaLogs(c: ContainerRef, tail: number): Cmd },
  runner: Runner,
  container: ContainerRef,
  tail = 20,
  redactList: string[] = [],
): Promise<string[]> {
  const c = engine.replicaLogs(container, tail);
  const r = await runner({ ...c, redact: redactList }, { reject: false });
  return `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-tail);
}

/** GET an HTTP API from inside a container (Prometheus and Alertmanager are never published). */
/** an engine that runs a command inside a container (Engine.exec) */
export interface Inside {
  exec(c: ContainerRef, argv: string[], describe: string, timeoutMs?: number): Cmd;
}

export async function httpGetInside(
  engine: Inside,
  runner: Runner,
  container: ContainerRef,
  url: string,
): Promise<{ ok: boolean; body: string; error?: string }> {
  const r = await runner(engine.exec(container, httpGetScript(url), `GET ${url} inside ${container.name ?? container.id}`), {
    reject: false,
  });
  if (r.exitCode === 0) return { ok: true, body: r.stdout };
  return { ok: false, body: r.stdout, error: (r.stderr || r.stdout || `exit ${r.exitCode}`).trim().split('\n').slice(-3).join(' ') };
}

export interface PromTarget {
  job: string;
  instance: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  scrapeUrl: string;
}

export async function prometheusApi<T>(engine: Inside, runner: Runner, container: ContainerRef, path: string): Promise<T> {
  const r = await httpGetInside(engine, runner, container, `http://127.0.0.1:9090${path}`);
  if (!r.ok) throw new OperationError(`Prometheus API ${path} unreachable in ${container.name ?? container.id}: ${r.error}`);
  const j = JSON.parse(r.body) as { status: string; data: T; error?: string };
  if (j.status !== 'success') throw new OperationError(`Prometheus API ${path}: ${j.error ?? j.status}`);
  return j.data;
}

export async function prometheusTargets(engine: Inside, runner: Runner, container: ContainerRef): Promise<PromTarget[]> {
  const data = await prometheusApi<{
    activeTargets: Array<{ labels: Record<string, string>; scrapePool: string; health: string; lastError: string; scrapeUrl: string }>;
  }>(engine, runner, container, '/api/v1/targets?state=active');
  return data.activeTargets
    .map((t) => ({
      job: t.labels.job ?? t.scrapePool,
      instance: t.labels.instance ?? '',
      health: (t.health as PromTarget['health']) ?? 'unknown',
      lastError: t.lastError,
      scrapeUrl: t.scrapeUrl,
    }))
    .sort((a, b) => byCodeUnit(a.job, b.job) || byCodeUnit(a.instance, b.instance));
}

export interface PromAlert {
  name: string;
  state: string;
  severity: string;
  labels: Record<string, string>;
  activeAt?: string;
}

export async function prometheusAlerts(engine: Inside, runner: Runner, container: ContainerRef): Promise<PromAlert[]> {
  const data = await prometheusApi<{ alerts: Array<{ labels: Record<string, string>; state: string; activeAt?: string }> }>(
    engine,
    runner,
    container,
    '/api/v1/alerts',
  );
  return data.alerts.map((a) => ({
    name: a.labels.alertname ?? '?',
    state: a.state,
    severity: a.labels.severity ?? '',
    labels: a.labels,
    activeAt: a.activeAt,
  }));
}

export async function prometheusRuleGroups(
  engine: Inside,
  runner: Runner,
  container: ContainerRef,
): Promise<Array<{ name: string; file: string; rules: number }>> {
  const data = await prometheusApi<{ groups: Array<{ name: string; file: string; rules: unknown[] }> }>(
    engine,
    runner,
    container,
    '/api/v1/rules',
  );
  return data.groups.map((g) => ({ name: g.name, file: g.file, rules: g.rules.length }));
}
