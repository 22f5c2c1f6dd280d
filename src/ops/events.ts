// Operational events (deploy finished or rolled back, backup failed, restore done, drift found,
// `wharf notify test`) posted to Alertmanager's API as short-lived alerts labelled wharf_event:
// the spec's receivers, grouping and silences apply, and render/alertmanager/events.ts routes
// each to every receiver exactly once. Posting never fails the operation that reports it.
import { randomUUID } from 'node:crypto';
import { runnerOf, type OpsContext } from '../engine/context.js';
import type { ContainerRef } from '../engine/docker.js';
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

/** Alertmanager is never published: post from inside its running container (wget, argv only). */
export function engineSink(ctx: OpsContext): AlertSink {
  return async (alerts) => {
    const runner = runnerOf(ctx);
    const am = ctx.plan.components.find((c) => c.role === 'alertmanager');
    if (!am) throw new Error('monitoring is off: there is no Alertmanager to post to');
    const live = await ctx.engine.liveState(runner, { strict: false });
    const c: ContainerRef | undefined = live.containers.find((x) => x.service === am.name && x.state === 'running');
    if (!c) throw new Error('Alertmanager is not running (wharf up)');
    const url = `http://127.0.0.1:${am.port ?? 9093}/api/v2/alerts`;
    const argv = ['wget', '-q', '-O', '-', '--header', 'Content-Type: application/json', '--post-data', JSON.stringify(alerts), url];
    const r = await runner(ctx.engine.exec(c, argv, `POST ${url} inside ${c.name ?? c.id}`, 15_000), { reject: false });
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
