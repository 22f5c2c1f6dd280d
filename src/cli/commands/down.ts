// wharf down: stop and remove the stack; data volumes only when asked and confirmed.
import { InputError } from '../../errors.js';
import { action, fileOption, hostOption, jsonOption, type Register } from '../command.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';

interface Flags extends TargetFlags {
  volumes: boolean;
  yes: boolean;
  json: boolean;
}

export const registerDown: Register = (program, cli) => {
  const c = program
    .command('down')
    .description('stop and remove the stack; data volumes are kept unless --volumes')
    .addOption(fileOption())
    .addOption(hostOption())
    .option('-v, --volumes', 'also delete data volumes (asks first when interactive)', false)
    .option('-y, --yes', 'do not ask before deleting volumes', false)
    .addOption(jsonOption());
  withTargets(c, 'down').action(
    action(cli, async (o: Flags) => {
      const { io } = cli;
      const targeted = await loadTargeted('down', o);
      const plan = targeted.loaded.plan;
      if (o.volumes && !o.yes) {
        if (!io.interactive) throw new InputError('refusing to delete volumes without confirmation', { hint: 'pass --yes' });
        const names = plan.volumes.map((v) => v.name).join(', ');
        if (!(await io.confirm(`delete the data volumes of ${plan.name} (${names})? This destroys the data.`))) {
          io.out.error('aborted: nothing removed');
          return 'failed';
        }
      }
      const ctx = await opsContext('down', o, io, { render: false, loaded: targeted });
      const { down } = await import('../../ops/down.js');
      const r = await down(ctx, { volumes: o.volumes });
      const ok = r.remaining.containers === 0 && !r.unreachableNodes.length;
      if (o.json) {
        io.out.log(JSON.stringify(r, null, 2));
        return ok ? 'ok' : 'failed';
      }
      const left = r.remaining;
      const kept = left.volumes.length && !r.volumesRemoved ? ` kept (${left.volumes.join(', ')})` : '';
      const removed = `removed ${r.removedContainers} containers${r.volumesRemoved ? ' and the data volumes' : ''}`;
      io.out.log(
        `${r.project}: ${removed}; left: ${left.containers} containers, ${left.networks} networks, ${left.volumes.length} volumes${kept}`,
      );
      if (r.unreachableNodes.length) {
        io.out.log(`not ready, not cleaned: ${r.unreachableNodes.join(', ')} (run down again once they are back)`);
      }
      return ok ? 'ok' : 'failed';
    }),
  );
};
