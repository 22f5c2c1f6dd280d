// wharf doctor: every check runs, none stops the others; each says ok/warn/fail, what it saw,
// and how to fix it. The CLI maps the result to an exit code. One module per check group
// (doctor/*.ts); this one reads the live state once and runs them.
import { secretValues, runnerOf, type OpsContext } from '../engine/context.js';
import type { LiveState } from '../engine/engine.js';
import type { Check, CheckStatus } from './doctor/check.js';
import { checkClusterPorts, checkNodeEngines, checkNodes } from './doctor/cluster.js';
import { checkConfig, checkDisk, checkEngine, checkTool } from './doctor/engine.js';
import { checkHealth } from './doctor/health.js';
import { checkLinks } from './doctor/links.js';
import { checkMonitoring } from './doctor/monitoring.js';
import { checkPorts } from './doctor/ports.js';
import { checkRoutes } from './doctor/routes.js';
import { checkCertificates } from './doctor/certificates.js';
import { checkDrift } from './doctor/drift.js';
import type { RenderedFile } from '../render/files.js';
import { check } from './doctor/check.js';

export type { Cause, Check, CheckStatus } from './doctor/check.js';
export { linksFromEnv, planLinks, suggestService, type Link } from './doctor/links.js';
export { portFree } from './health.js';

export interface DoctorResult {
  project: string;
  ok: boolean;
  running: boolean;
  checks: Check[];
  summary: Record<CheckStatus, number>;
  durationMs: number;
}

export interface DoctorOptions {
  /** which groups to run (default all) */
  only?: Array<'engine' | 'cluster' | 'ports' | 'health' | 'links' | 'routes' | 'monitoring' | 'disk' | 'drift'>;
  /** the target's files as up would render them now (in memory): drift is checked only with them */
  files?: RenderedFile[];
  onCheck?: (c: Check) => void;
}

export async function doctor(ctx: OpsContext, opts: DoctorOptions = {}): Promise<DoctorResult> {
  const runner = runnerOf(ctx);
  const started = performance.now();
  const checks: Check[] = [];
  const add = (c: Check) => {
    checks.push(c);
    opts.onCheck?.(c);
  };
  const want = (g: NonNullable<DoctorOptions['only']>[number]) => !opts.only || opts.only.includes(g);
  const masks = secretValues(ctx.secretsDir);

  let engineUp = true;
  if (want('engine')) {
    // The engine, its tool and the rendered files are asked at the same time.
    const [e, tool, config] = await Promise.all([checkEngine(ctx, runner), checkTool(ctx, runner), checkConfig(ctx, runner)]);
    engineUp = e.status !== 'fail';
    add(e);
    add(tool);
    if (engineUp) add(config);
  }
  // One read of the target for every check below.
  const empty: LiveState = { nodes: [], containers: [], services: [], updates: new Map() };
  const live = engineUp ? await ctx.engine.liveState(runner, { strict: false }).catch(() => empty) : empty;
  const { nodes, containers } = live;
  if (want('cluster') && nodes.length) {
    for (const c of checkNodes(nodes)) add(c);
    for (const c of await checkNodeEngines(ctx.engine, nodes, runner)) add(c);
  }
  const running = containers.some((c) => c.state === 'running');

  // Ports of a multi-node target are bound on each node, not on this machine.
  if (want('ports') && !ctx.engine.multiNode) for (const c of await checkPorts(ctx.plan, containers)) add(c);

  if (engineUp && !running) {
    add(
      check({
        id: 'stack',
        title: `stack ${ctx.engine.project} running`,
        status: 'warn',
        cause: 'not-running',
        detail: 'no container of this stack is running: live checks skipped',
        hint: 'run `wharf up`',
      }),
    );
  }
  if (engineUp && running) {
    if (want('health')) for (const c of await checkHealth(ctx, containers, runner, masks, nodes)) add(c);
    if (want('links')) for (const c of await checkLinks(ctx, containers, runner)) add(c);
    if (want('cluster') && nodes.length) for (const c of await checkClusterPorts(ctx, nodes, containers, runner)) add(c);
    // On several nodes the edge answers on each node's address: the routes are checked through the first ready one.
    const edgeAt = nodes.find(
      (n) =>
        n.state === 'ready' &&
        containers.some((c) => c.node === n.hostname && c.service === ctx.plan.proxy.component && c.state === 'running'),
    )?.addr;
    if (want('routes')) for (const c of await checkRoutes(ctx.plan, containers, edgeAt)) add(c);
    if (want('routes')) for (const c of await checkCertificates(ctx.plan, containers, runner)) add(c);
    if (want('monitoring') && ctx.plan.monitoring.enabled) for (const c of await checkMonitoring(ctx, containers, runner)) add(c);
    if (want('drift') && opts.files) for (const c of await checkDrift(ctx, opts.files, containers, runner)) add(c);
  }
  const disk = want('disk') && engineUp ? await checkDisk(ctx, runner) : undefined;
  if (disk) add(disk);

  const summary: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  return {
    project: ctx.engine.project,
    ok: summary.fail === 0,
    running,
    checks,
    summary,
    durationMs: Math.round(performance.now() - started),
  };
}
