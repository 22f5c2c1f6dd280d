// plan -> the Swarm service labels Traefik's `providers.swarm` turns into routers and
// services (`deploy.labels`: in Swarm mode Traefik reads service labels, not container ones).
// Pure. Values are plain strings; the stack renderer escapes them for the Compose format.
//
// Decisions, in one place:
// - One Traefik service per component (named after it), one router per route, each router
//   naming its service: a component with several routes has several routers.
// - `traefik.swarm.lbswarm=false`: Traefik balances over the task IPs itself (dnsrr, no VIP)
//   and health-checks each task; the v2 spelling `traefik.docker.lbswarm` is ignored by v3.
// - Middlewares and TLS options live in the file provider and are named `<name>@file`;
//   the retry middleware comes last so only the call to the task is retried.
import type { Plan, Route } from '../../plan/model.js';
import { byCodeUnit } from '../../plan/sort.js';
import {
  certResolverName,
  edgeHealthCheck,
  isProxyRoute,
  mw,
  routeMiddlewares,
  routePriority,
  routeRule,
  swarmProvider,
  traefikEntryPoints,
} from './index.js';

const atFile = (name: string) => `${name}@file`;

/** Label segments are dot-separated: a name with a dot (or anything unplanned) is a bug. */
function segment(name: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw new Error(`bug: ${JSON.stringify(name)} cannot name a Traefik label segment`);
  return name;
}

/** component name -> its Traefik labels (only components the edge routes to; sorted keys). */
export function traefikSwarmLabels(plan: Plan): Record<string, Record<string, string>> {
  const byService = new Map<string, Route[]>();
  for (const r of plan.routes) {
    if (isProxyRoute(plan, r)) continue;
    byService.set(r.service, [...(byService.get(r.service) ?? []), r]);
  }
  const out: Record<string, Record<string, string>> = {};
  for (const [service, routes] of [...byService].sort(([a], [b]) => byCodeUnit(a, b))) {
    const svc = `traefik.http.services.${segment(service)}.loadbalancer`;
    const first = routes[0]!;
    const hc = edgeHealthCheck(plan, first);
    const labels: Record<string, string> = {
      'traefik.enable': 'true',
      'traefik.swarm.lbswarm': 'false',
      'traefik.swarm.network': swarmProvider.network(plan),
      [`${svc}.server.port`]: String(first.port),
      [`${svc}.passhostheader`]: 'true',
      [`${svc}.healthcheck.path`]: hc.path,
      [`${svc}.healthcheck.interval`]: hc.interval,
      [`${svc}.healthcheck.timeout`]: hc.timeout,
    };
    for (const r of routes) {
      const router = `traefik.http.routers.${segment(r.name)}`;
      labels[`${router}.rule`] = routeRule(r);
      labels[`${router}.entrypoints`] = traefikEntryPoints.websecure;
      labels[`${router}.service`] = service;
      labels[`${router}.middlewares`] = [...routeMiddlewares(r), mw.retry].map(atFile).join(',');
      if (plan.tls.mode === 'acme') labels[`${router}.tls.certresolver`] = certResolverName;
      else labels[`${router}.tls`] = 'true';
      const priority = routePriority(r);
      if (priority !== undefined) labels[`${router}.priority`] = String(priority);
    }
    out[service] = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => byCodeUnit(a, b)));
  }
  return out;
}
