// From a command's flags to what its op runs in: the spec loaded, the target chosen and
// checked against what the command supports, and (for ops) the engine context.
// Ops are imported lazily so `check` and `render` stay quick.
import type { OpsContext } from '../engine/context.js';
import type { ComposeBinary } from '../engine/detect.js';
import { load, prepare, resolveSpecPath, targetDir, type Loaded } from '../ops/prepare.js';
import { UserInputError } from '../spec/issues.js';
import type { Target } from '../render/index.js';
import type { Io } from './command.js';
import { refuseUnsupported, type TargetedCommand } from './targets.js';

export interface TargetFlags {
  file?: string;
  target?: Target;
  host?: string;
}

export interface Targeted {
  specPath: string;
  loaded: Loaded;
  target: Target;
}

/** The spec and the target, refused before anything runs when the command cannot drive it. */
export async function loadTargeted(command: TargetedCommand, o: TargetFlags): Promise<Targeted> {
  if (o.target) refuseUnsupported(command, o.target, 'option');
  const specPath = resolveSpecPath(o.file);
  const loaded = await load(specPath);
  const target = o.target ?? loaded.stack.target ?? 'compose';
  if (!o.target) refuseUnsupported(command, target, 'spec');
  return { specPath, loaded, target };
}

/** The engine context of a running stack: policy blockers refused first, rendered when asked. */
export async function opsContext(
  command: TargetedCommand,
  o: TargetFlags,
  io: Io,
  opts: { render: boolean; loaded?: Targeted; compose?: Promise<ComposeBinary> },
): Promise<OpsContext> {
  const { specPath, loaded, target } = opts.loaded ?? (await loadTargeted(command, o));
  const { targetContext } = await import('../engine/context.js');
  const refused = await (await import('../check/policy.js')).targetErrors(target, loaded.stack, loaded.plan);
  if (refused.length) throw new UserInputError(refused);
  // Which Compose runs the files is known before rendering: replica container names depend on it.
  const compose = target === 'compose' ? await (opts.compose ?? (await import('../engine/detect.js')).detectCompose(io.runner)) : undefined;
  const render = compose ? { composeKind: compose.kind } : undefined;
  const l = opts.render ? await prepare({ specPath, target, loaded, render }) : loaded;
  return targetContext({
    target,
    plan: l.plan,
    stack: l.stack,
    outDir: targetDir(l.layout, target),
    projectDir: l.layout.projectDir,
    secretsDir: l.layout.secretsDir,
    compose,
    host: o.host,
    runner: io.runner,
  });
}
