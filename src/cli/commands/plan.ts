// wharf plan: what up would do now, and what changed by hand since the last apply. Renders in
// memory and reads the engine; writes nothing, creates or removes nothing.
import { Option } from 'commander';
import type { ComposeEngine } from '../../engine/compose.js';
import { action, fileOption, hostOption, jsonOption, type Cli, type Outcome, type Register } from '../command.js';
import { planLines } from '../format/plan.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';

interface Flags extends TargetFlags {
  json: boolean;
  exitCode?: boolean;
}

/** `wharf plan`, and `wharf up --plan-only`. */
export async function printPlan(cli: Cli, o: Flags, command: 'plan' | 'up' = 'plan'): Promise<Outcome> {
  const { io } = cli;
  // which Compose runs the files, asked while the spec loads (a plan is mostly waiting on docker)
  const compose =
    o.target === undefined || o.target === 'compose' ? import('../../engine/detect.js').then((d) => d.detectCompose(io.runner)) : undefined;
  compose?.catch(() => undefined); // awaited only when the target is compose
  const targeted = await loadTargeted(command, o);
  const ctx = await opsContext(command, o, io, { render: false, loaded: targeted, ...(compose ? { compose } : {}) });
  const { plan, renderInMemory } = await import('../../ops/plan.js');
  const target = targeted.target === 'swarm' ? 'swarm' : 'compose';
  // the Compose binary opsContext detected: replica names depend on it
  const binary = ctx.engine.kind === 'compose' ? (ctx.engine as ComposeEngine).compose : undefined;
  const secretsDir = ctx.secretsDir ?? targeted.loaded.layout.secretsDir;
  const files = await renderInMemory(ctx.plan, target, secretsDir, binary ? { composeKind: binary.kind } : undefined);
  const r = await plan(ctx, files);
  if (o.json) io.out.log(JSON.stringify(r, null, 2));
  else for (const l of planLines(r)) io.out.log(l);
  const dirty = r.changes.some((x) => x.action !== 'none') || r.drift.length > 0;
  return o.exitCode && dirty ? 'failed' : 'ok';
}

export const registerPlan: Register = (program, cli) => {
  const c = program
    .command('plan')
    .description('show what up would change per service, and what drifted since the last up; changes nothing')
    .addOption(fileOption())
    .addOption(hostOption())
    .addOption(jsonOption())
    .addOption(new Option('--exit-code', 'exit 1 when there are changes or drift (for CI)').default(false));
  withTargets(c, 'plan').action(action(cli, (o: Flags) => printPlan(cli, o)));
};
