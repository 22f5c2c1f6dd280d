// doctor: Prometheus scrapes every target and loaded its rules; Alertmanager is ready and used.
import type { OpsContext } from '../../engine/context.js';
import { httpGetInside, prometheusApi, prometheusRuleGroups, prometheusTargets, type ContainerState } from '../../engine/live.js';
import type { Runner } from '../../engine/run.js';
import { check, type Check, type CheckStatus } from './check.js';

export async function checkMonitoring(ctx: OpsContext, containers: ContainerState[], runner: Runner): Promise<Check[]> {
  const plan = ctx.plan;
  const engine = ctx.engine;
  const out: Check[] = [];
  const running = (role: string) => {
    const comp = plan.components.find((c) => c.role === role);
    return comp ? containers.find((c) => c.service === comp.name && c.state === 'running') : undefined;
  };
  const prom = running('prometheus');
  if (!prom) {
    out.push(
      check({
        id: 'prometheus-targets',
        title: 'Prometheus targets up',
        status: 'fail',
        cause: 'unreachable',
        detail: 'Prometheus is not running',
        hint: 'wharf up',
      }),
    );
  } else {
    try {
      const targets = await prometheusTargets(engine, runner, prom);
      const down = targets.filter((t) => t.health !== 'up');
      const jobs = new Set(targets.map((t) => t.job));
      const missingJobs = plan.monitoring.scrapeJobs.map((j) => j.job).filter((j) => !jobs.has(j));
      const status: CheckStatus =
        down.length || missingJobs.length ? (down.some((t) => t.health === 'down') || missingJobs.length ? 'fail' : 'warn') : 'ok';
      out.push(
        check({
          id: 'prometheus-targets',
          title: 'Prometheus targets up',
          status,
          cause: status === 'ok' ? undefined : 'targets-down',
          detail: `${targets.length - down.length}/${targets.length} up${missingJobs.length ? `; jobs with no target: ${missingJobs.join(', ')}` : ''}`,
          hint:
            status === 'ok'
              ? undefined
              : 'a target is down when its service is unhealthy or not on the monitoring network: see the link checks',
          lines: down.map((t) => `${t.job} ${t.instance}: ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`),
        }),
      );
    } catch (e) {
      out.push(
        check({
          id: 'prometheus-targets',
          title: 'Prometheus targets up',
          status: 'fail',
          cause: 'unreachable',
          detail: (e as Error).message,
        }),
      );
    }
    try {
      const groups = await prometheusRuleGroups(engine, runner, prom);
      const rules = groups.reduce((n, g) => n + g.rules, 0);
      out.push(
        check({
          id: 'prometheus-rules',
          title: 'alert rules loaded',
          status: rules > 0 ? 'ok' : 'fail',
          cause: rules > 0 ? undefined : 'no-rules',
          detail: `${rules} rules in ${groups.length} groups`,
          hint: rules > 0 ? undefined : 'check the rule_files of prometheus.yml and `promtool check config`',
        }),
      );
    } catch (e) {
      out.push(
        check({ id: 'prometheus-rules', title: 'alert rules loaded', status: 'fail', cause: 'unreachable', detail: (e as Error).message }),
      );
    }
  }
  const amComp = plan.components.find((c) => c.role === 'alertmanager');
  if (amComp) {
    const am = running('alertmanager');
    if (!am)
      out.push(
        check({
          id: 'alertmanager',
          title: 'Alertmanager reachable',
          status: 'fail',
          cause: 'alertmanager-unreachable',
          service: amComp.name,
          detail: 'Alertmanager is not running',
          hint: 'wharf up',
        }),
      );
    else {
      const ready = await httpGetInside(engine, runner, am, `http://127.0.0.1:${amComp.port ?? 9093}/-/ready`);
      let seen = 'not checked';
      let seenOk = true;
      if (prom) {
        try {
          const d = await prometheusApi<{ activeAlertmanagers: Array<{ url: string }> }>(engine, runner, prom, '/api/v1/alertmanagers');
          seenOk = d.activeAlertmanagers.length > 0;
          seen = seenOk
            ? `Prometheus sends to ${d.activeAlertmanagers.map((a) => a.url).join(', ')}`
            : 'Prometheus has no active Alertmanager';
        } catch (e) {
          seenOk = false;
          seen = (e as Error).message;
        }
      }
      const ok = ready.ok && seenOk;
      out.push(
        check({
          id: 'alertmanager',
          title: 'Alertmanager reachable',
          service: amComp.name,
          status: ok ? 'ok' : 'fail',
          cause: ok ? undefined : 'alertmanager-unreachable',
          detail: `${ready.ok ? 'ready' : `not ready: ${ready.error}`}; ${seen}`,
          hint: ok ? undefined : 'check the alerting section of prometheus.yml and that both are on the monitoring network',
        }),
      );
    }
  }
  return out;
}
