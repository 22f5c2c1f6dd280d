// wharf doctor: every check runs, none stops the others; each says ok/warn/fail, what it saw,
// and how to fix it. The CLI maps the result to an exit code.
import { statfsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Component, Plan } from '../plan/model.js';
import { checkResult, type CheckOf, type CheckStatus } from './checks.js';
import { nearest } from '../spec/issues.js';
import { runnerOf, secretValues, type OpsContext } from '../engine/context.js';
import { docker, onHost, resolveScript, tcpConnectScript } from '../engine/docker.js';
import { checkClusterPorts, checkNodeEngines, checkNodes } from './doctor-cluster.js';
import { edgeAddress, edgeRequest } from '../engine/edge.js';
import {
  byService, httpGetInside, lastLogLines, listContainers, listNodes, prometheusApi, prometheusRuleGroups, prometheusTargets,
  type ContainerState,
} from '../engine/live.js';
import type { Runner } from '../engine/run.js';
import type { NodeState } from '../engine/nodes.js';
import { serviceHealth } from './up.js';

export type { CheckStatus } from './checks.js';

/** Machine-readable reason, so callers and tests need not parse prose. */
export type Cause =
  | 'engine-unreachable' | 'compose-missing' | 'config-invalid' | 'port-in-use' | 'not-running'
  | 'not-healthy' | 'missing' | 'wrong-service-name' | 'wrong-port' | 'missing-network' | 'dns-failure'
  | 'unreachable' | 'no-healthy-backend' | 'route-error' | 'metrics-exposed' | 'targets-down' | 'no-rules'
  | 'alertmanager-unreachable' | 'low-disk';

export interface Check extends CheckOf<Cause> {
  /** the service the finding is about, when there is one */
  service?: string;
  /** supporting lines (last logs, down targets...) */
  lines?: string[];
}

export interface DoctorResult {
  project: string;
  ok: boolean;
  running: boolean;
  checks: Check[];
  summary: Record<CheckStatus, number>;
  durationMs: number;
}

export interface DoctorOptions {
  /** which groups to run (default all) */
  only?: Array<'engine' | 'cluster' | 'ports' | 'health' | 'links' | 'routes' | 'monitoring' | 'disk'>;
  onCheck?: (c: Check) => void;
}

const check = (c: Omit<Check, 'ok'>): Check => checkResult(c);

export async function doctor(ctx: OpsContext, opts: DoctorOptions = {}): Promise<DoctorResult> {
  const runner = runnerOf(ctx);
  const started = performance.now();
  const checks: Check[] = [];
  const add = (c: Check) => { checks.push(c); opts.onCheck?.(c); };
  const want = (g: NonNullable<DoctorOptions['only']>[number]) => !opts.only || opts.only.includes(g);
  const masks = secretValues(ctx.secretsDir);

  let engineUp = true;
  if (want('engine')) {
    const e = await checkEngine(runner, ctx.engine.dockerHost);
    engineUp = e.status !== 'fail';
    add(e);
    add(await checkTool(ctx, runner));
    if (engineUp) add(await checkConfig(ctx, runner));
  }
  let containers: ContainerState[] = [];
  const nodes = engineUp ? await listNodes(ctx.engine, runner).catch(() => []) : [];
  if (want('cluster') && nodes.length) {
    for (const c of checkNodes(nodes)) add(c);
    for (const c of await checkNodeEngines(nodes, runner)) add(c);
  }
  if (engineUp) containers = await listContainers(ctx.engine, runner, nodes).catch(() => []);
  const running = containers.some((c) => c.state === 'running');

  // Ports of a multi-node target are bound on each node, not on this machine.
  if (want('ports') && !ctx.engine.multiNode) for (const c of await checkPorts(ctx.plan, containers)) add(c);

  if (engineUp && !running) {
    add(check({ id: 'stack', title: `stack ${ctx.engine.project} running`, status: 'warn', cause: 'not-running', detail: 'no container of this stack is running: live checks skipped', hint: 'run `wharf up`' }));
  }
  if (engineUp && running) {
    if (want('health')) for (const c of await checkHealth(ctx.plan, containers, runner, masks, nodes)) add(c);
    if (want('links')) for (const c of await checkLinks(ctx, containers, runner)) add(c);
    if (want('cluster') && nodes.length) for (const c of await checkClusterPorts(ctx, nodes, containers, runner)) add(c);
    // On several nodes the edge answers on each node's address: the routes are checked through the first ready one.
    const edgeAt = nodes.find((n) => n.state === 'ready' && containers.some((c) => c.node === n.hostname && c.service === ctx.plan.proxy.component && c.state === 'running'))?.addr;
    if (want('routes')) for (const c of await checkRoutes(ctx.plan, containers, edgeAt)) add(c);
    if (want('monitoring') && ctx.plan.monitoring.enabled) for (const c of await checkMonitoring(ctx.plan, containers, runner)) add(c);
  }
  if (want('disk') && engineUp && !ctx.engine.multiNode) add(await checkDisk(runner));

  const summary: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  return { project: ctx.engine.project, ok: summary.fail === 0, running, checks, summary, durationMs: Math.round(performance.now() - started) };
}

// ---------------------------------------------------------------- engine

async function checkEngine(runner: Runner, host: string | undefined): Promise<Check> {
  const r = await runner(onHost(docker.version(), host), { reject: false }).catch((e: Error) => ({ exitCode: 1, stdout: '', stderr: e.message }));
  if (r.exitCode !== 0) {
    return check({ id: 'engine', title: 'Docker Engine reachable', status: 'fail', cause: 'engine-unreachable', detail: (r.stderr || 'docker did not answer').trim().split('\n').slice(-2).join(' '), hint: 'start dockerd (scripts/docker/ensure-engine.sh) or check DOCKER_HOST and your permissions on /var/run/docker.sock' });
  }
  try {
    const v = JSON.parse(r.stdout) as { Client?: { Version?: string }; Server?: { Version?: string; ApiVersion?: string } };
    return check({ id: 'engine', title: 'Docker Engine reachable', status: 'ok', detail: `server ${v.Server?.Version ?? '?'} (API ${v.Server?.ApiVersion ?? '?'}), client ${v.Client?.Version ?? '?'}` });
  } catch {
    return check({ id: 'engine', title: 'Docker Engine reachable', status: 'ok', detail: 'answering' });
  }
}

async function checkTool(ctx: OpsContext, runner: Runner): Promise<Check> {
  const t = ctx.engine.tool();
  const r = await runner(t.cmd, { reject: false }).catch(() => undefined);
  if (!r || r.exitCode !== 0) return check({ id: t.id, title: t.title, status: 'fail', cause: 'compose-missing', detail: `${t.cmd.argv.join(' ')} failed${r ? `: ${(r.stderr || r.stdout).trim().split('\n').pop()}` : ''}`, hint: t.missing });
  try {
    const j = t.judge(r.stdout);
    return check({ id: t.id, title: t.title, ...j });
  } catch (e) {
    return check({ id: t.id, title: t.title, status: 'warn', detail: `unexpected answer: ${(e as Error).message}` });
  }
}

async function checkConfig(ctx: OpsContext, runner: Runner): Promise<Check> {
  const r = await runner(ctx.engine.validate(), { reject: false }).catch((e: Error) => ({ exitCode: 1, stdout: '', stderr: e.message }));
  return r.exitCode === 0
    ? check({ id: 'config', title: 'rendered files valid', status: 'ok', detail: `${ctx.engine.kind} accepts ${ctx.outDir}` })
    : check({ id: 'config', title: 'rendered files valid', status: 'fail', cause: 'config-invalid', detail: r.stderr.trim().split('\n').slice(-3).join(' '), hint: 'run `wharf render` again; do not edit generated files' });
}

// ---------------------------------------------------------------- ports

export function portFree(host: string, port: number): Promise<{ free: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ free: false, error: e.code ?? e.message }));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve({ free: true })));
  });
}

async function checkPorts(plan: Plan, containers: ContainerState[]): Promise<Check[]> {
  const out: Check[] = [];
  for (const c of plan.components) {
    for (const p of c.ports) {
      const id = `port:${p.hostIp}:${p.host}`;
      const title = `port ${p.host} on ${p.hostIp} (${c.name})`;
      const ours = containers.find((x) => x.state === 'running' && x.ports.some((b) => b.hostPort === p.host));
      if (ours) {
        const mine = ours.service === c.name;
        out.push(check({ id, title, status: mine ? 'ok' : 'fail', service: c.name, cause: mine ? undefined : 'port-in-use', detail: mine ? `bound by ${ours.name}` : `bound by ${ours.name}, not ${c.name}`, hint: mine ? undefined : 'two services publish the same port: change one in wharf.yaml' }));
        continue;
      }
      const r = await portFree(p.hostIp, p.host);
      if (r.free) out.push(check({ id, title, status: 'ok', service: c.name, detail: 'free' }));
      else if (r.error === 'EACCES') out.push(check({ id, title, status: 'warn', service: c.name, detail: 'cannot test as this user (privileged port); Docker binds it itself' }));
      else out.push(check({ id, title, status: 'fail', service: c.name, cause: 'port-in-use', detail: `in use by another process (${r.error})`, hint: `stop what listens on ${p.hostIp}:${p.host} (ss -ltnp 'sport = :${p.host}') or change proxy.${p.container === 443 ? 'httpsPort' : p.container === 80 ? 'httpPort' : 'stats.port'} in wharf.yaml` }));
    }
  }
  return out;
}

// ---------------------------------------------------------------- health

async function checkHealth(plan: Plan, containers: ContainerState[], runner: Runner, masks: string[], nodes: NodeState[] = []): Promise<Check[]> {
  const live = byService(containers);
  const desired = new Map(serviceHealth(plan, containers, nodes).map((h) => [h.service, h.desired]));
  const out: Check[] = [];
  for (const comp of plan.components) {
    const c = { name: comp.name, replicas: desired.get(comp.name) ?? comp.replicas };
    const all = live.get(c.name) ?? [];
    // A scheduler keeps the stopped containers of replaced tasks as history: only live ones count, unless none is.
    const cs = nodes.length && all.some((x) => x.state === 'running') ? all.filter((x) => x.state === 'running') : all;
    const id = `health:${c.name}`;
    const title = `${c.name} healthy`;
    if (cs.length === 0) {
      out.push(check({ id, title, service: c.name, status: 'fail', cause: 'missing', detail: `no container (want ${c.replicas})`, hint: 'run `wharf up`' }));
      continue;
    }
    const good = cs.filter((x) => x.state === 'running' && (x.health === 'healthy' || x.health === 'none'));
    const bad = cs.filter((x) => !good.includes(x));
    if (good.length >= c.replicas && bad.length === 0) {
      out.push(check({ id, title, service: c.name, status: 'ok', detail: `${good.length}/${c.replicas} healthy` }));
      continue;
    }
    const worst = bad.find((x) => x.health === 'unhealthy') ?? bad.find((x) => x.state !== 'running') ?? bad[0] ?? cs[0]!;
    const logs = await lastLogLines(runner, worst, 15, masks);
    const starting = bad.length > 0 && bad.every((x) => x.state === 'running' && x.health === 'starting');
    out.push(check({
      id, title, service: c.name, status: starting ? 'warn' : 'fail', cause: 'not-healthy',
      detail: `${good.length}/${c.replicas} healthy; ${worst.name} is ${worst.state}${worst.health !== 'none' ? `/${worst.health}` : ''}${worst.restartCount ? `, restarted ${worst.restartCount}x` : ''}${worst.healthLog ? `; healthcheck: ${worst.healthLog.split('\n').slice(-1)[0]}` : ''}`,
      hint: starting ? 'still starting: wait for the start period, then run doctor again' : `read \`wharf logs ${c.name}\`; the last lines are below`,
      lines: logs,
    }));
  }
  return out;
}

// ---------------------------------------------------------------- links (DNS + TCP between services)

export interface Link {
  from: string;
  host: string;
  port: number;
  /** where the link comes from: env var, route or scrape job */
  via: string;
}

const HOSTPORT = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^@/\s]+@)?([A-Za-z][A-Za-z0-9_.-]*):(\d{2,5})(?:[/?#]|$)/;

function isName(h: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_.-]*$/.test(h) && h !== 'localhost' && !/^\d+\.\d+\.\d+\.\d+$/.test(h);
}

/** Links read from a container's live environment: X_HOST (+ X_PORT) pairs and host:port URLs. */
export function linksFromEnv(service: string, env: Record<string, string>, portOf: (host: string) => number | undefined): Link[] {
  const out: Link[] = [];
  for (const [k, v] of Object.entries(env)) {
    const m = /^(.*?)_?HOST$/.exec(k);
    if (m && isName(v) && !k.endsWith('_HOSTNAME')) {
      const pk = m[1] ? `${m[1]}_PORT` : 'PORT';
      const port = Number(env[pk] ?? portOf(v));
      if (port > 0) out.push({ from: service, host: v, port, via: env[pk] ? `${k}=${v}, ${pk}=${env[pk]}` : `${k}=${v}` });
      continue;
    }
    const u = HOSTPORT.exec(v);
    if (u && /(ADDR|URI|URL|DSN)$/.test(k) && isName(u[1]!)) out.push({ from: service, host: u[1]!, port: Number(u[2]), via: `${k}` });
  }
  return out;
}

/** Links the plan implies: the edge to each routed service, Prometheus to each scrape target. */
export function planLinks(plan: Plan): Link[] {
  const out: Link[] = [];
  for (const r of plan.routes) if (r.service !== plan.proxy.component) out.push({ from: plan.proxy.component, host: r.service, port: r.port, via: `route ${r.name} (${r.host})` });
  const prom = plan.components.find((c) => c.role === 'prometheus');
  if (prom && plan.monitoring.enabled) {
    for (const j of plan.monitoring.scrapeJobs) if (j.host !== 'localhost') out.push({ from: prom.name, host: j.host, port: j.port, via: `scrape job ${j.job}` });
    const am = plan.components.find((c) => c.role === 'alertmanager');
    if (am?.port) out.push({ from: prom.name, host: am.name, port: am.port, via: 'alerting' });
  }
  return out;
}

/** The service a wrong name most likely meant: one whose engine or role is that name
 *  ("postgres" -> the postgres database), or whose role the variable names (DB_HOST -> a
 *  database, REDIS_HOST -> a cache), else the nearest name by edit distance. */
export function suggestService(name: string, via: string, comps: Component[], exclude: string): string | undefined {
  const cs = comps.filter((c) => c.name !== exclude);
  const byKind = cs.find((c) => c.engine === name || c.role === name || c.imageKey === name);
  if (byKind) return byKind.name;
  const roleOfVar: Array<[RegExp, string[]]> = [[/^(\w+_)?DB_|DATABASE|PG|POSTGRES|MYSQL/, ['database']], [/REDIS|CACHE/, ['cache']], [/ALERTMANAGER/, ['alertmanager']], [/PROMETHEUS/, ['prometheus']]];
  for (const [re, roles] of roleOfVar) {
    if (!re.test(via)) continue;
    const m = cs.filter((c) => roles.includes(c.role));
    if (m.length === 1) return m[0]!.name;
    if (m.length > 1) return nearest(name, m.map((c) => c.name));
  }
  return nearest(name, cs.map((c) => c.name));
}

async function pool<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) { const k = i++; out[k] = await f(items[k]!); }
  }));
  return out;
}

async function checkLinks(ctx: OpsContext, containers: ContainerState[], runner: Runner): Promise<Check[]> {
  const plan = ctx.plan;
  const live = byService(containers);
  const comp = new Map(plan.components.map((c) => [c.name, c]));
  const portOf = (h: string) => comp.get(h)?.port;
  const links: Link[] = [];
  for (const c of plan.components) {
    // A crash-looping client still has its configuration: read it from any of its containers.
    const cs = live.get(c.name) ?? [];
    const first = cs.find((x) => x.state === 'running') ?? cs[0];
    if (first) links.push(...linksFromEnv(c.name, first.env, portOf));
  }
  links.push(...planLinks(plan));
  const seen = new Set<string>();
  const unique = links.filter((l) => { const k = `${l.from}>${l.host}:${l.port}`; if (seen.has(k)) return false; seen.add(k); return true; });
  const services = [...new Set([...plan.components.map((c) => c.name), ...live.keys()])].filter(Boolean).sort();
  return pool(unique, 6, (l) => checkLink(l, live, services, comp, runner, ctx));
}

async function checkLink(l: Link, live: Map<string, ContainerState[]>, services: string[], comp: Map<string, Component>, runner: Runner, ctx: OpsContext): Promise<Check> {
  const id = `link:${l.from}->${l.host}:${l.port}`;
  const title = `${l.from} reaches ${l.host}:${l.port}`;
  const netsOf = (cs: ContainerState[]) => [...new Set(cs.flatMap((c) => c.networks.map((n) => n.name)))].sort();
  const short = (n: string) => n.startsWith(`${ctx.engine.project}_`) ? n.slice(ctx.engine.project.length + 1) : n;
  const all = live.get(l.from) ?? [];
  const from = all.find((x) => x.state === 'running');
  if (!from) {
    // Nothing to exec into: judge from configuration alone (names, networks, ports), and say so.
    const any = all[0];
    if (!any) return check({ id, title, service: l.from, status: 'skip', detail: `${l.from} has no container` });
    const target = live.get(l.host) ?? [];
    const note = ` (${l.from} is not running, so this is read from configuration, not probed)`;
    if (target.length === 0 && !comp.has(l.host)) {
      const guess = suggestService(l.host, l.via, [...comp.values()], l.from);
      return check({ id, title, service: l.from, status: 'fail', cause: 'wrong-service-name', detail: `wrong service name: ${l.from} is configured to reach "${l.host}" (${l.via}), but the stack has no service "${l.host}"${note}`, hint: guess ? `did you mean "${guess}"?` : `use one of: ${services.join(', ')}` });
    }
    const fromNets = netsOf([any]);
    const toNets = target.length ? netsOf(target) : comp.get(l.host)?.networks.map((n) => ctx.engine.networkName(n)) ?? [];
    if (!fromNets.some((n) => toNets.includes(n))) {
      return check({ id, title, service: l.from, status: 'fail', cause: 'missing-network', detail: `missing network: ${l.from} is not attached to any network ${l.host} is on (${l.from}: ${fromNets.map(short).join(', ') || 'none'}; ${l.host}: ${toNets.map(short).join(', ')})${note}`, hint: `attach ${l.from} to ${toNets.map(short)[0] ?? 'its network'}` });
    }
    const expected = comp.get(l.host)?.port;
    if (expected && expected !== l.port && l.via.includes('PORT')) {
      return check({ id, title, service: l.from, status: 'fail', cause: 'wrong-port', detail: `wrong port: ${l.from} is configured for ${l.host}:${l.port} (${l.via}) but ${l.host} listens on ${expected}${note}`, hint: `set the port to ${expected}` });
    }
    return check({ id, title, service: l.from, status: 'skip', detail: `${l.from} is not running; its configuration for ${l.host}:${l.port} looks right` });
  }

  const res = await runner(docker.exec(from, resolveScript(l.host), `resolve ${l.host} in ${from.name}`), { reject: false });
  if (res.exitCode !== 0 || !res.stdout.trim()) {
    const target = live.get(l.host) ?? [];
    if (res.exitCode === 127) return check({ id, title, service: l.from, status: 'skip', detail: res.stderr.trim() });
    if (target.length > 0 || comp.has(l.host)) {
      const fromNets = netsOf([from]);
      const toNets = netsOf(target);
      const planNets = comp.get(l.host)?.networks.map((n) => ctx.engine.networkName(n)) ?? [];
      const wanted = toNets.length ? toNets : planNets;
      const shared = fromNets.filter((n) => wanted.includes(n));
      if (shared.length === 0) {
        const need = wanted.map(short);
        return check({
          id, title, service: l.from, status: 'fail', cause: 'missing-network',
          detail: `missing network: ${l.from} is not attached to any network ${l.host} is on (${l.from}: ${fromNets.map(short).join(', ') || 'none'}; ${l.host}: ${need.join(', ') || 'none'}), so "${l.host}" does not resolve (${l.via})`,
          hint: `attach ${l.from} to ${need[0] ?? 'the network of ' + l.host} (in wharf.yaml, \`uses: [${l.host}]\` on ${l.from} does it), then \`wharf render && wharf up\``,
        });
      }
      if (target.length === 0 || !target.some((t) => t.state === 'running')) {
        return check({ id, title, service: l.from, status: 'fail', cause: 'unreachable', detail: `${l.host} has no running container, so "${l.host}" does not resolve (${l.via})`, hint: `start it: \`wharf up\`, then check \`wharf logs ${l.host}\`` });
      }
      return check({ id, title, service: l.from, status: 'fail', cause: 'dns-failure', detail: `"${l.host}" does not resolve in ${from.name} although both are on ${shared.map(short).join(', ')} (${l.via})`, hint: 'recreate the containers: `wharf down && wharf up`' });
    }
    const guess = suggestService(l.host, l.via, [...comp.values()], l.from) ?? nearest(l.host, services.filter((s) => s !== l.from));
    return check({
      id, title, service: l.from, status: 'fail', cause: 'wrong-service-name',
      detail: `wrong service name: ${l.from} is configured to reach "${l.host}" (${l.via}), but the stack has no service "${l.host}" (services: ${services.join(', ')})`,
      hint: guess ? `did you mean "${guess}"? fix the host in ${l.from}'s configuration` : `use one of: ${services.join(', ')}`,
    });
  }
  const ips = res.stdout.trim().split('\n').map((x) => x.trim().split(/\s+/)[0]).filter(Boolean);
  const tcp = await runner(docker.exec(from, tcpConnectScript(l.host, l.port), `connect ${l.host}:${l.port} from ${from.name}`, 20_000), { reject: false });
  if (tcp.exitCode === 0) return check({ id, title, service: l.from, status: 'ok', detail: `${l.host} -> ${ips.join(', ')}; port ${l.port} open (${l.via})` });
  if (tcp.exitCode === 127) return check({ id, title, service: l.from, status: 'skip', detail: tcp.stderr.trim() });
  const err = `${tcp.stderr}${tcp.stdout}`.trim().split('\n').slice(-1)[0] ?? '';
  const refused = /refused|ECONNREFUSED/i.test(err);
  const expected = comp.get(l.host)?.port;
  if (refused && expected && expected !== l.port) {
    return check({
      id, title, service: l.from, status: 'fail', cause: 'wrong-port',
      detail: `wrong port: ${l.host} resolves (${ips.join(', ')}) but refuses connections on port ${l.port} (${l.via}); ${l.host} listens on ${expected}`,
      hint: `set the port to ${expected} in ${l.from}'s configuration`,
    });
  }
  if (refused) {
    return check({ id, title, service: l.from, status: 'fail', cause: 'wrong-port', detail: `${l.host} resolves (${ips.join(', ')}) but nothing listens on port ${l.port} (${l.via})`, hint: `check the port ${l.host} listens on and \`wharf logs ${l.host}\`` });
  }
  return check({ id, title, service: l.from, status: 'fail', cause: 'unreachable', detail: `${l.host} resolves (${ips.join(', ')}) but port ${l.port} does not answer: ${err || `exit ${tcp.exitCode}`} (${l.via})`, hint: `check that ${l.host} is healthy (\`wharf logs ${l.host}\`)` });
}

// ---------------------------------------------------------------- routes through the edge

async function checkRoutes(plan: Plan, containers: ContainerState[], address = plan.proxy.bind): Promise<Check[]> {
  const out: Check[] = [];
  const edgeRunning = containers.some((c) => c.service === plan.proxy.component && c.state === 'running');
  const live = byService(containers);
  for (const r of plan.routes) {
    const id = `route:${r.name}`;
    const title = `https://${r.host}${r.path} reaches ${r.service}`;
    if (!edgeRunning) { out.push(check({ id, title, service: r.service, status: 'fail', cause: 'unreachable', detail: 'the edge proxy is not running', hint: 'wharf up' })); continue; }
    const path = r.healthPath ?? r.path;
    try {
      const res = await edgeRequest({ host: r.host, path, port: plan.proxy.httpsPort, address });
      const backends = live.get(r.service) ?? [];
      const healthy = backends.filter((b) => b.state === 'running' && (b.health === 'healthy' || b.health === 'none')).length;
      if (r.auth && res.status === 401) out.push(check({ id, title, service: r.service, status: 'ok', detail: `401 without credentials (protected), ${res.ms} ms` }));
      else if (res.status >= 500) {
        out.push(check({ id, title, service: r.service, status: 'fail', cause: res.status === 503 ? 'no-healthy-backend' : 'route-error', detail: `GET ${path} -> ${res.status} through the edge; ${r.service}: ${healthy}/${r.replicas} healthy`, hint: healthy === 0 ? `${r.service} has no healthy replica: see its health check above` : `the edge cannot reach ${r.service}:${r.port}: see the link checks above` }));
      } else if (res.status >= 400 && res.status !== 404) {
        out.push(check({ id, title, service: r.service, status: 'warn', cause: 'route-error', detail: `GET ${path} -> ${res.status}` }));
      } else {
        out.push(check({ id, title, service: r.service, status: 'ok', detail: `GET ${path} -> ${res.status} in ${res.ms} ms${res.headers['x-instance'] ? ` from ${String(res.headers['x-instance'])}` : ''}` }));
      }
      for (const deny of r.denyPaths) {
        const d = await edgeRequest({ host: r.host, path: deny, port: plan.proxy.httpsPort, address });
        const blocked = d.status === 403 || d.status === 404;
        out.push(check({ id: `route-deny:${r.name}:${deny}`, title: `${deny} not public on ${r.host}`, service: r.service, status: blocked ? 'ok' : 'fail', cause: blocked ? undefined : 'metrics-exposed', detail: `GET ${deny} through the edge -> ${d.status}`, hint: blocked ? undefined : 'the edge must refuse metrics paths: re-render the proxy config' }));
      }
    } catch (e) {
      const healthy = (live.get(r.service) ?? []).filter((b) => b.state === 'running' && (b.health === 'healthy' || b.health === 'none')).length;
      const where = `https://${edgeAddress(address)}:${plan.proxy.httpsPort}, Host: ${r.host}`;
      out.push(healthy === 0
        ? check({ id, title, service: r.service, status: 'fail', cause: 'no-healthy-backend', detail: `GET ${path}: ${(e as Error).message} (${where}); ${r.service}: 0/${r.replicas} healthy`, hint: `${r.service} has no healthy replica: see its health check above` })
        : check({ id, title, service: r.service, status: 'fail', cause: 'unreachable', detail: `GET ${path}: ${(e as Error).message} (${where})`, hint: 'is the edge port published? see the port checks' }));
    }
  }
  return out;
}

// ---------------------------------------------------------------- monitoring

async function checkMonitoring(plan: Plan, containers: ContainerState[], runner: Runner): Promise<Check[]> {
  const out: Check[] = [];
  const running = (role: string) => {
    const comp = plan.components.find((c) => c.role === role);
    return comp ? containers.find((c) => c.service === comp.name && c.state === 'running') : undefined;
  };
  const prom = running('prometheus');
  if (!prom) {
    out.push(check({ id: 'prometheus-targets', title: 'Prometheus targets up', status: 'fail', cause: 'unreachable', detail: 'Prometheus is not running', hint: 'wharf up' }));
  } else {
    try {
      const targets = await prometheusTargets(runner, prom);
      const down = targets.filter((t) => t.health !== 'up');
      const jobs = new Set(targets.map((t) => t.job));
      const missingJobs = plan.monitoring.scrapeJobs.map((j) => j.job).filter((j) => !jobs.has(j));
      const status: CheckStatus = down.length || missingJobs.length ? (down.some((t) => t.health === 'down') || missingJobs.length ? 'fail' : 'warn') : 'ok';
      out.push(check({
        id: 'prometheus-targets', title: 'Prometheus targets up', status, cause: status === 'ok' ? undefined : 'targets-down',
        detail: `${targets.length - down.length}/${targets.length} up${missingJobs.length ? `; jobs with no target: ${missingJobs.join(', ')}` : ''}`,
        hint: status === 'ok' ? undefined : 'a target is down when its service is unhealthy or not on the monitoring network: see the link checks',
        lines: down.map((t) => `${t.job} ${t.instance}: ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`),
      }));
    } catch (e) {
      out.push(check({ id: 'prometheus-targets', title: 'Prometheus targets up', status: 'fail', cause: 'unreachable', detail: (e as Error).message }));
    }
    try {
      const groups = await prometheusRuleGroups(runner, prom);
      const rules = groups.reduce((n, g) => n + g.rules, 0);
      out.push(check({ id: 'prometheus-rules', title: 'alert rules loaded', status: rules > 0 ? 'ok' : 'fail', cause: rules > 0 ? undefined : 'no-rules', detail: `${rules} rules in ${groups.length} groups`, hint: rules > 0 ? undefined : 'check the rule_files of prometheus.yml and `promtool check config`' }));
    } catch (e) {
      out.push(check({ id: 'prometheus-rules', title: 'alert rules loaded', status: 'fail', cause: 'unreachable', detail: (e as Error).message }));
    }
  }
  const amComp = plan.components.find((c) => c.role === 'alertmanager');
  if (amComp) {
    const am = running('alertmanager');
    if (!am) out.push(check({ id: 'alertmanager', title: 'Alertmanager reachable', status: 'fail', cause: 'alertmanager-unreachable', service: amComp.name, detail: 'Alertmanager is not running', hint: 'wharf up' }));
    else {
      const ready = await httpGetInside(runner, am, `http://127.0.0.1:${amComp.port ?? 9093}/-/ready`);
      let seen = 'not checked';
      let seenOk = true;
      if (prom) {
        try {
          const d = await prometheusApi<{ activeAlertmanagers: Array<{ url: string }> }>(runner, prom, '/api/v1/alertmanagers');
          seenOk = d.activeAlertmanagers.length > 0;
          seen = seenOk ? `Prometheus sends to ${d.activeAlertmanagers.map((a) => a.url).join(', ')}` : 'Prometheus has no active Alertmanager';
        } catch (e) { seenOk = false; seen = (e as Error).message; }
      }
      const ok = ready.ok && seenOk;
      out.push(check({ id: 'alertmanager', title: 'Alertmanager reachable', service: amComp.name, status: ok ? 'ok' : 'fail', cause: ok ? undefined : 'alertmanager-unreachable', detail: `${ready.ok ? 'ready' : `not ready: ${ready.error}`}; ${seen}`, hint: ok ? undefined : 'check the alerting section of prometheus.yml and that both are on the monitoring network' }));
    }
  }
  return out;
}

// ---------------------------------------------------------------- disk

async function checkDisk(runner: Runner): Promise<Check> {
  let root = '/var/lib/docker';
  const r = await runner(docker.info(), { reject: false }).catch(() => undefined);
  if (r && r.exitCode === 0) { try { root = (JSON.parse(r.stdout) as { DockerRootDir?: string }).DockerRootDir ?? root; } catch { /* keep default */ } }
  try {
    const s = statfsSync(root);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    const pct = total ? (free / total) * 100 : 100;
    const gb = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GB`;
    const status: CheckStatus = free < 512 * 1024 ** 2 || pct < 2 ? 'fail' : free < 2 * 1024 ** 3 || pct < 10 ? 'warn' : 'ok';
    return check({ id: 'disk', title: `disk space for ${root}`, status, cause: status === 'ok' ? undefined : 'low-disk', detail: `${gb(free)} free of ${gb(total)} (${pct.toFixed(0)}%)`, hint: status === 'ok' ? undefined : 'free space: `docker system prune`, shorter monitoring.retention, fewer kept backups' });
  } catch (e) {
    return check({ id: 'disk', title: `disk space for ${root}`, status: 'warn', detail: `cannot stat ${root}: ${(e as Error).message}` });
  }
}
