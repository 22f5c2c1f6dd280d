// What every op receives: the plan, where its files are, and the engine running them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../plan/model.js';
import { ComposeEngine } from './compose.js';
import { detectCompose, type ComposeBinary } from './detect.js';
import type { Engine } from './engine.js';
import { secretForms } from './redactor.js';
import { run, type Runner } from './run.js';
import { SwarmEngine } from './swarm.js';
import type { Stack, TargetName } from '../spec/schema.js';
import { InputError } from '../errors.js';

export interface OpsContext {
  plan: Plan;
  /** the rendered target directory (compose.yaml lives here) */
  outDir: string;
  /** where wharf.yaml lives */
  projectDir: string;
  engine: Engine;
  /** generated secrets; their values are masked in every captured output */
  secretsDir?: string;
  /** the executor (default: run); tests and --dry-run pass a recording one */
  runner?: Runner;
}

export function runnerOf(ctx: Pick<OpsContext, 'runner'>): Runner {
  return ctx.runner ?? run;
}

/** The values to mask: every file in the secrets directory (they are small), in every form it is printed in. */
export function secretValues(secretsDir: string | undefined): string[] {
  if (!secretsDir) return [];
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(secretsDir);
  } catch {
    return [];
  }
  for (const n of names) {
    const p = join(secretsDir, n);
    try {
      if (!statSync(p).isFile() || statSync(p).size > 64 * 1024) continue;
      const v = readFileSync(p, 'utf8');
      out.push(
        v,
        v.trim(),
        ...v
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.length >= 8),
      );
    } catch {
      /* unreadable: nothing to mask */
    }
  }
  return secretForms(out);
}

export async function composeContext(o: {
  plan: Plan;
  outDir: string;
  projectDir: string;
  secretsDir?: string;
  runner?: Runner;
  compose?: ComposeBinary;
  prefer?: 'v1' | 'v2';
}): Promise<OpsContext> {
  const runner = o.runner ?? run;
  const compose = o.compose ?? (await detectCompose(runner, o.prefer));
  // Compose v2 builds through the engine's own BuildKit even without buildx; v1 uses the classic builder.
  const engine = new ComposeEngine({ compose, project: o.plan.name, dir: o.outDir, services: o.plan.components });
  return { plan: o.plan, outDir: o.outDir, projectDir: o.projectDir, engine, secretsDir: o.secretsDir, runner: o.runner };
}

/** The engine registry: one entry per target, each making the context its ops run in. */
export interface TargetContextOptions {
  target: TargetName;
  plan: Plan;
  stack: Stack;
  /** the target's rendered directory (.wharf/<target>) */
  outDir: string;
  projectDir: string;
  secretsDir?: string;
  runner?: Runner;
  /** compose: the binary, when already detected */
  compose?: ComposeBinary;
  /** swarm: a manager's engine (--host); default cluster.manager, then DOCKER_HOST */
  host?: string;
}

export async function targetContext(o: TargetContextOptions): Promise<OpsContext> {
  if (o.target === 'compose') return composeContext(o);
  // Flux applies the rendered tree from Git; wharf itself does not talk to a cluster yet.
  if (o.target === 'k8s')
    throw new InputError('the k8s target has no engine yet: run `wharf render --target k8s`, commit .wharf/k8s and let Flux apply it');
  const c = o.stack.cluster;
  const engine = new SwarmEngine({
    project: o.plan.name,
    dir: o.outDir,
    dockerHost: o.host ?? c.manager ?? process.env.DOCKER_HOST,
    resolveImage: c.resolveImage,
    replicas: Object.fromEntries(o.plan.components.map((x) => [x.name, x.replicas])),
    nodeHosts: Object.fromEntries(c.nodes.filter((n) => n.dockerHost).map((n) => [n.name, n.dockerHost!])),
    services: o.plan.components,
  });
  return { plan: o.plan, outDir: o.outDir, projectDir: o.projectDir, engine, secretsDir: o.secretsDir, runner: o.runner };
}
