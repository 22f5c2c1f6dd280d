// wharf rollout / wharf rollback: replace a service's replicas zero-downtime.
import { action, fileOption, hostOption, jsonOption, type Register } from '../command.js';
import { rolloutProgress, rolloutTable } from '../format/progress.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { requireServices } from './services.js';

interface Flags extends TargetFlags {
  json: boolean;
}

export const registerRollout: Register = (program, cli) => {
  const c = program
    .command('rollout')
    .description(
      "replace a service's containers with new ones, zero-downtime: new beside old, gated on health and the edge, " +
        'old drained (every rolling service when omitted)',
    )
    .argument('[service]', 'service to roll')
    .addOption(fileOption())
    .addOption(hostOption())
    .addOption(jsonOption());
  withTargets(c, 'rollout').action(
    action(cli, async (service: string | undefined, o: Flags) => {
      const targeted = await loadTargeted('rollout', o);
      if (service) requireServices(targeted.loaded.plan, [service]);
      const ctx = await opsContext('rollout', o, cli.io, { render: false, loaded: targeted });
      const { rollout, RolloutError } = await import('../../ops/rollout.js');
      const out = cli.io.out;
      try {
        const r = await rollout(ctx, service ? [service] : [], { onProgress: rolloutProgress(cli.io, o.json) });
        out.log(o.json ? JSON.stringify({ ok: true, ...r }, null, 2) : rolloutTable(r.rollouts));
      } catch (err) {
        // --json: the failed rollout is still a result a tool reads (exit 1)
        if (!(o.json && err instanceof RolloutError)) throw err;
        out.log(JSON.stringify({ ok: false, rollouts: [err.result] }, null, 2));
        return 'failed';
      }
    }),
  );
};

export const registerRollback: Register = (program, cli) => {
  const c = program
    .command('rollback')
    .description(
      'roll a service back to its previous revision, zero-downtime (one host: the recorded definition and image ID; Swarm: the previous service spec)',
    )
    .argument('<service>', 'service to roll back')
    .addOption(fileOption())
    .addOption(hostOption())
    .addOption(jsonOption());
  withTargets(c, 'rollback').action(
    action(cli, async (service: string, o: Flags) => {
      const targeted = await loadTargeted('rollback', o);
      requireServices(targeted.loaded.plan, [service]);
      const ctx = await opsContext('rollback', o, cli.io, { render: false, loaded: targeted });
      const { rollback } = await import('../../ops/rollback.js');
      const { RolloutError } = await import('../../ops/rollout.js');
      const out = cli.io.out;
      try {
        const r = await rollback(ctx, service, { onProgress: rolloutProgress(cli.io, o.json) });
        if (o.json) {
          out.log(JSON.stringify({ ok: true, rollouts: [r] }, null, 2));
          return;
        }
        out.log(rolloutTable([r]));
        const to = r.to
          ? `revision ${r.to.revision} (${r.to.image}, ${r.to.imageId.slice(0, 19)}, recorded ${r.to.at})`
          : 'the spec the orchestrator ran before the last update';
        out.log(`${service}: back to ${to}; wharf.yaml is unchanged: the next \`wharf up\` rolls forward again unless you change it`);
      } catch (err) {
        if (!(o.json && err instanceof RolloutError)) throw err;
        out.log(JSON.stringify({ ok: false, rollouts: [err.result] }, null, 2));
        return 'failed';
      }
    }),
  );
};
