// The written spec must pass `wharf check`: the same validation, plan rules and compose policy,
// run on the text before anything is written.
import { lint, rulesFor } from '../check/policy.js';
import { checkPlan } from '../check/plan-rules.js';
import { buildPlan } from '../plan/build.js';
import type { Issue } from '../spec/issues.js';
import { parseSpecText } from '../spec/load.js';

/** planPaths of ops/prepare: the plan sees secrets and the project from .wharf/<target> */
const PLAN_PATHS = { secretsDir: '../secrets', projectDir: '../..' };

export async function checkImported(text: string): Promise<{ errors: Issue[]; warnings: Issue[] }> {
  const res = parseSpecText(text);
  const issues: Issue[] = [...res.issues];
  if (res.stack && !issues.some((i) => i.severity === 'error')) {
    const plan = buildPlan(res.stack, PLAN_PATHS);
    issues.push(...checkPlan(res.stack, plan));
    for (const f of lint(res.stack, plan, await rulesFor('compose')))
      issues.push({ path: f.path, message: f.message, hint: f.hint, severity: f.severity === 'error' ? 'error' : 'warning' });
  }
  return { errors: issues.filter((i) => i.severity === 'error'), warnings: issues.filter((i) => i.severity !== 'error') };
}
