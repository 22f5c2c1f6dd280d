// Monitoring on the real engine: a stack brought up with a test profile of short intervals, a
// webhook receiver run as a container on the stack's (internal) monitoring network, and reads
// of the live Prometheus and Alertmanager through `docker exec` (their ports are not published).
// Shared by test/e2e/monitoring.e2e.test.ts and bench/monitoring/run.ts.
import { execa } from 'execa';
import { listContainers, type ContainerState } from '../../../src/engine/live.js';
import { run } from '../../../src/engine/run.js';
import type { E2EStack } from './stack.js';
import { byCodeUnit } from '../../../src/plan/sort.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The test profile: what the e2e and the benchmark set on top of the template. */
export interface MonitoringProfile {
  /** scrape (and rule evaluation) interval, e.g. '1s' */
  scrapeInterval: string;
  /** `for` of the alerts the scenarios fire */
  alertFor: string;
  groupWait: string;
  groupInterval: string;
  repeatInterval: string;
  /** how often the Watchdog reaches the heartbeat (monitoring.alerts.heartbeat.interval) */
  heartbeatInterval: string;
}

export const testProfile: MonitoringProfile = {
  scrapeInterval: '1s',
  alertFor: '2s',
  groupWait: '1s',
  groupInterval: '1s',
  repeatInterval: '1h',
  heartbeatInterval: '4s',
};

/** The alias the webhook container answers to on the monitoring network, and its port. */
export const HOOK_ALIAS = 'hook';
export const HOOK_PORT = 8080;
/** The ntfy topic the relay publishes to on the hook (ntfy's JSON publish posts to /). */
export const NTFY_TOPIC = 'wharf-events';
/** The path of the hook that stands for the heartbeat service (the human receiver posts to /). */
export const HEARTBEAT_PATH = '/heartbeat';

/** Alerts the scenarios fire, whose `for` the profile shortens. */
// JobDown: when the database stops, its exporter may hang on the lookup of the dead container's
// name (Docker's DNS takes 20 s to fail when no upstream resolver answers, as here) and its whole
// scrape times out: the database then shows as JobDown{component="db"} instead of PostgresDown.
// NodeTextfileScrapeError: a corrupt backup metrics file (5m in production).
export const profileAlerts = ['APIDown', 'PostgresDown', 'JobDown', 'NodeTextfileScrapeError'];

/** A spec edit for createStack(): short intervals, short `for`, one webhook receiver. */
export function monitoringEdit(p: MonitoringProfile = testProfile): (spec: Record<string, any>) => void {
  return (spec) => {
    spec.monitoring = {
      ...(spec.monitoring ?? {}),
      grafana: false,
      cadvisor: false,
      scrapeInterval: p.scrapeInterval,
      evaluationInterval: p.scrapeInterval,
      alerts: {
        groupWait: p.groupWait,
        groupInterval: p.groupInterval,
        repeatInterval: p.repeatInterval,
        receivers: [
          { type: 'webhook', name: 'test', url: `http://${HOOK_ALIAS}:${HOOK_PORT}/` },
          // through the notify relay, as ntfy's JSON publish to the hook (recorded as a message)
          { type: 'ntfy', name: 'phone', url: `http://${HOOK_ALIAS}:${HOOK_PORT}/${NTFY_TOPIC}` },
        ],
        heartbeat: { url: `http://${HOOK_ALIAS}:${HOOK_PORT}${HEARTBEAT_PATH}`, interval: p.heartbeatInterval },
        overrides: Object.fromEntries(profileAlerts.map((a) => [a, { for: p.alertFor }])),
      },
    };
  };
}

/** One alert as the webhook received it, stamped with the receiver's clock (the host's). */
export interface Delivered {
  at: number;
  /** the request path: which receiver sent it */
  path: string;
  /** message: a body that is not Alertmanager's (the relay's ntfy publish, in `message`) */
  status: 'firing' | 'resolved' | 'message';
  labels: Record<string, string>;
  message?: Record<string, unknown>;
  startsAt: string;
  endsAt: string;
}

// The receiver: records every POSTed alert with its arrival time, serves them all on GET.
const HOOK_SERVER = `
const http = require('http');
const got = [];
http.createServer((req, res) => {
  if (req.method === 'POST') {
    let b = '';
    req.on('data', (c) => { b += c; });
    req.on('end', () => {
      const at = Date.now();
      try {
        const j = JSON.parse(b);
        if (!Array.isArray(j.alerts)) got.push({ at, path: req.url, status: 'message', labels: {}, message: j });
        for (const a of j.alerts || []) got.push({ at, path: req.url, status: a.status, labels: a.labels, startsAt: a.startsAt, endsAt: a.endsAt });
      } catch (e) { got.push({ at, path: req.url, status: 'invalid', labels: {}, error: String(e) }); }
      res.end('ok');
    });
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(got));
}).listen(${HOOK_PORT}, '0.0.0.0');
`;

export interface Hook {
  container: string;
  /** everything received so far */
  read(): Promise<Delivered[]>;
  remove(): Promise<void>;
}

/** Starts the webhook receiver on `<project>_monitoring` under the alias `hook`. */
export async function startHook(s: E2EStack): Promise<Hook> {
  const project = s.ctx.plan.name;
  const image = s.images.node;
  if (!image) throw new Error('no substitute node image in the test image map');
  const container = `${project}-test-hook`;
  await execa('docker', ['rm', '-f', '-v', container], { reject: false });
  await execa('docker', [
    'run',
    '-d',
    '--name',
    container,
    '--network',
    `${project}_monitoring`,
    '--network-alias',
    HOOK_ALIAS,
    '--label',
    `wharf.test=${project}`,
    image,
    'node',
    '-e',
    HOOK_SERVER,
  ]);
  const hook: Hook = {
    container,
    async read() {
      const r = await execa('docker', ['exec', container, 'wget', '-qO-', `http://127.0.0.1:${HOOK_PORT}/`]);
      return JSON.parse(r.stdout) as Delivered[];
    },
    async remove() {
      await execa('docker', ['rm', '-f', '-v', container], { reject: false });
    },
  };
  await waitFor(
    'webhook receiver answers',
    async () =>
      await hook.read().then(
        () => true,
        () => undefined,
      ),
    30_000,
    300,
  );
  return hook;
}

/** Polls until fn returns something other than undefined; on timeout throws with the last error and diag(). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
  diag?: () => Promise<string>,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) break;
    await sleep(intervalMs);
  }
  let extra = '';
  if (diag) {
    try {
      extra = `\n${await diag()}`;
    } catch (e) {
      extra = `\n(diagnostics failed: ${String(e)})`;
    }
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}${extra}`);
}

export async function containers(s: E2EStack): Promise<ContainerState[]> {
  return listContainers(s.ctx.engine, run);
}

export async function containerOf(s: E2EStack, service: string, index = 0): Promise<ContainerState> {
  const cs = (await containers(s)).filter((c) => c.service === service).sort((a, b) => byCodeUnit(a.name, b.name));
  const c = cs[index];
  if (!c) throw new Error(`no container ${index} of ${service} (have: ${cs.map((x) => x.name).join(', ') || 'none'})`);
  return c;
}

async function getInside(container: string, url: string): Promise<string> {
  return (await execa('docker', ['exec', container, 'wget', '-qO-', url])).stdout;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Instant query against the live Prometheus (inside its container). */
export async function promQuery(prom: string, expr: string): Promise<PromSample[]> {
  const body = JSON.parse(await getInside(prom, `http://localhost:9090/api/v1/query?query=${encodeURIComponent(expr)}`)) as {
    status: string;
    data: { result: PromSample[] };
    error?: string;
  };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

export interface PromRuleGroup {
  name: string;
  rules: Array<{ name: string; type: string; health: string; lastError?: string; state?: string }>;
}

export async function promRules(prom: string): Promise<PromRuleGroup[]> {
  return (JSON.parse(await getInside(prom, 'http://localhost:9090/api/v1/rules')) as { data: { groups: PromRuleGroup[] } }).data.groups;
}

export interface PromAlertState {
  labels: Record<string, string>;
  state: string;
  activeAt?: string;
}

export async function promAlerts(prom: string): Promise<PromAlertState[]> {
  return (JSON.parse(await getInside(prom, 'http://localhost:9090/api/v1/alerts')) as { data: { alerts: PromAlertState[] } }).data.alerts;
}

export interface AmAlert {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy: string[]; silencedBy: string[] };
  startsAt: string;
}

export async function amAlerts(am: string): Promise<AmAlert[]> {
  return JSON.parse(await getInside(am, 'http://localhost:9093/api/v2/alerts')) as AmAlert[];
}

/** Posts alerts to Alertmanager the way Prometheus does (for the inhibition check). */
export async function amPost(
  am: string,
  alerts: Array<{ labels: Record<string, string>; annotations?: Record<string, string>; endsAt?: string }>,
): Promise<void> {
  await execa('docker', [
    'exec',
    am,
    'wget',
    '-qO-',
    '--header',
    'Content-Type: application/json',
    `--post-data=${JSON.stringify(alerts)}`,
    'http://localhost:9093/api/v2/alerts',
  ]);
}

interface TargetState {
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
  lastScrapeDuration: number;
}

/** A short account of what the monitoring sees, for failure messages. */
export async function monitoringDiagnostics(s: E2EStack, hook?: Hook): Promise<string> {
  const lines: string[] = [];
  try {
    const cs = await containers(s);
    lines.push(`containers: ${cs.map((c) => `${c.name}=${c.state}/${c.health}`).join(', ')}`);
    const prom = cs.find((c) => c.service === 'prometheus')?.name;
    const am = cs.find((c) => c.service === 'alertmanager')?.name;
    if (prom) {
      const up = await promQuery(prom, 'up').catch((e) => String(e));
      lines.push(`up: ${typeof up === 'string' ? up : up.map((x) => `${x.metric.job}/${x.metric.instance}=${x.value[1]}`).join(', ')}`);
      const down = await getInside(prom, 'http://localhost:9090/api/v1/targets?state=active')
        .then((b) => (JSON.parse(b) as { data: { activeTargets: TargetState[] } }).data.activeTargets.filter((t) => t.health !== 'up'))
        .catch((e) => String(e));
      if (typeof down === 'string' || down.length)
        lines.push(
          `scrape errors: ${typeof down === 'string' ? down : down.map((t) => `${t.scrapePool}/${t.scrapeUrl}: ${t.lastError} (${t.lastScrapeDuration} s)`).join('; ')}`,
        );
      const al = await promAlerts(prom).catch((e) => String(e));
      lines.push(
        `prometheus alerts: ${typeof al === 'string' ? al : al.map((a) => `${a.labels.alertname}{component=${a.labels.component}} ${a.state}`).join(', ') || 'none'}`,
      );
    }
    if (am) {
      const al = await amAlerts(am).catch((e) => String(e));
      lines.push(
        `alertmanager: ${typeof al === 'string' ? al : al.map((a) => `${a.labels.alertname}{component=${a.labels.component}} ${a.status.state}`).join(', ') || 'none'}`,
      );
    }
    // why a container is not healthy: its last probe, restarts and OOM kills, its last log lines
    for (const c of cs.filter((x) => x.health === 'unhealthy' || x.state !== 'running')) {
      const i = await execa('docker', ['inspect', '-f', '{{.RestartCount}} {{.State.OOMKilled}} {{json .State.Health}}', c.name], {
        reject: false,
      });
      const [restarts, oom, ...health] = i.stdout.split(' ');
      const probe = (JSON.parse(health.join(' ') || 'null') as { Log?: Array<{ ExitCode: number; Output: string }> } | null)?.Log?.at(-1);
      const logs = await execa('docker', ['logs', '--tail', '5', c.name], { reject: false, all: true });
      lines.push(
        `${c.name}: restarts ${restarts}, OOM-killed ${oom}, last probe ${probe ? `exit ${probe.ExitCode}: ${probe.Output.trim().slice(0, 200)}` : 'none'}; logs: ${(logs.all ?? '').slice(-600)}`,
      );
    }
    if (hook) {
      const d = await hook.read().catch((e) => String(e));
      lines.push(
        `webhook: ${typeof d === 'string' ? d : d.map((x) => `${x.labels.alertname}{component=${x.labels.component}} ${x.status}`).join(', ') || 'nothing'}`,
      );
    }
  } catch (e) {
    lines.push(`(diagnostics failed: ${String(e)})`);
  }
  return lines.join('\n');
}

/** The first delivery after index `since` matching alertname/status (and labels), or undefined. */
export function findDelivery(
  d: Delivered[],
  since: number,
  alertname: string,
  status: 'firing' | 'resolved',
  labels: Record<string, string> = {},
): Delivered | undefined {
  return d
    .slice(since)
    .find((x) => x.labels.alertname === alertname && x.status === status && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
}

/** Count of `up == 1` targets of a job. */
export async function targetsUp(prom: string, job: string): Promise<number> {
  const r = await promQuery(prom, `count(up{job="${job}"} == 1)`);
  return r[0] ? Number(r[0].value[1]) : 0;
}

export function durationSeconds(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as const)[m[2] as 's'];
}
