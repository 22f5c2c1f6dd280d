// The rendered rules, Alertmanager config and dashboard queries against real processes: a
// Prometheus scraping three instrumented replicas (in-process HTTP servers speaking the API's
// metric names) behind a real HAProxy with its built-in exporter, plus node-exporter, and a real
// Alertmanager delivering to a webhook run by the test. Slow replicas fire APIHighLatency (a
// warning, delivered); killing a replica fires APIDown (critical, delivered) which inhibits the
// latency alert, and resolves when the replica is back; killing all of them fires
// HAProxyBackendDown for that backend only. Every rule evaluates without error; every dashboard
// query whose source runs here returns data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { parse } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderPrometheus } from '../../src/render/prometheus/index.js';
import { dashboardQueries } from '../../src/render/grafana/index.js';
import { renderAlertmanager } from '../../src/render/alertmanager/index.js';
import { toolPath } from '../support/tools.js';

const prometheusBin = toolPath('prometheus');
const haproxyBin = toolPath('haproxy');
const alertmanagerBin = toolPath('prometheus-alertmanager');
const nodeExporterBin = toolPath('prometheus-node-exporter');
const skip = !prometheusBin
  ? 'prometheus not installed'
  : !haproxyBin
    ? 'haproxy not installed'
    : !alertmanagerBin
      ? 'alertmanager not installed'
      : !nodeExporterBin
        ? 'node-exporter not installed'
        : false;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Replica {
  server: Server;
  port: number;
  slow: boolean;
}

/** A replica exposing the API's metric names: 10 requests per scrape, fast (5-10 ms) or slow (1-2.5 s). */
function replica(port = 0, existing?: Replica): Promise<Replica> {
  let fast = 0;
  let slow = 0;
  const r: Replica = existing ?? { server: undefined as unknown as Server, port, slow: false };
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.end('ok');
      return;
    }
    if (req.url !== '/metrics') {
      res.statusCode = 404;
      res.end();
      return;
    }
    if (r.slow) slow += 10;
    else fast += 10;
    const n = fast + slow;
    const l = 'endpoint="/items",method="GET"';
    const buckets: Array<[string, number]> = [
      ['0.005', 0],
      ['0.01', fast],
      ['0.1', fast],
      ['1', fast],
      ['2.5', n],
      ['+Inf', n],
    ];
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(
      [
        '# TYPE app_requests_total counter',
        `app_requests_total{${l},status_code="200"} ${n}`,
        `app_requests_total{${l},status_code="500"} 0`,
        '# TYPE app_request_latency_seconds histogram',
        ...buckets.map(([le, v]) => `app_request_latency_seconds_bucket{${l},le="${le}"} ${v}`),
        `app_request_latency_seconds_sum{${l}} ${fast * 0.008 + slow * 1.5}`,
        `app_request_latency_seconds_count{${l}} ${n}`,
        '',
      ].join('\n'),
    );
  });
  r.server = server;
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => {
      r.port = (server.address() as { port: number }).port;
      resolve(r);
    }),
  );
}

function stop(r: Replica): Promise<void> {
  r.server.closeAllConnections();
  return new Promise((res) => r.server.close(() => res()));
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

interface Alert {
  labels: Record<string, string>;
  state: string;
}

test(
  'monitoring live: rules and dashboard queries on a real Prometheus, HAProxy and three replicas',
  { skip, timeout: 120000 },
  async () => {
    const tpl = readFileSync(join(process.cwd(), 'templates', 'haproxy-mysql.yaml'), 'utf8').replace(/monitoring:\n(  .*\n?)*/, '');
    // A webhook receiver run by the test collects what Alertmanager delivers.
    const delivered: Array<{ status: string; labels: Record<string, string>; at: number }> = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const at = Date.now();
        for (const a of (JSON.parse(body) as { alerts: Array<{ status: string; labels: Record<string, string> }> }).alerts)
          delivered.push({ ...a, at });
        res.end();
      });
    });
    const hookPort = await new Promise<number>((res) => hook.listen(0, '127.0.0.1', () => res((hook.address() as { port: number }).port)));
    const spec = `${tpl}
monitoring:
  scrapeInterval: 1s
  evaluationInterval: 1s
  alerts:
    groupWait: 1s
    groupInterval: 1s
    repeatInterval: 1h
    receivers:
      - { type: webhook, name: test-hook, url: "http://127.0.0.1:${hookPort}/hook" }
    overrides:
      APIDown: { for: 2s }
      APIHighLatency: { for: 1s }
      HAProxyBackendDown: { for: 2s }
`;
    const r = parseSpecText(spec);
    assert.ok(r.stack, JSON.stringify(r.issues));
    const plan = buildPlan(r.stack);
    const files = [...renderPrometheus(plan), ...renderAlertmanager(plan)];
    const dir = mkdtempSync(join(tmpdir(), 'wharf-live-'));
    const procs: ChildProcess[] = [];
    const replicas = await Promise.all([replica(), replica(), replica()]);
    try {
      for (const f of files) {
        mkdirSync(dirname(join(dir, f.path)), { recursive: true });
        writeFileSync(join(dir, f.path), f.contents);
      }
      const [hp, pp, fp, np, ap] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
      procs.push(spawn(nodeExporterBin!, [`--web.listen-address=127.0.0.1:${np}`], { stdio: 'ignore' }));
      procs.push(
        spawn(
          alertmanagerBin!,
          [
            `--config.file=${join(dir, 'alertmanager/alertmanager.yml')}`,
            `--storage.path=${join(dir, 'am')}`,
            `--web.listen-address=127.0.0.1:${ap}`,
            '--cluster.listen-address=',
          ],
          { stdio: 'ignore' },
        ),
      );
      writeFileSync(
        join(dir, 'haproxy.cfg'),
        [
          'global',
          '  log stdout format raw local0 err',
          'defaults',
          '  mode http',
          '  timeout connect 1s',
          '  timeout client 5s',
          '  timeout server 5s',
          'frontend metrics',
          `  bind 127.0.0.1:${hp}`,
          '  http-request use-service prometheus-exporter if { path /metrics }',
          'frontend www',
          `  bind 127.0.0.1:${fp}`,
          '  default_backend web',
          'backend web',
          '  balance roundrobin',
          '  option httpchk GET /health',
          ...replicas.map((x, i) => `  server web${i + 1} 127.0.0.1:${x.port} check inter 300ms fall 1 rise 1`),
          // a backend without servers is DOWN by nature: it must not alert
          'backend empty',
          '',
        ].join('\n'),
      );
      const hap = spawn(haproxyBin!, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
      procs.push(hap);

      // The rendered config, with Docker DNS discovery swapped for the local addresses.
      const cfg = parse(files.find((f) => f.path === 'prometheus/prometheus.yml')!.contents) as Record<string, any>;
      cfg.alerting.alertmanagers[0].static_configs[0].targets = [`127.0.0.1:${ap}`];
      cfg.rule_files = [join(dir, 'prometheus/rules/*.yml')];
      const local: Record<string, string[]> = {
        prometheus: [`127.0.0.1:${pp}`],
        web: replicas.map((x) => `127.0.0.1:${x.port}`),
        proxy: [`127.0.0.1:${hp}`],
        'node-exporter': [`127.0.0.1:${np}`],
        alertmanager: [`127.0.0.1:${ap}`],
      };
      cfg.scrape_configs = (cfg.scrape_configs as any[])
        .filter((j) => local[j.job_name])
        .map((j) => ({
          job_name: j.job_name,
          metrics_path: j.metrics_path,
          scrape_interval: '1s',
          static_configs: [
            {
              targets: local[j.job_name],
              labels: { component: j.relabel_configs?.[0]?.replacement ?? j.static_configs[0].labels.component },
            },
          ],
        }));
      writeFileSync(join(dir, 'prometheus/live.yml'), JSON.stringify(cfg));
      const prom = spawn(
        prometheusBin!,
        [
          `--config.file=${join(dir, 'prometheus/live.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${pp}`,
        ],
        { stdio: 'ignore' },
      );
      procs.push(prom);
      const api = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${pp}${path}`);
        const body = (await res.json()) as { status: string; data: any; error?: string };
        if (body.status !== 'success') throw new Error(body.error);
        return body.data;
      };
      const query = async (expr: string) => (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result as unknown[];
      const alerts = async () => (await api('/api/v1/alerts')).alerts as Alert[];

      // Every replica scraped, the recording rules producing series.
      await waitFor('three web replicas up', async () =>
        ((await query('sum(up{job="web"})'))[0] as any)?.value?.[1] === '3' ? true : undefined,
      );
      await waitFor('recorded p95 for web', async () =>
        (await query('job:app_request_latency_seconds:p95_rate5m{job="web"}')).length ? true : undefined,
      );
      await waitFor('haproxy backend status scraped', async () =>
        (await query('haproxy_backend_status{job="proxy",proxy="web",state="UP"} == 1')).length ? true : undefined,
      );

      // Every rule has evaluated, none with an error.
      const groups = await waitFor('rules evaluated', async () => {
        const g = (await api('/api/v1/rules')).groups as Array<{
          name: string;
          rules: Array<{ name: string; health: string; lastError?: string }>;
        }>;
        return g.length && g.every((x) => x.rules.every((y) => y.health !== 'unknown')) ? g : undefined;
      });
      const bad = groups.flatMap((g) => g.rules.filter((x) => x.health !== 'ok').map((x) => `${g.name}/${x.name}: ${x.lastError}`));
      assert.deepEqual(bad, []);
      assert.ok(groups.length >= 5);

      // Traffic through the proxy, so its request panels have something to show.
      const tEnd = Date.now() + 3000;
      while (Date.now() < tEnd) {
        await Promise.all(Array.from({ length: 5 }, () => fetch(`http://127.0.0.1:${fp}/health`).then((x) => x.text())));
        await new Promise((res) => setTimeout(res, 100));
      }
      await waitFor('proxy responses counted', async () =>
        (await query(`sum(rate(haproxy_backend_http_responses_total{job="proxy",proxy="web"}[5m])) > 0`)).length ? true : undefined,
      );

      // Dashboard queries whose sources run here return data.
      const running = new Set(Object.keys(local));
      const queries = dashboardQueries(plan).filter((q) => running.has(q.source));
      assert.ok(queries.length >= 15);
      const empty: string[] = [];
      for (const q of queries) if ((await query(q.expr)).length === 0) empty.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
      assert.deepEqual(empty, []);

      const firing = async (name: string, match: (l: Record<string, string>) => boolean) =>
        (await alerts()).find((a) => a.labels.alertname === name && a.state === 'firing' && match(a.labels));
      assert.equal(await firing('APIDown', () => true), undefined);
      assert.equal(await firing('HAProxyBackendDown', () => true), undefined);

      const wasDelivered =
        (name: string, status: string, since = 0) =>
        async () =>
          delivered.slice(since).find((a) => a.labels.alertname === name && a.status === status && a.labels.component === 'web');

      // Slow replicas: APIHighLatency (warning) reaches the webhook.
      for (const x of replicas) x.slow = true;
      const slowAt = Date.now();
      const lat = await waitFor('APIHighLatency delivered', wasDelivered('APIHighLatency', 'firing'));
      assert.equal(lat.labels.severity, 'warning');
      console.log(`# APIHighLatency delivered ${lat.at - slowAt} ms after the replicas turned slow`);

      // One replica dies: APIDown (critical) is delivered and inhibits the latency alert of the same
      // component; it resolves when the replica is back. WHARF_DETECTION_RUNS=5 repeats it for a median.
      const runs = Math.max(1, Number(process.env.WHARF_DETECTION_RUNS ?? 1));
      const times: number[] = [];
      const amAlerts = async () =>
        (await (await fetch(`http://127.0.0.1:${ap}/api/v2/alerts`)).json()) as Array<{
          labels: Record<string, string>;
          status: { state: string; inhibitedBy: string[] };
        }>;
      for (let run = 0; run < runs; run++) {
        const mark = delivered.length;
        const t0 = Date.now();
        await stop(replicas[2]!);
        const apiDown = await waitFor('APIDown delivered', wasDelivered('APIDown', 'firing', mark));
        times.push(apiDown.at - t0);
        assert.equal(apiDown.labels.severity, 'critical');
        assert.ok(await firing('APIDown', (l) => l.job === 'web' && l.component === 'web'));
        if (run === 0) {
          const inhibited = await waitFor('APIHighLatency inhibited by APIDown', async () =>
            (await amAlerts()).find(
              (a) => a.labels.alertname === 'APIHighLatency' && a.status.state === 'suppressed' && a.status.inhibitedBy.length > 0,
            ),
          );
          assert.equal(inhibited.labels.component, 'web');
          assert.equal((await amAlerts()).find((a) => a.labels.alertname === 'APIDown')?.status.state, 'active');
        }
        // The replica comes back on the same address: APIDown resolves at the webhook.
        await replica(replicas[2]!.port, replicas[2]!);
        await waitFor('APIDown resolved', wasDelivered('APIDown', 'resolved', mark));
      }
      const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
      console.log(
        `# APIDown delivered after a replica died: median ${median} ms of ${times.length} (${times.join(', ')}); floor 2000 ms (for 2s; group_wait adds nothing, Alertmanager flushes at once an alert that started more than group_wait ago), ceiling 4000 ms (+ scrape 1s + evaluation 1s)`,
      );
      assert.ok(median >= 2000 && median < 8000, `detection ${median} ms`);

      // All replicas die: the HAProxy backend goes down, the server-less backend never alerts.
      for (const x of replicas) await stop(x);
      const beDown = await waitFor('HAProxyBackendDown firing', () => firing('HAProxyBackendDown', (l) => l.proxy === 'web'));
      assert.equal(beDown.labels.component, 'proxy');
      assert.equal(
        (await alerts()).some((a) => a.labels.alertname === 'HAProxyBackendDown' && a.labels.proxy === 'empty'),
        false,
      );
    } finally {
      for (const p of procs) if (p.pid && p.exitCode === null) process.kill(p.pid, 'SIGTERM');
      for (const x of replicas)
        if (x.server.listening) {
          x.server.closeAllConnections();
          x.server.close();
        }
      hook.closeAllConnections();
      hook.close();
      await new Promise((r) => setTimeout(r, 300));
      for (const p of procs)
        if (p.pid && p.exitCode === null) {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
