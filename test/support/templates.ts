// Real plans for tests: the shipped templates, optionally changed, through the same loader as the CLI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { buildPlan } from '../../src/plan/build.js';
import type { Plan } from '../../src/plan/model.js';
import { planPaths } from '../../src/ops/prepare.js';
import { parseSpecText } from '../../src/spec/load.js';
import type { Stack } from '../../src/spec/schema.js';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const templateNames = ['api', 'lab', 'haproxy-mysql', 'miniflux', 'gitea'] as const;

/** Every template, plus the api template behind HAProxy (what the e2e suite runs). */
export const variants: Array<{ id: string; template: string; change?: (doc: Record<string, any>) => void }> = [
  { id: 'api', template: 'api' },
  {
    id: 'api-haproxy',
    template: 'api',
    change: (d) => {
      d.proxy = { ...(d.proxy ?? {}), kind: 'haproxy' };
    },
  },
  { id: 'lab', template: 'lab' },
  { id: 'haproxy-mysql', template: 'haproxy-mysql' },
  { id: 'miniflux', template: 'miniflux' },
  { id: 'gitea', template: 'gitea' },
];

export function templateText(name: string): string {
  return readFileSync(join(repoRoot, 'templates', `${name}.yaml`), 'utf8');
}

export function loadVariant(v: { template: string; change?: (doc: Record<string, any>) => void }): {
  stack: Stack;
  plan: Plan;
  text: string;
} {
  const doc = parse(templateText(v.template)) as Record<string, any>;
  v.change?.(doc);
  const text = stringify(doc);
  const res = parseSpecText(text, `${v.template}.yaml`);
  if (!res.stack) throw new Error(`template ${v.template} invalid: ${JSON.stringify(res.issues)}`);
  return { stack: res.stack, plan: buildPlan(res.stack, planPaths), text };
}

/** The plan of a shipped template, unchanged. */
export function templatePlan(name: string): Plan {
  return loadVariant({ template: name }).plan;
}
