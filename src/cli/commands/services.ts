// Service names given on the command line, checked against the plan before anything runs.
import { InputError } from '../../errors.js';
import type { Plan } from '../../plan/model.js';
import { closest } from '../../spec/issues.js';

/** Throws InputError (exit 2) naming the unknown service and the known ones. */
export function requireServices(plan: Plan, names: string[], known = plan.components.map((c) => c.name)): void {
  const unknown = names.filter((n) => !known.includes(n));
  if (!unknown.length) return;
  const guess = unknown.length === 1 ? closest(unknown[0]!, known) : undefined;
  const list = unknown.map((n) => `"${n}"`).join(', ');
  throw new InputError(`no service ${list} in ${plan.name} (services: ${known.join(', ')})`, {
    hint: guess ? `did you mean "${guess}"?` : 'name one of the services above, as in wharf.yaml',
  });
}
