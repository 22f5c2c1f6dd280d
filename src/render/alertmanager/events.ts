// Operational events (deploy, backup, restore, drift, `wharf notify test`) reach the same
// receivers as alerts: wharf posts each as a short-lived alert labelled wharf_event. Their route
// comes before every alert route and stops there, so an event never reaches a receiver twice:
// one group per event (group_by: ...), sent at once, never repeated while it lives, and to a
// copy of each receiver that sends no "resolved" message. A test event names one receiver
// (wharf_to); other events leave wharf_to empty and go to every receiver.
import type { Receiver } from '../../plan/model.js';
import { promqlRegex, promqlString } from '../../escape/promql.js';

/** Label every operational event carries (its kind: deploy-started, backup-failed, ...). */
export const EVENT_LABEL = 'wharf_event';
/** Label naming the one receiver an event goes to (wharf notify test NAME); empty: all of them. */
export const EVENT_TARGET_LABEL = 'wharf_to';
/** How long an event alert lives; the route never repeats it within that time. */
export const EVENT_LIFETIME_SECONDS = 300;

/** The receiver that takes a receiver's events: the same integration, without resolved messages. */
export function eventReceiverName(receiver: string): string {
  return `${receiver}/events`;
}

export function eventRoute(receivers: Receiver[], nullReceiver: string): Record<string, unknown> {
  return {
    receiver: nullReceiver,
    matchers: [`${EVENT_LABEL}=~".+"`],
    group_by: ['...'],
    group_wait: '0s',
    group_interval: '1m',
    repeat_interval: '24h',
    routes: receivers.map((r) => ({
      receiver: eventReceiverName(r.name),
      matchers: [`${EVENT_TARGET_LABEL}=~${promqlString(promqlRegex(['', r.name]))}`],
      continue: true,
    })),
  };
}

/** The event copy of a rendered receiver: every send_resolved turned off. */
export function eventReceiver(rendered: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { name: eventReceiverName(String(rendered.name)) };
  for (const [k, v] of Object.entries(rendered)) {
    if (k !== 'name') out[k] = (v as Array<Record<string, unknown>>).map((c) => ({ ...c, send_resolved: false }));
  }
  return out;
}
