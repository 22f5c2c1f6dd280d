// doctor: every link a service is configured with (its environment) or the plan implies (routes,
// scrape jobs) resolves and connects from inside the client, probed in parallel; a failing one
// is named by cause (wrong name, missing network, wrong port, nothing listening).
import pLimit from 'p-limit';
import type { OpsContext } from '../../engine/context.js';
import { resolveScript, tcpConnectScript } from '../../engine/docker.js';
import { byService, type ContainerState } from '../../engine/live.js';
import type { Runner } from '../../engine/run.js';
import type { Component, Plan } from '../../plan/model.js';
import { nearest } from '../../spec/issues.js';
import { kernelHasIpsec } from '../health.js';
import { check, type Check } from './check.js';

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
  for (const r of plan.routes)
    if (r.service !== plan.proxy.component)
      out.push({ from: plan.proxy.component, host: r.service, port: r.port, via: `route ${r.name} (${r.host})` });
  const prom = plan.components.find((c) => c.role === 'prometheus');
  if (prom && plan.monitoring.enabled) {
    for (const j of plan.monitoring.scrapeJobs)
      if (j.host !== 'localhost') out.push({ from: prom.name, host: j.host, port: j.port, via: `scrape job ${j.job}` });
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
  const roleOfVar: Array<[RegExp, string[]]> = [
    [/^(\w+_)?DB_|DATABASE|PG|POSTGRES|MYSQL/, ['database']],
    [/REDIS|CACHE/, ['cache']],
    [/ALERTMANAGER/, ['alertmanager']],
    [/PROMETHEUS/, ['prometheus']],
  ];
  for (const [re, roles] of roleOfVar) {
    if (!re.test(via)) continue;
    const m = cs.filter((c) => roles.includes(c.role));
    if (m.length === 1) return m[0]!.name;
    if (m.length > 1)
      return nearest(
        name,
        m.map((c) => c.name),
      );
  }
  return nearest(
    name,
    cs.map((c) => c.name),
  );
}

export async function checkLinks(ctx: OpsContext, containers: ContainerState[], runner: Runner): Promise<Check[]> {
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
  const unique = links.filter((l) => {
    const k = `${l.from}>${l.host}:${l.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const services = [...new Set([...plan.components.map((c) => c.name), ...live.keys()])].filter(Boolean).sort();
  const limit = pLimit(6);
  return Promise.all(unique.map((l) => limit(() => checkLink(l, live, services, comp, runner, ctx))));
}

async function checkLink(
  l: Link,
  live: Map<string, ContainerState[]>,
  services: string[],
  comp: Map<string, Component>,
  runner: Runner,
  ctx: OpsContext,
): Promise<Check> {
  const id = `link:${l.from}->${l.host}:${l.port}`;
  const title = `${l.from} reaches ${l.host}:${l.port}`;
  const netsOf = (cs: ContainerState[]) => [...new Set(cs.flatMap((c) => c.networks.map((n) => n.name)))].sort();
  const short = (n: string) => (n.startsWith(`${ctx.engine.project}_`) ? n.slice(ctx.engine.project.length + 1) : n);
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
      return check({
        id,
        title,
        service: l.from,
        status: 'fail',
        cause: 'wrong-service-name',
        detail: `wrong service name: ${l.from} is configured to reach "${l.host}" (${l.via}), but the stack has no service "${l.host}"${note}`,
        hint: guess ? `did you mean "${guess}"?` : `use one of: ${services.join(', ')}`,
      });
    }
    const fromNets = netsOf([any]);
    const toNets = target.length ? netsOf(target) : (comp.get(l.host)?.networks.map((n) => ctx.engine.networkName(n)) ?? []);
    if (!fromNets.some((n) => toNets.includes(n))) {
      return check({
        id,
        title,
        service: l.from,
        status: 'fail',
        cause: 'missing-network',
        detail:
          `missing network: ${l.from} is not attached to any network ${l.host} is on ` +
          `(${l.from}: ${fromNets.map(short).join(', ') || 'none'}; ${l.host}: ${toNets.map(short).join(', ')})${note}`,
        hint: `attach ${l.from} to ${toNets.map(short)[0] ?? 'its network'}`,
      });
    }
    const expected = comp.get(l.host)?.port;
    if (expected && expected !== l.port && l.via.includes('PORT')) {
      return check({
        id,
        title,
        service: l.from,
        status: 'fail',
        cause: 'wrong-port',
        detail: `wrong port: ${l.from} is configured for ${l.host}:${l.port} (${l.via}) but ${l.host} listens on ${expected}${note}`,
        hint: `set the port to ${expected}`,
      });
    }
    return check({
      id,
      title,
      service: l.from,
      status: 'skip',
      detail: `${l.from} is not running; its configuration for ${l.host}:${l.port} looks right`,
    });
  }

  const res = await runner(ctx.engine.exec(from, resolveScript(l.host), `resolve ${l.host} in ${from.name}`), { reject: false });
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
          id,
          title,
          service: l.from,
          status: 'fail',
          cause: 'missing-network',
          detail:
            `missing network: ${l.from} is not attached to any network ${l.host} is on ` +
            `(${l.from}: ${fromNets.map(short).join(', ') || 'none'}; ${l.host}: ${need.join(', ') || 'none'}), so "${l.host}" does not resolve (${l.via})`,
          hint:
            `attach ${l.from} to ${need[0] ?? 'the network of ' + l.host} ` +
            `(in wharf.yaml, \`uses: [${l.host}]\` on ${l.from} does it), then \`wharf render && wharf up\``,
        });
      }
      if (target.length === 0 || !target.some((t) => t.state === 'running')) {
        return check({
          id,
          title,
          service: l.from,
          status: 'fail',
          cause: 'unreachable',
          detail: `${l.host} has no running container, so "${l.host}" does not resolve (${l.via})`,
          hint: `start it: \`wharf up\`, then check \`wharf logs ${l.host}\``,
        });
      }
      return check({
        id,
        title,
        service: l.from,
        status: 'fail',
        cause: 'dns-failure',
        detail: `"${l.host}" does not resolve in ${from.name} although both are on ${shared.map(short).join(', ')} (${l.via})`,
        hint: 'recreate the containers: `wharf down && wharf up`',
      });
    }
    const guess =
      suggestService(l.host, l.via, [...comp.values()], l.from) ??
      nearest(
        l.host,
        services.filter((s) => s !== l.from),
      );
    return check({
      id,
      title,
      service: l.from,
      status: 'fail',
      cause: 'wrong-service-name',
      detail:
        `wrong service name: ${l.from} is configured to reach "${l.host}" (${l.via}), ` +
        `but the stack has no service "${l.host}" (services: ${services.join(', ')})`,
      hint: guess ? `did you mean "${guess}"? fix the host in ${l.from}'s configuration` : `use one of: ${services.join(', ')}`,
    });
  }
  const ips = res.stdout
    .trim()
    .split('\n')
    .map((x) => x.trim().split(/\s+/)[0])
    .filter(Boolean);
  const tcp = await runner(
    ctx.engine.exec(from, tcpConnectScript(l.host, l.port), `connect ${l.host}:${l.port} from ${from.name}`, 20_000),
    { reject: false },
  );
  if (tcp.exitCode === 0)
    return check({ id, title, service: l.from, status: 'ok', detail: `${l.host} -> ${ips.join(', ')}; port ${l.port} open (${l.via})` });
  if (tcp.exitCode === 127) return check({ id, title, service: l.from, status: 'skip', detail: tcp.stderr.trim() });
  const err = `${tcp.stderr}${tcp.stdout}`.trim().split('\n').slice(-1)[0] ?? '';
  const refused = /refused|ECONNREFUSED/i.test(err);
  const expected = comp.get(l.host)?.port;
  if (refused && expected && expected !== l.port) {
    return check({
      id,
      title,
      service: l.from,
      status: 'fail',
      cause: 'wrong-port',
      detail: `wrong port: ${l.host} resolves (${ips.join(', ')}) but refuses connections on port ${l.port} (${l.via}); ${l.host} listens on ${expected}`,
      hint: `set the port to ${expected} in ${l.from}'s configuration`,
    });
  }
  if (refused) {
    return check({
      id,
      title,
      service: l.from,
      status: 'fail',
      cause: 'wrong-port',
      detail: `${l.host} resolves (${ips.join(', ')}) but nothing listens on port ${l.port} (${l.via})`,
      hint: `check the port ${l.host} listens on and \`wharf logs ${l.host}\``,
    });
  }
  const ipsec = await encryptedWithoutIpsec(ctx, runner, from, live.get(l.host) ?? []);
  if (ipsec) {
    return check({
      id,
      title,
      service: l.from,
      status: 'fail',
      cause: 'encrypted-overlay-unsupported',
      detail:
        `${l.host} resolves (${ips.join(', ')}) but port ${l.port} does not answer from ${from.node}: ` +
        `encrypted overlay without kernel IPsec support (${ipsec}; ${l.via})`,
      hint:
        'every packet between nodes on an encrypted overlay is dropped: set `cluster.encryptNetworks: false` in wharf.yaml, ' +
        'then `wharf up --target swarm` (or give the nodes a kernel with ESP: modprobe esp4, xfrm_user)',
    });
  }
  return check({
    id,
    title,
    service: l.from,
    status: 'fail',
    cause: 'unreachable',
    detail: `${l.host} resolves (${ips.join(', ')}) but port ${l.port} does not answer: ${err || `exit ${tcp.exitCode}`} (${l.via})`,
    hint: `check that ${l.host} is healthy (\`wharf logs ${l.host}\`)`,
  });
}

/**
 * Why a link across nodes gets no answer when both ends share only encrypted overlays: the
 * overlay's IPsec (ESP with AES-GCM) needs the kernel's rfc4106(gcm(aes)), which a kernel
 * without ESP never lists in /proc/crypto (the kernel's, the same inside any container). Asked
 * only after a link failed, so a kernel that loads it on demand was already asked for it.
 * Returns what was seen, or undefined when that is not the cause.
 */
export async function encryptedWithoutIpsec(
  ctx: OpsContext,
  runner: Runner,
  from: ContainerState,
  targets: ContainerState[],
): Promise<string | undefined> {
  if (!from.node) return undefined;
  const encrypted = new Set(ctx.plan.networks.filter((n) => n.encrypted).map((n) => ctx.engine.networkName(n.name)));
  const shared = from.networks.map((n) => n.name).filter((n) => targets.some((t) => t.networks.some((x) => x.name === n)));
  if (!shared.length || !shared.every((n) => encrypted.has(n))) return undefined;
  const elsewhere = targets.filter((t) => t.state === 'running' && t.node && t.node !== from.node);
  if (!elsewhere.length) return undefined;
  if ((await kernelHasIpsec(ctx, runner, from)) !== false) return undefined;
  return (
    `the kernel on ${from.node} has no rfc4106(gcm(aes)); ${shared.join(', ')} encrypted; ` +
    `${[...new Set(elsewhere.map((t) => t.node))].join(', ')} on the other side`
  );
}
