// wharf status: replicas, routes, Prometheus targets and alerts of the running stack.
import type { StatusResult } from '../../ops/status.js';
import { action, fileOption, hostOption, jsonOption, type Register } from '../command.js';
import { table } from '../format/table.js';
import { opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';

export const registerStatus: Register = (program, cli) => {
  const c = program
    .command('status')
    .description('replicas desired/running/healthy, routes, Prometheus targets and firing alerts')
    .addOption(fileOption())
    .addOption(hostOption())
    .addOption(jsonOption());
  withTargets(c, 'status').action(
    action(cli, async (o: TargetFlags & { json: boolean }) => {
      const ctx = await opsContext('status', o, cli.io, { render: false });
      const { status } = await import('../../ops/status.js');
      const r = await status(ctx);
      if (o.json) cli.io.out.log(JSON.stringify(r, null, 2));
      else printStatus(cli.io.out.log, r);
      return r.running ? 'ok' : 'failed';
    }),
  );
};

function printStatus(log: (line: string) => void, r: StatusResult): void {
  const c = r.cluster;
  if (c) {
    const nodes = c.nodes.map((n) => [
      n.hostname,
      n.role,
      n.state,
      n.availability,
      n.leader ? 'leader' : (n.reachability ?? ''),
      n.addr,
      n.dockerHost ? n.containers : 'unreachable (set cluster.nodes[].dockerHost)',
    ]);
    log(table(['node', 'role', 'state', 'availability', 'manager', 'address', 'containers'], nodes));
    const lose = `can lose ${c.tolerates} more manager${c.tolerates === 1 ? '' : 's'} and keep quorum`;
    log(`managers: ${c.managersUp}/${c.managers} up, leader ${c.leader ?? 'NONE'}; ${lose}`);
  }
  const head = ['service', 'role', 'desired', 'running', 'healthy', 'state', ...(c ? ['nodes'] : [])];
  const services = r.services.map((s) => [s.service, s.role, s.desired, s.running, s.healthy, s.state, ...(c ? [s.nodes.join(' ')] : [])]);
  log(table(head, services));
  const routes = r.routes.map((x) => [x.route, x.url, `${x.healthy}/${x.replicas}`, x.auth ? 'basic auth' : '']);
  log(table(['route', 'url', 'healthy replicas', 'auth'], routes));
  for (const x of r.certificates ?? []) log(`${x.title}: ${x.status}, ${x.detail}`);
  const t = r.targets;
  const down = t.down
    ? ` (${t.list
        .filter((x) => x.health !== 'up')
        .map((x) => x.job)
        .join(', ')})`
    : '';
  log(
    t.available ? `Prometheus targets: ${t.up} up, ${t.down} down${down}` : `Prometheus targets: unavailable (${t.error ?? 'not running'})`,
  );
  const a = r.alerts;
  const firing = a.available && a.firing.length ? a.firing.map((x) => x.name).join(', ') : 'none';
  log(
    a.available
      ? `alerts firing: ${firing}${a.pending ? `; ${a.pending} pending` : ''}`
      : `alerts: unavailable (${a.error ?? 'not running'})`,
  );
}
