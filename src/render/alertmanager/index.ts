// plan -> alertmanager/alertmanager.yml: routes by severity, grouping, inhibition,
// receivers from the spec. Secrets stay in files (url_file, api_url_file, webhook_url_file,
// bot_token_file, token_file, user_key_file, auth_password_file), never in this file; ntfy,
// Gotify and Matrix go through the notify-relay, which alone mounts their tokens.
import type { Plan, Receiver } from '../../plan/model.js';
import { generatedHeader, toYaml, type RenderedFile } from '../files.js';
import { alertCatalogue, WATCHDOG_ALERT } from '../prometheus/catalogue.js';
import { byCodeUnit } from '../../plan/sort.js';
import { promqlRegex, promqlString } from '../../escape/promql.js';
import { eventReceiver, eventRoute } from './events.js';
import { isRelayed, relayUrl } from '../notify-relay/index.js';

/** Receiver that drops what no configured receiver takes. */
export const NULL_RECEIVER = 'null';
/** Receiver of the Watchdog: the spec's monitoring.alerts.heartbeat. */
export const HEARTBEAT_RECEIVER = 'heartbeat';

export function renderAlertmanager(plan: Plan): RenderedFile[] {
  if (!plan.monitoring.enabled || !plan.monitoring.present.alertmanager) return [];
  return [{ path: 'alertmanager/alertmanager.yml', contents: toYaml(alertmanagerConfig(plan), generatedHeader) }];
}

export function alertmanagerConfig(plan: Plan): Record<string, unknown> {
  const m = plan.monitoring;
  const receivers = [...m.receivers].sort((a, b) => byCodeUnit(a.name, b.name));
  const downAlerts = [
    ...new Set(
      alertCatalogue(plan)
        .filter((a) => a.down)
        .map((a) => a.alert),
    ),
  ].sort();
  const route: Record<string, unknown> = {
    receiver: NULL_RECEIVER,
    group_by: ['alertname', 'component'],
    group_wait: m.groupWait,
    group_interval: m.groupInterval,
    repeat_interval: m.repeatInterval,
  };
  // One route per receiver, matching the severities it asked for; `continue` lets several
  // receivers get the same alert. Anything unmatched falls to the null receiver.
  const routes: Array<Record<string, unknown>> = receivers.map((r) => ({
    receiver: r.name,
    matchers: [severityMatcher(r.severities)],
    continue: true,
  }));
  // The Watchdog is matched first and stops there (no `continue`): it reaches the heartbeat and
  // never a human receiver, whatever severities those ask for. Operational events next (events.ts).
  routes.unshift(watchdogRoute(m.heartbeat), eventRoute(receivers, NULL_RECEIVER));
  route.routes = routes;
  const inhibit: Array<Record<string, unknown>> = [];
  if (downAlerts.length) {
    const names = promqlString(promqlRegex(downAlerts));
    // A component that is down makes its other alerts noise.
    // The Watchdog is never inhibited: a heartbeat that stops must mean the pipeline broke.
    inhibit.push({
      source_matchers: [`alertname=~${names}`],
      target_matchers: [`alertname!~${names}`, `alertname!=${promqlString(WATCHDOG_ALERT)}`],
      equal: ['component'],
    });
  }
  // The critical alert already says it: silence the warning of the same alert and component.
  inhibit.push({ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['alertname', 'component'] });
  return {
    global: { resolve_timeout: '5m' },
    route,
    inhibit_rules: inhibit,
    receivers: [
      { name: NULL_RECEIVER },
      ...(m.heartbeat
        ? [
            {
              name: HEARTBEAT_RECEIVER,
              webhook_configs: [{ ...webhookTarget(m.heartbeat.url, m.heartbeat.urlFile), send_resolved: false, max_alerts: 1 }],
            },
          ]
        : []),
      ...receivers.map(receiverConfig),
      ...receivers.map((r) => eventReceiver(receiverConfig(r))),
    ],
  };
}

/** A dead man's switch: the Watchdog is resent every heartbeat interval. Alertmanager resends only
 *  on a group_interval tick once repeat_interval has passed, so ticks come at a quarter of the
 *  interval: a ping arrives between 1 and 1.25 intervals after the previous one. Without a
 *  heartbeat in the spec, the Watchdog still stops here, at the null receiver. */
function watchdogRoute(hb: Plan['monitoring']['heartbeat']): Record<string, unknown> {
  const matchers = [`alertname=${promqlString(WATCHDOG_ALERT)}`];
  if (!hb) return { receiver: NULL_RECEIVER, matchers };
  const tick = Math.max(1, Math.floor(hb.interval.toSeconds() / 4));
  return { receiver: HEARTBEAT_RECEIVER, matchers, group_wait: '0s', group_interval: `${tick}s`, repeat_interval: hb.interval };
}

function severityMatcher(sev: Receiver['severities']): string {
  const s = [...new Set(sev)].sort();
  return s.length === 1 ? `severity=${promqlString(s[0]!)}` : `severity=~${promqlString(promqlRegex(s))}`;
}

/** The webhook's target: a plain URL, or the file of the secret holding one (Alertmanager >= 0.26). */
function webhookTarget(url: string | undefined, file: string | undefined): Record<string, string> {
  return file ? { url_file: file } : { url: url! };
}

/** Receivers Alertmanager (>= 0.28) speaks natively, every credential read from a file. The
 *  default message templates of each integration are kept: they follow each service's format. */
function nativeReceiver(r: Receiver): Record<string, unknown> | undefined {
  const file = r.secretFile!;
  switch (r.type) {
    case 'discord':
      return { name: r.name, discord_configs: [{ webhook_url_file: file, send_resolved: true }] };
    case 'msteams':
      // Teams Workflows (Power Automate) posting an Adaptive Card: Office 365 connectors are retired.
      // Title and text are explicit: Debian's 0.28 build lacks the msteamsv2 default templates.
      return { name: r.name, msteamsv2_configs: [{ webhook_url_file: file, send_resolved: true, title: TITLE, text: TEXT }] };
    case 'telegram':
      return { name: r.name, telegram_configs: [{ bot_token_file: file, chat_id: r.chatId, parse_mode: 'HTML', send_resolved: true }] };
    case 'pushover':
      return { name: r.name, pushover_configs: [{ token_file: file, user_key_file: r.userKeyFile, send_resolved: true }] };
    default:
      return undefined;
  }
}

const TITLE =
  '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}]' +
  ' {{ .CommonLabels.alertname }} ({{ .CommonLabels.component }})';
const TEXT =
  '{{ range .Alerts }}*{{ .Labels.severity }}* {{ .Annotations.summary }}\n' +
  '{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook }}\n{{ end }}';

function receiverConfig(r: Receiver): Record<string, unknown> {
  if (r.type === 'webhook') {
    // A plain url has no credentials (the schema refuses them); one that has is read from a secret file.
    return { name: r.name, webhook_configs: [{ ...webhookTarget(r.url, r.secretFile), send_resolved: true, max_alerts: 0 }] };
  }
  // ntfy, Gotify, Matrix: Alertmanager's webhook to the notify-relay, which holds their tokens
  if (isRelayed(r)) return { name: r.name, webhook_configs: [{ url: relayUrl(r.name), send_resolved: true, max_alerts: 0 }] };
  const native = nativeReceiver(r);
  if (native) return native;
  if (r.type === 'email') {
    const email: Record<string, unknown> = { to: r.to, from: r.from, smarthost: r.smarthost, send_resolved: true, require_tls: true };
    if (r.username) email.auth_username = r.username;
    if (r.secretFile) email.auth_password_file = r.secretFile;
    return { name: r.name, email_configs: [email] };
  }
  return {
    name: r.name,
    slack_configs: [
      {
        api_url_file: r.secretFile,
        channel: r.channel,
        send_resolved: true,
        title: TITLE,
        text: TEXT,
      },
    ],
  };
}
