// The rendered rules and dashboard queries against a real Prometheus scraping real targets:
// three instrumented replicas (in-process HTTP servers speaking the API's metric names) behind a
// real HAProxy with its built-in Prometheus exporter. Killing a replica fires APIDown; killing
// them all fires HAProxyBackendDown for that backend only; every rule evaluates without error;
// the service, proxy and overview dashboard queries return data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { parse } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderPrometheus } from '../../src/render/prometheus/index.js';
import { dashboardQueries } from '../../src/render/grafana/index.js';

function tool(name: string): string | undefined {
  const p = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (p) return p;
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI but not on PATH`);
  return undefined;
}
const prometheusBin = tool('prometheus');
const haproxyBin = tool('haproxy');
const skip = !prometheusBin ? 'prometheus not installed' : !haproxyBin ? 'haproxy not installed' : false;

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

/** A replica exposing the API's metric names: 10 requests/s, all fast, all 200. */
function replica(): Promise<{ server: Server; port: number }> {
  const t0 = Date.now();
  const server = createServer((req, res) => {
    if (req.url === '/health') { res.end('ok'); return; }
    if (req.url !== '/metrics') { res.statusCode = 404; res.end(); return; }
    const n = Math.floor((Date.now() - t0) / 100);
    const l = 'endpoint="/items",method="GET"';
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end([
      '# TYPE app_requests_total counter',
      `app_requests_total{${l},status_code="200"} ${n}`,
      `app_requests_total{${l},status_code="500"} 0`,
      '# TYPE app_request_latency_seconds histogram',
      ...['0.005', '0.01', '0.05', '0.1', '1', '+Inf'].map((le) => `app_request_latency_seconds_bucket{${l},le="${le}"} ${le === '0.005' ? 0 : n}`),
      `app_request_latency_seconds_sum{${l}} ${n * 0.008}`,
      `app_request_latency_seconds_count{${l}} ${n}`,
      '',
    ].join('\n'));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

interface Alert { labels: Record<string, string>; state: string }

test('monitoring live: rules and dashboard queries on a real Prometheus, HAProxy and three replicas', { skip, timeout: 120000 }, async () => {
  const tpl = readFileSync(join(process.cwd(), 'templates', 'haproxy-mysql.yaml'), 'utf8')
    .replace(/monitoring:\n(  .*\n?)*/, '');
  const spec = `${tpl}
monitoring:
  scrapeInterval: 1s
  evaluationInterval: 1s
  alerts:
    overrides:
      APIDown: { for: 2s }
      HAProxyBackendDown: { for: 2s }
`;
  const r = parseSpecText(spec);
  assert.ok(r.stack, JSON.stringify(r.issues));
  const plan = buildPlan(r.stack);
  const files = renderPrometheus(plan);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-live-'));
  const procs: ChildProcess[] = [];
  const replicas = await Promise.all([replica(), replica(), replica()]);
  try {
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.contents);
    }
    const [hp, pp, fp] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(join(dir, 'haproxy.cfg'), [
      'global', '  log stdout format raw local0 err',
      'defaults', '  mode http', '  timeout connect 1s', '  timeout client 5s', '  timeout server 5s',
      'frontend metrics', `  bind 127.0.0.1:${hp}`, '  http-request use-service prometheus-exporter if { path /metrics }',
      'frontend www', `  bind 127.0.0.1:${fp}`, '  default_backend web',
      'backend web', '  balance roundrobin', '  option httpchk GET /health',
      ...replicas.map((x, i) => `  server web${i + 1} 127.0.0.1:${x.port} check inter 300ms fall 1 rise 1`),
      // a backend without servers is DOWN by nature: it must not alert
      'backend empty', '',
    ].join('\n'));
    const hap = spawn(haproxyBin!, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    procs.push(hap);

    // The rendered config, with Docker DNS discovery swapped for the local addresses.
    const cfg = parse(files.find((f) => f.path === 'prometheus/prometheus.yml')!.contents) as Record<string, any>;
    delete cfg.alerting;
    cfg.rule_files = [join(dir, 'prometheus/rules/*.yml')];
    const local: Record<string, string[]> = {
      prometheus: [`127.0.0.1:${pp}`], web: replicas.map((x) => `127.0.0.1:${x.port}`), proxy: [`127.0.0.1:${hp}`],
    };
    cfg.scrape_configs = (cfg.scrape_configs as any[]).filter((j) => local[j.job_name]).map((j) => ({
      job_name: j.job_name, metrics_path: j.metrics_path, scrape_interval: '1s',
      static_configs: [{ targets: local[j.job_name], labels: { component: j.relabel_configs?.[0]?.replacement ?? j.static_configs[0].labels.component } }],
    }));
    writeFileSync(join(dir, 'prometheus/live.yml'), JSON.stringify(cfg));
    const prom = spawn(prometheusBin!, [
      `--config.file=${join(dir, 'prometheus/live.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${pp}`,
    ], { stdio: 'ignore' });
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
    await waitFor('three web replicas up', async () => ((await query('sum(up{job="web"})'))[0] as any)?.value?.[1] === '3' ? true : undefined);
    await waitFor('recorded p95 for web', async () => ((await query('job:app_request_latency_seconds:p95_rate5m{job="web"}')).length ? true : undefined));
    await waitFor('haproxy backend status scraped', async () => ((await query('haproxy_backend_status{job="proxy",proxy="web",state="UP"} == 1')).length ? true : undefined));

    // Every rule has evaluated, none with an error.
    const groups = await waitFor('rules evaluated', async () => {
      const g = (await api('/api/v1/rules')).groups as Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }>;
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
    await waitFor('proxy responses counted', async () => ((await query(`sum(rate(haproxy_backend_http_responses_total{job="proxy",proxy="web"}[5m])) > 0`)).length ? true : undefined));

    // Dashboard queries whose sources run here return data.
    const running = new Set(['web', 'proxy', 'prometheus']);
    const queries = dashboardQueries(plan).filter((q) => running.has(q.source));
    assert.ok(queries.length >= 15);
    const empty: string[] = [];
    for (const q of queries) if ((await query(q.expr)).length === 0) empty.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
    assert.deepEqual(empty, []);

    const firing = async (name: string, match: (l: Record<string, string>) => boolean) =>
      (await alerts()).find((a) => a.labels.alertname === name && a.state === 'firing' && match(a.labels));
    assert.equal(await firing('APIDown', () => true), undefined);
    assert.equal(await firing('HAProxyBackendDown', () => true), undefined);

    // One replica dies: APIDown for web.
    const t0 = Date.now();
    replicas[2]!.server.closeAllConnections();
    await new Promise<void>((res) => replicas[2]!.server.close(() => res()));
    const apiDown = await waitFor('APIDown firing', () => firing('APIDown', (l) => l.job === 'web'));
    const detectMs = Date.now() - t0;
    assert.equal(apiDown.labels.component, 'web');
    assert.equal(apiDown.labels.severity, 'critical');
    console.log(`# APIDown firing ${detectMs} ms after a replica died (for 2s, plus up to one 1s scrape and one 1s evaluation)`);

    // All replicas die: the HAProxy backend goes down, the server-less backend never alerts.
    for (const x of replicas.slice(0, 2)) {
      x.server.closeAllConnections();
      await new Promise<void>((res) => x.server.close(() => res()));
    }
    const beDown = await waitFor('HAProxyBackendDown firing', () => firing('HAProxyBackendDown', (l) => l.proxy === 'web'));
    assert.equal(beDown.labels.component, 'proxy');
    assert.equal((await alerts()).some((a) => a.labels.alertname === 'HAProxyBackendDown' && a.labels.proxy === 'empty'), false);
  } finally {
    for (const p of procs) if (p.pid && p.exitCode === null) process.kill(p.pid, 'SIGTERM');
    for (const x of replicas) if (x.server.listening) { x.server.closeAllConnections(); x.server.close(); }
    await new Promise((r) => setTimeout(r, 300));
    for (const p of procs) if (p.pid && p.exitCode === null) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(dir, { recursive: true, force: true });
  }
});
