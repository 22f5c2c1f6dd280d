// One validation for every command that reads the spec (issue 22): `check` prints it, render, up
// and the others refuse its errors. Before this, render and up ran the schema and plan rules but
// not the policy rules (only `check` linted), so a plain `env.DB_PASSWORD` (WH002) failed `check`
// and was written into compose.yaml by `render`.
import type { Plan } from '../plan/model.js';
import { buildPlan } from '../plan/build.js';
import type { Stack } from '../spec/schema.js';
import type { Issue } from '../spec/issues.js';
import { loadSpecFile, splitPath, type LoadResult } from '../spec/load.js';
import { checkLoaded } from './plan-rules.js';
import { lint, policyRules, rulesFor } from './policy.js';
import type { PolicyContext } from './rule.js';

export interface Validation {
  res: LoadResult;
  stack?: Stack;
  plan?: Plan;
  /** spec and plan-rule issues (rule 'spec'), then policy findings (rule WH...), placed in the file */
  issues: Array<Issue & { rule: string }>;
}

/** The plan's paths are relative to the output dir so rendered files are relocatable with the project. */
export const planPaths = { secretsDir: '../secrets', projectDir: '../..' };

/** Which target's own rules to add (check: the flag or the spec's), and what they read from disk. */
export type TargetLint = (stack: Stack) => Promise<{ target: string; extra?: Omit<PolicyContext, 'stack' | 'plan'> }>;

/**
 * The spec file validated: schema, plan rules, then the policy rules (and the target's own when
 * `targetLint` is given; without it the target-neutral ones: the ops that deploy refuse the target's).
 */
export async function validateSpecFile(specPath: string, targetLint?: TargetLint): Promise<Validation> {
  const res = await loadSpecFile(specPath);
  const valid = res.stack && !res.issues.some((i) => i.severity === 'error');
  const plan = valid && res.stack ? buildPlan(res.stack, planPaths) : undefined;
  const issues = [...res.issues, ...(plan && res.stack ? checkLoaded({ ...res, stack: res.stack }, plan) : [])];
  const lintable = plan && res.stack && !issues.some((i) => i.severity === 'error');
  const t = lintable && targetLint && res.stack ? await targetLint(res.stack) : undefined;
  const rules = t ? await rulesFor(t.target) : policyRules;
  const findings =
    lintable && res.stack && plan
      ? lint(res.stack, plan, rules, t?.extra ?? {}).map((f) => ({ ...f, ...res.place?.(splitPath(f.path)) }))
      : [];
  return { res, stack: res.stack, plan, issues: [...issues.map((i) => ({ ...i, rule: 'spec' })), ...findings] };
}

/** A finding as one line outside `check`'s table: the rule named so the user can look it up. */
export function withRule(i: Issue & { rule: string }): Issue {
  return i.rule === 'spec' ? stripRule(i) : { ...stripRule(i), message: `${i.message} (${i.rule}, see \`wharf check\`)` };
}

function stripRule(i: Issue & { rule?: string }): Issue {
  const { rule: _rule, ...rest } = i;
  return rest;
}
