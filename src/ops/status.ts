// wharf status: what runs versus what the plan wants, routes, scrape targets, firing alerts.
import { runnerOf, type OpsContext } from '../engine/context.js';
import { byService, prometheusAlerts, prometheusTargets, type PromAlert, type PromTarget } from '../engine/live.js';
import type { NodeState } from '../engine/nodes.js';
import { healthOf, type ServiceHealth } from './health.js';
import { routeUrls } from './up-report.js';
import { WATCHDOG_ALERT } from '../render/prometheus/catalogue.js';
import { checkCertificates } from './doctor/certificates.js';
import type { Check } from './doctor/check.js';

export interface RouteStatus {
  route: string;
  url: string;
  service: string;
  auth: boolean;
  internal: boolean;
  /** healthy replicas behind it / replicas wanted */
  healthy: number;
  replicas: number;
}

export interface StatusResult {
  project: string;
  running: boolean;
  services: Array<ServiceHealth & { containers: string[]; nodes: string[] }>;
  /** multi-node targets: the nodes, and how many managers may still be lost */
  cluster?: { nodes: Array<NodeState & { containers: number }>; managers: number; managersUp: number; tolerates: number; leader?: string };
  routes: RouteStatus[];
  targets: { available: boolean; error?: string; up: number; down: number; list: PromTarget[] };
  alerts: { available: boolean; error?: string; firing: PromAlert[]; pending: number };
  /** tls.mode acme on the HAProxy edge: the certificate each edge serves (the doctor's check) */
  certificates?: Check[];
}

export async function status(ctx: OpsContext): Promise<StatusResult> {
  const runner = runnerOf(ctx);
  // One read of the target; Prometheus' targets and alerts are then asked at the same time.
  const state = await ctx.engine.liveState(runner);
  const { nodes, containers } = state;
  const live = byService(containers);
  const services = healthOf(ctx.plan, state).map((s) => {
    const cs = (live.get(s.service) ?? []).filter((c) => c.state === 'running' || !nodes.length);
    return { ...s, containers: cs.map((c) => c.name), nodes: [...new Set(cs.map((c) => c.node).filter((n): n is string => !!n))].sort() };
  });
  const health = new Map(services.map((s) => [s.service, s]));
  const urls = new Map(routeUrls(ctx.plan).map((u) => [u.route, u.url]));
  const routes = ctx.plan.routes.map((r) => ({
    route: r.name,
    url: urls.get(r.name) ?? '',
    service: r.service,
    auth: r.auth,
    internal: r.internal,
    healthy: health.get(r.service)?.healthy ?? 0,
    replicas: r.replicas,
  }));

  const promComp = ctx.plan.components.find((c) => c.role === 'prometheus');
  const prom = promComp ? (live.get(promComp.name) ?? []).find((c) => c.state === 'running') : undefined;
  const out: StatusResult = {
    project: ctx.engine.project,
    running: containers.some((c) => c.state === 'running'),
    services,
    routes,
    ...(nodes.length ? { cluster: clusterOf(nodes, containers) } : {}),
    targets: { available: false, up: 0, down: 0, list: [] },
    alerts: { available: false, firing: [], pending: 0 },
    ...(ctx.plan.tls.acme ? { certificates: await checkCertificates(ctx.plan, containers, runner) } : {}),
  };
  if (!promComp) {
    out.targets.error = out.alerts.error = 'monitoring disabled';
  } else if (!prom) {
    out.targets.error = out.alerts.error = 'Prometheus is not running';
  } else {
    const [targets, alerts] = await Promise.allSettled([
      prometheusTargets(ctx.engine, runner, prom),
      prometheusAlerts(ctx.engine, runner, prom),
    ]);
    if (targets.status === 'fulfilled') {
      const list = targets.value;
      out.targets = {
        available: true,
        list,
        up: list.filter((t) => t.health === 'up').length,
        down: list.filter((t) => t.health !== 'up').length,
      };
    } else out.targets.error = (targets.reason as Error).message;
    if (alerts.status === 'fulfilled') {
      // the Watchdog always fires (it is the heartbeat): it says nothing is wrong
      const firing = alerts.value.filter((a) => a.name !== WATCHDOG_ALERT);
      out.alerts = {
        available: true,
        firing: firing.filter((a) => a.state === 'firing'),
        pending: firing.filter((a) => a.state === 'pending').length,
      };
    } else out.alerts.error = (alerts.reason as Error).message;
  }
  return out;
}

function clusterOf(nodes: NodeState[], containers: Array<{ node?: string; state: string }>): NonNullable<StatusResult['cluster']> {
  const managers = nodes.filter((n) => n.role === 'manager');
  const up = managers.filter((n) => n.state === 'ready' && n.reachability !== 'unreachable');
  return {
    nodes: nodes.map((n) => ({ ...n, containers: containers.filter((c) => c.node === n.hostname && c.state === 'running').length })),
    managers: managers.length,
    managersUp: up.length,
    // Raft keeps working while a majority of all managers is up: what is left to lose.
    tolerates: Math.max(0, up.length - (Math.floor(managers.length / 2) + 1)),
    leader: managers.find((n) => n.leader)?.hostname,
  };
}
