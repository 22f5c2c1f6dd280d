// Operational events (deploy finished or rolled back, backup failed, restore done, drift found,
// `wharf notify test`) posted to Alertmanager's API as short-lived alerts labelled wharf_event:
// the spec's receivers, grouping and silences apply, and render/alertmanager/events.ts routes
// each to every receiver exactly once. Posting never fails the operation that reports it.
import { randomUUID } from 'node:crypto';
import { runnerOf, type OpsContext } from '../engine/context.js';
import { httpPostJsonScript, type ContainerRef } from '../engine/docker.js';
import { InputError, OperationError } from '../errors.js';
import { EVENT_LABEL, EVENT_LIFETIME_SECONDS, EVENT_TARGET_LABEL } from '../render/alertmanager/events.js';

export type EventKind =
  'deploy-started' | 'deploy-finished' | 'deploy-rolled-back' | 'deploy-failed' | 'backup-failed' | 'restore-done' | 'drift-found' | 'test';

const severityOf: Record<EventKind, 'critical' | 'warning' | 'info'> = {
  'deploy-started': 'info',
  'deploy-finished': 'info',
  'deploy-rolled-back': 'warning',
  'deploy-failed': 'critical',
  'backup-failed': 'critical',
  'restore-done': 'info',
  'drift-found': 'warning',
  test: 'info',
};

export interface OpsEvent {
  kind: EventKind;
  summary: string;
  description?: string;
  /** one receiver only (wharf notify test NAME); default every receiver */
  receiver?: string;
}

/** An alert as Alertmanager's POST /api/v2/alerts takes it. */
export interface EventAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** The alert for one event: its own group (a unique event_id), ending by itself after a while. */
export function eventAlert(project: string, e: OpsEvent, now = new Date(), id: string = randomUUID()): EventAlert {
  const alertname = `Wharf${e.kind.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`;
  const labels: Record<string, string> = {
    alertname,
    [EVENT_LABEL]: e.kind,
    severity: severityOf[e.kind],
    component: 'wharf',
    stack: project,
    event_id: id,
  };
  if (e.receiver) labels[EVENT_TARGET_LABEL] = e.receiver;
  return {
    labels,
    annotations: { summary: e.summary, description: e.description ?? e.summary },
    startsAt: now.toISOString(),
    endsAt: new Date(now.getTime() + EVENT_LIFETIME_SECONDS * 1000).toISOString(),
  };
}

/** Where alerts are posted: Alertmanager's API over HTTP, or from inside its container. */
export type AlertSink = (alerts: EventAlert[]) => Promise<void>;

/** POST to an Alertmanager reachable at `base` (http://127.0.0.1:9093). */
export function httpSink(base: string): AlertSink {
  return async (alerts) => {
    const r = await fetch(new URL('/api/v2/alerts', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts),
      signal: AbortSignal.timeout(10_000),
    });
    if (!r.ok) throw new Error(`Alertmanager answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
  };
}

/** Alertmanager is never published: post from inside its running container (url and body as arguments). */
export function engineSink(ctx: OpsContext): AlertSink {
  return async (alerts) => {
    const runner = runnerOf(ctx);
    const am = ctx.plan.components.find((c) => c.role === 'alertmanager');
    if (!am) throw new Error('monitoring is off: there is no Alertmanager to post to');
    const live = await ctx.engine.liveState(runner, { strict: false });
    const c: ContainerRef | undefined = live.containers.find((x) => x.service === am.name && x.state === 'running');
    if (!c) throw new Error('Alertmanager is not running (wharf up)');
    const url = `http://127.0.0.1:${am.port ?? 9093}/api/v2/alerts`;
    const r = await runner(
      ctx.engine.exec(c, httpPostJsonScript(url, JSON.stringify(alerts)), `POST ${url} inside ${c.name ?? c.id}`, 15_000),
      { reject: false },
    );
    if (r.exitCode !== 0) throw new Error((r.stderr || r.stdout || `exit ${r.exitCode}`).trim().split('\n').slice(-2).join(' '));
  };
}

/** Posts one event; an error is returned, not thrown: a deploy or a backup never fails because of it. */
export async function postEvent(sink: AlertSink, project: string, e: OpsEvent): Promise<{ posted: boolean; error?: string }> {
  try {
    await sink([eventAlert(project, e)]);
    return { posted: true };
  } catch (err) {
    return { posted: false, error: (err as Error).message };
  }
}

/** wharf notify test [receiver]: one test message through Alertmanager, to one receiver or all. */
export async function notifyTest(ctx: OpsContext, receiver?: string, sink: AlertSink = engineSink(ctx)): Promise<{ receivers: string[] }> {
  const names = ctx.plan.monitoring.receivers.map((r) => r.name).sort();
  if (!ctx.plan.monitoring.enabled || !names.length)
    throw new InputError('monitoring.alerts.receivers: no receiver to send a test message to', {
      hint: 'add one under monitoring.alerts.receivers (README: "Notifications")',
    });
  if (receiver !== undefined && !names.includes(receiver))
    throw new InputError(`no receiver named "${receiver}" under monitoring.alerts.receivers`, { hint: `one of: ${names.join(', ')}` });
  const r = await postEvent(sink, ctx.engine.project, {
    kind: 'test',
    summary: `test message from wharf (${ctx.engine.project})`,
    description: 'wharf notify test: if you read this, this receiver works.',
    receiver,
  });
  if (!r.posted) throw new OperationError(`could not post the test message to Alertmanager: ${r.error}`, { hint: 'wharf doctor' });
  return { receivers: receiver ? [receiver] : names };
}

export type EventOutcome = { posted: boolean; error?: string };

/** Events go out only where Alertmanager runs and someone listens. */
export function eventsWanted(ctx: Pick<OpsContext, 'plan'>): boolean {
  const m = ctx.plan.monitoring;
  return m.enabled && m.present.alertmanager && m.receivers.length > 0;
}

/** One event per deploy: finished (when it changed something), rolled back, or failed. */
export async function deployWithEvent<T extends { changed: string[]; reloaded: string[] }>(
  ctx: OpsContext,
  work: () => Promise<T>,
  sink: AlertSink = engineSink(ctx),
): Promise<{ result: T; event?: EventOutcome }> {
  const project = ctx.engine.project;
  let result: T;
  try {
    result = await work();
  } catch (e) {
    if (eventsWanted(ctx)) {
      const rolledBack = (e as Error).name === 'RolloutFailedError';
      const first = ((e as Error).message ?? '').split('\n')[0]!.slice(0, 300);
      await postEvent(sink, project, {
        kind: rolledBack ? 'deploy-rolled-back' : 'deploy-failed',
        summary: `deploy of ${project} ${rolledBack ? 'rolled back: the old version keeps serving' : 'failed'}`,
        description: first,
      });
    }
    throw e;
  }
  const touched = [...new Set([...result.changed, ...result.reloaded])].sort();
  if (!eventsWanted(ctx) || !touched.length) return { result };
  const event = await postEvent(sink, project, {
    kind: 'deploy-finished',
    summary: `deploy of ${project} finished: ${touched.join(', ')}`,
  });
  return { result, event };
}

/** One backup-failed event per failed job of a `wharf backup` run. */
export async function backupEvents(
  ctx: OpsContext,
  results: Array<{ job: string; ok: boolean; error?: string }>,
  sink: AlertSink = engineSink(ctx),
): Promise<EventOutcome[]> {
  if (!eventsWanted(ctx)) return [];
  const out: EventOutcome[] = [];
  for (const r of results.filter((x) => !x.ok))
    out.push(await postEvent(sink, ctx.engine.project, { kind: 'backup-failed', summary: `backup ${r.job} failed`, description: r.error }));
  return out;
}

/** A restore that succeeded, in place or into a scratch copy. */
export async function restoreEvent(
  ctx: OpsContext,
  target: string,
  scratch: boolean,
  sink: AlertSink = engineSink(ctx),
): Promise<EventOutcome | undefined> {
  if (!eventsWanted(ctx)) return undefined;
  const where = scratch ? 'into a scratch copy' : 'in place';
  return postEvent(sink, ctx.engine.project, { kind: 'restore-done', summary: `restore of ${target} done (${where})` });
}

/** `wharf plan --notify`: what changed by hand since the last up, as one event. */
export async function driftEvent(
  ctx: OpsContext,
  drift: Array<{ service: string; what: string }>,
  sink: AlertSink = engineSink(ctx),
): Promise<EventOutcome | undefined> {
  if (!eventsWanted(ctx) || !drift.length) return undefined;
  const services = [...new Set(drift.map((d) => d.service))].sort();
  return postEvent(sink, ctx.engine.project, {
    kind: 'drift-found',
    summary: `drift found in ${ctx.engine.project}: ${services.join(', ')}`,
    description: drift.map((d) => `${d.service}: ${d.what}`).join('\n'),
  });
}
