// The shape of a check rule and the one function that runs rules. Every rule file (policy,
// swarm, k8s, messaging) imports it from here, so policy.ts can load them without a cycle.
import type { Plan } from '../plan/model.js';
import type { Stack } from '../spec/schema.js';
import type { Issue, Severity } from '../spec/issues.js';
import { byCodeUnit } from '../plan/sort.js';

export interface Finding extends Issue {
  rule: string;
}

export interface PolicyContext {
  stack: Stack;
  plan: Plan;
  /** k8s: every document of the tree on disk (.wharf/k8s), when one was rendered: what Flux applies */
  k8sTree?: Array<{ file: string; doc: Record<string, any> }>;
}

export interface PolicyRule {
  id: string;
  title: string;
  severity: Severity;
  check: (ctx: PolicyContext) => Array<Omit<Finding, 'rule' | 'severity'> & { severity?: Severity }>;
}

export function runRules(stack: Stack, plan: Plan, rules: PolicyRule[], extra: Omit<PolicyContext, 'stack' | 'plan'> = {}): Finding[] {
  return rules
    .flatMap((r) => r.check({ ...extra, stack, plan }).map((f) => ({ ...f, rule: r.id, severity: f.severity ?? r.severity })))
    .sort((a, b) => byCodeUnit(a.rule, b.rule) || byCodeUnit(a.path, b.path));
}
