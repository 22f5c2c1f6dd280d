// doctor: every port the plan publishes on this machine is ours or free.
import type { ContainerState } from '../../engine/live.js';
import type { Plan } from '../../plan/model.js';
import { portFree } from '../health.js';
import { check, type Check } from './check.js';

export async function checkPorts(plan: Plan, containers: ContainerState[]): Promise<Check[]> {
  const out: Check[] = [];
  for (const c of plan.components) {
    for (const p of c.ports) {
      const id = `port:${p.hostIp}:${p.host}`;
      const title = `port ${p.host} on ${p.hostIp} (${c.name})`;
      const ours = containers.find((x) => x.state === 'running' && x.ports.some((b) => b.hostPort === p.host));
      if (ours) {
        const mine = ours.service === c.name;
        out.push(
          check({
            id,
            title,
            status: mine ? 'ok' : 'fail',
            service: c.name,
            cause: mine ? undefined : 'port-in-use',
            detail: mine ? `bound by ${ours.name}` : `bound by ${ours.name}, not ${c.name}`,
            hint: mine ? undefined : 'two services publish the same port: change one in wharf.yaml',
          }),
        );
        continue;
      }
      const r = await portFree(p.hostIp, p.host);
      if (r.free) out.push(check({ id, title, status: 'ok', service: c.name, detail: 'free' }));
      else if (r.error === 'EACCES')
        out.push(
          check({
            id,
            title,
            status: 'warn',
            service: c.name,
            detail: 'cannot test as this user (privileged port); Docker binds it itself',
          }),
        );
      else
        out.push(
          check({
            id,
            title,
            status: 'fail',
            service: c.name,
            cause: 'port-in-use',
            detail: `in use by another process (${r.error})`,
            hint:
              `stop what listens on ${p.hostIp}:${p.host} (ss -ltnp 'sport = :${p.host}') ` +
              `or change proxy.${p.container === 443 ? 'httpsPort' : p.container === 80 ? 'httpPort' : 'stats.port'} in wharf.yaml`,
          }),
        );
    }
  }
  return out;
}
