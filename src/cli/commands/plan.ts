// wharf plan: what up would do now, and what changed by hand since the last apply. Renders in
// memory and reads the engine; writes nothing, creates or removes nothing.
import { Option } from 'commander';
import type { ComposeEngine } from '../../engine/compose.js';
import type { OpsContext } from '../../engine/context.js';
import type { RenderedFile } from '../../render/files.js';
import { action, fileOption, hostOption, jsonOption, type Cli, type Outcome, type Register } from '../command.js';
import { k8sPlanLines, planLines } from '../format/plan.js';
import { targetDir } from '../../ops/prepare.js';
import { loadTargeted, opsContext, type Targeted, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';

interface Flags extends TargetFlags {
  json: boolean;
  exitCode?: boolean;
  notify?: boolean;
}

/** The target's files as up would render them now, in memory only. */
export async function renderedNow(ctx: OpsContext, secretsDir: string): Promise<RenderedFile[]> {
  const { renderInMemory } = await import('../../ops/plan.js');
  // the Compose binary opsContext detected: replica names depend on it
  const binary = ctx.engine.kind === 'compose' ? (ctx.engine as ComposeEngine).compose : undefined;
  return renderInMemory(
    ctx.plan,
    ctx.engine.kind === 'swarm' ? 'swarm' : 'compose',
    secretsDir,
    binary ? { composeKind: binary.kind } : undefined,
  );
}

/** k8s: the rendered tree against the one last written (.wharf/k8s), per object. */
async function printK8sPlan(cli: Cli, o: Flags, t: Targeted): Promise<Outcome> {
  const { planK8s } = await import('../../ops/plan-k8s.js');
  const { layout, plan } = t.loaded;
  const r = await planK8s(plan, targetDir(layout, 'k8s'), layout.secretsDir);
  if (o.json) cli.io.out.log(JSON.stringify(r, null, 2));
  else for (const l of k8sPlanLines(r)) cli.io.out.log(l);
  return o.exitCode && r.objects.length ? 'failed' : 'ok';
}

/** `wharf plan`, and `wharf up --plan-only`. */
export async function printPlan(cli: Cli, o: Flags, command: 'plan' | 'up' = 'plan'): Promise<Outcome> {
  const { io } = cli;
  // which Compose runs the files, asked while the spec loads (a plan is mostly waiting on docker)
  const compose =
    o.target === undefined || o.target === 'compose' ? import('../../engine/detect.js').then((d) => d.detectCompose(io.runner)) : undefined;
  compose?.catch(() => undefined); // awaited only when the target is compose
  const targeted = await loadTargeted(command, o);
  if (targeted.target === 'k8s') return printK8sPlan(cli, o, targeted);
  const ctx = await opsContext(command, o, io, { render: false, loaded: targeted, ...(compose ? { compose } : {}) });
  const { plan } = await import('../../ops/plan.js');
  const files = await renderedNow(ctx, ctx.secretsDir ?? targeted.loaded.layout.secretsDir);
  const r = await plan(ctx, files);
  if (o.json) io.out.log(JSON.stringify(r, null, 2));
  else for (const l of planLines(r)) io.out.log(l);
  if (o.notify && r.drift.length) {
    const { driftEvent } = await import('../../ops/events.js');
    const e = await driftEvent(ctx, r.drift);
    if (e && !e.posted) io.out.error(`notify: the drift event was not posted: ${e.error}`);
  }
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
    .addOption(new Option('--exit-code', 'exit 1 when there are changes or drift (for CI)').default(false))
    .addOption(new Option('--notify', "post a drift-found event to the spec's receivers when something drifted").default(false));
  withTargets(c, 'plan').action(action(cli, (o: Flags) => printPlan(cli, o)));
};
