// doctor: every route answers through the edge, and its metrics paths do not.
import { edgeAddress, edgeRequest } from '../../engine/edge.js';
import { byService, type ContainerState } from '../../engine/live.js';
import type { Plan } from '../../plan/model.js';
import { check, type Check } from './check.js';

export async function checkRoutes(plan: Plan, containers: ContainerState[], address = plan.proxy.bind): Promise<Check[]> {
  const out: Check[] = [];
  const edgeRunning = containers.some((c) => c.service === plan.proxy.component && c.state === 'running');
  const live = byService(containers);
  for (const r of plan.routes) {
    const id = `route:${r.name}`;
    const title = `https://${r.host}${r.path} reaches ${r.service}`;
    if (!edgeRunning) {
      out.push(
        check({
          id,
          title,
          service: r.service,
          status: 'fail',
          cause: 'unreachable',
          detail: 'the edge proxy is not running',
          hint: 'wharf up',
        }),
      );
      continue;
    }
    const path = r.healthPath ?? r.path;
    try {
      const res = await edgeRequest({ host: r.host, path, port: plan.proxy.httpsPort, address });
      const backends = live.get(r.service) ?? [];
      const healthy = backends.filter((b) => b.state === 'running' && (b.health === 'healthy' || b.health === 'none')).length;
      if (r.auth && res.status === 401)
        out.push(check({ id, title, service: r.service, status: 'ok', detail: `401 without credentials (protected), ${res.ms} ms` }));
      else if (res.status >= 500) {
        out.push(
          check({
            id,
            title,
            service: r.service,
            status: 'fail',
            cause: res.status === 503 ? 'no-healthy-backend' : 'route-error',
            detail: `GET ${path} -> ${res.status} through the edge; ${r.service}: ${healthy}/${r.replicas} healthy`,
            hint:
              healthy === 0
                ? `${r.service} has no healthy replica: see its health check above`
                : `the edge cannot reach ${r.service}:${r.port}: see the link checks above`,
          }),
        );
      } else if (res.status >= 400 && res.status !== 404) {
        out.push(check({ id, title, service: r.service, status: 'warn', cause: 'route-error', detail: `GET ${path} -> ${res.status}` }));
      } else {
        out.push(
          check({
            id,
            title,
            service: r.service,
            status: 'ok',
            detail: `GET ${path} -> ${res.status} in ${res.ms} ms${res.headers['x-instance'] ? ` from ${String(res.headers['x-instance'])}` : ''}`,
          }),
        );
      }
      for (const deny of r.denyPaths) {
        const d = await edgeRequest({ host: r.host, path: deny, port: plan.proxy.httpsPort, address });
        const blocked = d.status === 403 || d.status === 404;
        out.push(
          check({
            id: `route-deny:${r.name}:${deny}`,
            title: `${deny} not public on ${r.host}`,
            service: r.service,
            status: blocked ? 'ok' : 'fail',
            cause: blocked ? undefined : 'metrics-exposed',
            detail: `GET ${deny} through the edge -> ${d.status}`,
            hint: blocked ? undefined : 'the edge must refuse metrics paths: re-render the proxy config',
          }),
        );
      }
    } catch (e) {
      const healthy = (live.get(r.service) ?? []).filter(
        (b) => b.state === 'running' && (b.health === 'healthy' || b.health === 'none'),
      ).length;
      const where = `https://${edgeAddress(address)}:${plan.proxy.httpsPort}, Host: ${r.host}`;
      out.push(
        healthy === 0
          ? check({
              id,
              title,
              service: r.service,
              status: 'fail',
              cause: 'no-healthy-backend',
              detail: `GET ${path}: ${(e as Error).message} (${where}); ${r.service}: 0/${r.replicas} healthy`,
              hint: `${r.service} has no healthy replica: see its health check above`,
            })
          : check({
              id,
              title,
              service: r.service,
              status: 'fail',
              cause: 'unreachable',
              detail: `GET ${path}: ${(e as Error).message} (${where})`,
              hint: 'is the edge port published? see the port checks',
            }),
      );
    }
  }
  return out;
}
