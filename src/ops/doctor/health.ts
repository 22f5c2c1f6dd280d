// doctor: every service has the replicas it wants, healthy; the last log lines of one that is not.
import type { OpsContext } from '../../engine/context.js';
import { byService, lastLogLines, type ContainerState } from '../../engine/live.js';
import type { NodeState } from '../../engine/nodes.js';
import type { Runner } from '../../engine/run.js';
import { serviceHealth } from '../health.js';
import { check, type Check } from './check.js';

export async function checkHealth(
  ctx: OpsContext,
  containers: ContainerState[],
  runner: Runner,
  masks: string[],
  nodes: NodeState[] = [],
): Promise<Check[]> {
  const plan = ctx.plan;
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
      out.push(
        check({
          id,
          title,
          service: c.name,
          status: 'fail',
          cause: 'missing',
          detail: `no container (want ${c.replicas})`,
          hint: 'run `wharf up`',
        }),
      );
      continue;
    }
    const good = cs.filter((x) => x.state === 'running' && (x.health === 'healthy' || x.health === 'none'));
    const bad = cs.filter((x) => !good.includes(x));
    if (good.length >= c.replicas && bad.length === 0) {
      out.push(check({ id, title, service: c.name, status: 'ok', detail: `${good.length}/${c.replicas} healthy` }));
      continue;
    }
    const worst = bad.find((x) => x.health === 'unhealthy') ?? bad.find((x) => x.state !== 'running') ?? bad[0] ?? cs[0]!;
    const logs = await lastLogLines(ctx.engine, runner, worst, 15, masks);
    const starting = bad.length > 0 && bad.every((x) => x.state === 'running' && x.health === 'starting');
    out.push(
      check({
        id,
        title,
        service: c.name,
        status: starting ? 'warn' : 'fail',
        cause: 'not-healthy',
        detail:
          `${good.length}/${c.replicas} healthy; ${worst.name} is ${worst.state}${worst.health !== 'none' ? `/${worst.health}` : ''}` +
          `${worst.restartCount ? `, restarted ${worst.restartCount}x` : ''}` +
          `${worst.healthLog ? `; healthcheck: ${worst.healthLog.split('\n').slice(-1)[0]}` : ''}`,
        hint: starting
          ? 'still starting: wait for the start period, then run doctor again'
          : `read \`wharf logs ${c.name}\`; the last lines are below`,
        lines: logs,
      }),
    );
  }
  return out;
}
