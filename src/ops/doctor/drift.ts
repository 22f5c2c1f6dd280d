// doctor: drift since the last `wharf up` (ops/plan.ts) as a warning, and as the wharf_drift
// metric per service in the stack's textfiles (the backup's volume), which node-exporter
// publishes and the StackDrift alert reads. Writing it is the one thing doctor changes.
import type { OpsContext } from '../../engine/context.js';
import type { ContainerState } from '../../engine/live.js';
import type { Runner } from '../../engine/run.js';
import type { RenderedFile } from '../../render/files.js';
import { expositionLabel } from '../../escape/promql.js';
import { byCodeUnit } from '../../plan/sort.js';
import { DRIFT_METRIC } from '../../render/prometheus/rules/drift.js';
import { plan, type Drift } from '../plan.js';
import { check, type Check } from './check.js';

export const DRIFT_TEXTFILE = 'wharf_drift.prom';

/** One wharf_drift series per service (0 when none) and per drifted thing that is not a service. */
export function driftTextfile(stack: string, services: string[], drift: Drift[]): string {
  const count = new Map(services.map((s) => [s, 0]));
  for (const d of drift) count.set(d.service, (count.get(d.service) ?? 0) + 1);
  const lines = [...count]
    .sort(([a], [b]) => byCodeUnit(a, b))
    .map(([s, n]) => `${DRIFT_METRIC}{stack=${expositionLabel(stack)},service=${expositionLabel(s)}} ${n}`);
  return [
    `# HELP ${DRIFT_METRIC} Differences from the last wharf up made by hand, per service (written by wharf doctor).`,
    `# TYPE ${DRIFT_METRIC} gauge`,
    ...lines,
    '',
  ].join('\n');
}

/** The textfile directory inside a running replica of the component writing the stack's textfiles. */
function textfileWriter(ctx: OpsContext, containers: ContainerState[]): { container: ContainerState; dir: string } | undefined {
  const t = ctx.plan.monitoring.enabled ? ctx.plan.monitoring.textfiles : undefined;
  const writer = t && ctx.plan.components.find((c) => c.name === t.writer);
  const mount = writer?.mounts.find((m) => m.type === 'volume' && m.source === t!.volume);
  const container = containers.find((c) => c.service === writer?.name && c.state === 'running');
  return mount && container ? { container, dir: mount.target } : undefined;
}

export async function checkDrift(ctx: OpsContext, files: RenderedFile[], containers: ContainerState[], runner: Runner): Promise<Check[]> {
  const { drift } = await plan(ctx, files);
  const out: Check[] = [
    check({
      id: 'drift',
      title: 'no drift since the last up',
      status: drift.length ? 'warn' : 'ok',
      cause: drift.length ? 'drift' : undefined,
      detail: drift.length ? `${drift.length} changed by hand since the last \`wharf up\`` : 'what runs is what the last up applied',
      lines: drift.map((d) => `${d.service}: ${d.what} (${d.fix})`),
      ...(drift.length ? { hint: '`wharf plan` shows each; `wharf up` converges' } : {}),
    }),
  ];
  const w = textfileWriter(ctx, containers);
  if (!w) return out;
  // written beside, then renamed: node-exporter never reads half a file
  const text = driftTextfile(
    ctx.engine.project,
    ctx.plan.components.map((c) => c.name),
    drift,
  );
  const script = `printf %s "$1" > "$2/.${DRIFT_TEXTFILE}.tmp" && mv "$2/.${DRIFT_TEXTFILE}.tmp" "$2/${DRIFT_TEXTFILE}"`;
  const r = await runner(ctx.engine.exec(w.container, ['sh', '-c', script, 'sh', text, w.dir], 'write the drift metric'), {
    reject: false,
  });
  out.push(
    check({
      id: 'drift-metric',
      title: `${DRIFT_METRIC} written for node-exporter`,
      status: r.exitCode === 0 ? 'ok' : 'warn',
      cause: r.exitCode === 0 ? undefined : 'drift',
      detail: r.exitCode === 0 ? `${w.dir}/${DRIFT_TEXTFILE} in ${w.container.name}` : `could not write it: ${r.stderr.trim().slice(-200)}`,
    }),
  );
  return out;
}
