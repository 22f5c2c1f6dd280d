// Which targets each command can drive: one table. An unsupported target is refused (exit 2)
// before anything is rendered or run, and each command's --help lists its targets.
import { Option, type Command } from 'commander';
import { InputError } from '../errors.js';
import type { Target } from '../render/index.js';
import { targetNames as targets } from '../spec/schema.js';

const running: readonly Target[] = ['compose', 'swarm'];

export const commandTargets = {
  check: targets,
  render: targets,
  // k8s: the rendered tree against the one last written (what Flux applies next)
  plan: targets,
  up: running,
  down: running,
  status: running,
  doctor: running,
  logs: running,
  exec: running,
  run: running,
  rollout: running,
  rollback: running,
  loadtest: running,
  backup: running,
  backups: running,
  verify: running,
  restore: running,
  'secrets rotate': ['compose'] as readonly Target[],
  notify: running,
} as const satisfies Record<string, readonly Target[]>;

export type TargetedCommand = keyof typeof commandTargets;

/** Why a target cannot run a command, and what to do instead. */
const instead: Partial<Record<Target, string>> = {
  k8s: 'wharf does not drive a cluster itself yet: run `wharf render --target k8s`, commit .wharf/k8s and let Flux apply it',
};

/** Commands a target will drive but does not yet: the hint says so. */
const notYet: Partial<Record<TargetedCommand, string>> = {
  'secrets rotate': 'rotation is not supported on swarm yet (its secrets are immutable objects named by content)',
};

/** --target with every known target as a choice (an unknown one is a usage error, exit 2). */
export function targetOption(command: TargetedCommand): Option {
  const supported = commandTargets[command];
  const which = supported.length === targets.length ? '' : ` (${command}: ${supported.join(', ')})`;
  return new Option('--target <target>', `where the platform runs${which}; default: the spec's target:, else compose`).choices([
    ...targets,
  ]);
}

/** Adds --target and a "Targets:" line to the command's help. */
export function withTargets(c: Command, command: TargetedCommand): Command {
  const supported = commandTargets[command];
  const refused = targets.filter((t) => !supported.includes(t));
  const note = refused.length ? ` (not ${refused.join(', ')})` : '';
  return c.addOption(targetOption(command)).addHelpText('after', `\nTargets: ${supported.join(', ')}${note}`);
}

export function supports(command: TargetedCommand, target: Target): boolean {
  return (commandTargets[command] as readonly Target[]).includes(target);
}

/** Throws InputError (exit 2) when the command cannot drive the target. */
export function refuseUnsupported(command: TargetedCommand, target: Target, from: 'option' | 'spec'): void {
  if (supports(command, target)) return;
  const where = from === 'option' ? '--target' : "the spec's target:";
  throw new InputError(
    `wharf ${command} does not support the ${target} target (${where} ${target}); it supports ${commandTargets[command].join(', ')}`,
    { hint: instead[target] ?? notYet[command] ?? `pass --target ${commandTargets[command][0]}` },
  );
}
