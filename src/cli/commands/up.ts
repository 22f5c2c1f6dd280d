// wharf up: render, build, start, and wait until every service is healthy and routed.
import { action, fileOption, hostOption, jsonOption, type Register } from '../command.js';
import { credentialRows, generatedSpecSecrets } from '../format/credentials.js';
import { endProgress, upProgress } from '../format/progress.js';
import { table } from '../format/table.js';
import { seconds } from '../format/units.js';
import { parseSeconds } from '../parse-options.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { printPlan } from './plan.js';

interface Flags extends TargetFlags {
  timeout: number;
  build: boolean;
  json: boolean;
  planOnly: boolean;
}

export const registerUp: Register = (program, cli) => {
  const c = program
    .command('up')
    .description('render, build, start (Compose, or a Swarm stack) and wait until every service is healthy')
    .addOption(fileOption())
    .addOption(hostOption())
    .option('--timeout <seconds>', 'how long to wait for health: seconds, or a duration like 5m', parseSeconds, 300)
    .option('--no-build', 'do not build services with build:')
    .option('--plan-only', 'print what up would do and change nothing (the same as wharf plan)', false)
    .addOption(jsonOption());
  withTargets(c, 'up').action(
    action(cli, async (o: Flags) => {
      const { io } = cli;
      if (o.planOnly) return printPlan(cli, o, 'up');
      const targeted = await loadTargeted('up', o);
      const ctx = await opsContext('up', o, io, { render: true, loaded: targeted });
      const { up } = await import('../../ops/up.js');
      const { deployWithEvent } = await import('../../ops/events.js');
      // after `wharf import compose --adopt`: take the running project over first (ops/adopt.ts)
      const { adopt, readAdoptRecord } = await import('../../ops/adopt.js');
      const record = readAdoptRecord(ctx.projectDir);
      const adopted = record ? await adopt(ctx, record, { onProgress: o.json ? undefined : (l) => io.out.log(`adopt: ${l}`) }) : undefined;
      const onProgress = o.json ? undefined : upProgress(io);
      let r, event;
      try {
        ({ result: r, event } = await deployWithEvent(ctx, () => up(ctx, { timeoutMs: o.timeout * 1000, build: o.build, onProgress })));
      } finally {
        if (!o.json) endProgress(io);
      }
      if (event && !event.posted) io.out.error(`notify: the deploy event was not posted: ${event.error}`);
      const { stack, layout } = targeted.loaded;
      const credentials = credentialRows(r.credentials, generatedSpecSecrets(stack, ctx.plan, ctx.secretsDir ?? layout.secretsDir));
      const out = io.out;
      if (o.json) {
        out.log(JSON.stringify({ ...r, credentials, ...(adopted ? { adopted } : {}) }, null, 2));
        return;
      }
      const services = r.services.map((s) => [s.service, s.role, `${s.healthy}/${s.desired}`, s.state]);
      out.log(table(['service', 'role', 'replicas', 'state'], services));
      out.log(
        table(
          ['route', 'url', 'auth'],
          r.urls.map((u) => [u.route, u.url, u.auth ? 'basic auth' : '']),
        ),
      );
      out.log(
        table(
          ['credentials for', 'file'],
          credentials.map((x) => [x.what, x.file]),
        ),
      );
      for (const x of r.rollouts) {
        const counts = `${x.replicas} replicas (${x.replaced} replaced, ${x.started} new, ${x.waves} wave${x.waves === 1 ? '' : 's'})`;
        out.log(`rolled ${x.service} zero-downtime: ${counts} in ${seconds(x.durationMs)}${x.revision ? `, revision ${x.revision}` : ''}`);
      }
      for (const x of r.unavailable) out.log(`recreated ${x.service} stop-first: unavailable for ${seconds(x.ms)}`);
      for (const p of adopted?.ports ?? [])
        out.log(
          `adopted ${p.address} (${p.from} -> ${p.to}): unavailable for ${seconds(p.unavailableMs)} (${p.failed} of ${p.probes} probes failed)`,
        );
      const what = [
        r.changed.length ? `changed: ${r.changed.join(', ')}` : '',
        r.reloaded.length ? `reloaded: ${r.reloaded.join(', ')}` : '',
      ].filter(Boolean);
      const pruned = r.pruned.length ? `; removed ${r.pruned.length} superseded configs and secrets` : '';
      const summary = what.length ? ` (${what.join('; ')})` : ' (nothing changed)';
      out.log(`${r.project}: ${r.services.length} services healthy in ${seconds(r.durationMs)}${summary}${pruned}`);
    }),
  );
};
