// Monitoring on the k8s target, with the real tools:
//   - the real promtool accepts the Kubernetes-SD prometheus.yml and the rules, and every
//     alert of the view's catalogue fires on its example and stays quiet otherwise;
//   - the kubelet's cAdvisor: a real Prometheus scrapes an endpoint serving series shaped as
//     the kubelet serves them, through the rendered metric_relabel_configs, and the container
//     alerts and dashboard queries read them as on Compose.
// The ConfigMaps, RBAC and CronJobs without a process: k8s-monitoring.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { alertCatalogue, renderRuleFiles } from '../prometheus/index.js';
import type { AlertRule } from '../prometheus/catalogue.js';
import { templatePlan } from '../../../test/support/templates.js';
import { k8sView } from './index.js';
import { toolPath } from '../../../test/support/tools.js';
import { ruleTests } from '../../../test/support/rule-tests.js';
import { type Doc, renderWithView as render, writeTree } from '../../../test/support/k8s-tree.js';

const promtool = toolPath('promtool');
const prometheusBin = toolPath('prometheus');

const run = (cmd: string, args: string[], cwd?: string) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};
const runAsync = (cmd: string, args: string[], cwd?: string) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
    );
  });

for (const id of ['api', 'haproxy-mysql']) {
  test(
    `k8s monitoring of ${id}: promtool accepts the Kubernetes-SD config and the rules; every alert fires on its example`,
    { skip: promtool ? false : 'promtool not installed', timeout: 300_000 },
    async () => {
      const { view, configMap } = render(id);
      const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-prom-'));
      try {
        const rules = configMap('prometheus-rules');
        writeTree(
          dir,
          Object.entries(rules).map(([k, v]) => ({ path: `rules/${k}`, contents: v })),
        );
        // the container paths (rules, the ServiceAccount's token and CA) pointed at temp copies
        const sa = '/var/run/secrets/kubernetes.io/serviceaccount/';
        writeTree(dir, [
          { path: 'sa/token', contents: 'token' },
          { path: 'sa/ca.crt', contents: '' },
        ]);
        const cfg = parse(configMap('prometheus-prometheus-yml')['prometheus.yml']!.replaceAll(sa, `${dir}/sa/`)) as Doc;
        cfg.rule_files = [join(dir, 'rules/*.yml')];
        writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(cfg));
        let c = run(promtool!, ['check', 'config', join(dir, 'prometheus.yml')]);
        if (c.code !== 0 && /field kubernetes_sd_configs not found in type config\.ScrapeConfig/.test(c.out)) {
          // Debian builds Prometheus without the Kubernetes SD: check everything else (relabel
          // regexes, metric_relabel_configs, scheme, authorization, TLS) with the SD swapped for a
          // static target, and the SD blocks against the fields Prometheus documents for them.
          for (const j of cfg.scrape_configs as Doc[]) {
            if (!j.kubernetes_sd_configs) continue;
            for (const sd of j.kubernetes_sd_configs as Doc[]) {
              assert.ok(['pod', 'node'].includes(sd.role), `${j.job_name}: role ${sd.role}`);
              assert.deepEqual(
                Object.keys(sd).filter((k) => !['role', 'namespaces'].includes(k)),
                [],
              );
              if (sd.namespaces) assert.deepEqual(Object.keys(sd.namespaces), ['names']);
            }
            delete j.kubernetes_sd_configs;
            j.static_configs = [{ targets: ['127.0.0.1:1'] }];
          }
          writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(cfg));
          c = run(promtool!, ['check', 'config', join(dir, 'prometheus.yml')]);
        }
        assert.equal(c.code, 0, c.out);
        const r = run(promtool!, ['check', 'rules', ...Object.keys(rules).map((k) => join(dir, 'rules', k))]);
        assert.equal(r.code, 0, r.out);
        // An alert whose catalogue entry (fixture included) and rendered rule are the Compose
        // render's, with the same recording rules, is already run on that fixture by
        // monitoring-prometheus.tools.test.ts: only the alerts the k8s render changes run here.
        const suites = ruleTests(k8sOnly(id, alertCatalogue(view), rules));
        suites.forEach((s, i) => writeFileSync(join(dir, `tests-${i}.yml`), JSON.stringify(s)));
        // one at a time: the machine is shared
        for (const [i] of suites.entries()) {
          const t = await runAsync(promtool!, ['test', 'rules', `tests-${i}.yml`], dir);
          assert.equal(t.code, 0, t.out);
          assert.match(t.out, /SUCCESS/);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

/** Rule entries by alert name (and the recording rules as one list) in rule files' texts. */
function ruleEntries(texts: string[]): { alerts: Map<string, string>; recording: string } {
  const rules = texts.flatMap((t) => ((parse(t) as Doc).groups as Doc[]).flatMap((g) => g.rules as Doc[]));
  const alerts = new Map(rules.filter((r) => r.alert).map((r) => [r.alert as string, JSON.stringify(r)]));
  return { alerts, recording: JSON.stringify(rules.filter((r) => r.record)) };
}
function k8sOnly(id: string, alerts: AlertRule[], k8sRules: Record<string, string>): AlertRule[] {
  const plan = templatePlan(id);
  const compose = ruleEntries(renderRuleFiles(plan).map((f) => f.contents));
  const k8s = ruleEntries(Object.values(k8sRules));
  if (k8s.recording !== compose.recording) return alerts;
  const same = new Set(alertCatalogue(plan).map((a) => JSON.stringify(a)));
  const out = alerts.filter((a) => !same.has(JSON.stringify(a)) || k8s.alerts.get(a.alert) !== compose.alerts.get(a.alert));
  assert.ok(out.length > 0, 'the k8s render changes some alert (JobDown: pods, not containers)');
  return out;
}

// Series as the kubelet serves them at /metrics/cadvisor: cAdvisor's metric names, the labels
// the kubelet sets (kubernetes/kubernetes pkg/kubelet/server/server.go,
// containerPrometheusLabelsFunc: id, name, image, pod, namespace, container; pod-level cgroups
// have container="") and cpu="total" (google/cadvisor metrics/prometheus.go, per-CPU usage off).
function kubeletExposition(ns: string, t: number): string {
  const pod = (c: string, n: string) =>
    `id="/kubepods/burstable/pod-${c}/${n}",image="registry.example/${c}:1",name="${n}",namespace="${ns}",pod="${c}-7d9c-xk2p"`;
  const series = (c: string, n: string, container: string) => `container="${container}",${pod(c, n)}`;
  const lines = [
    '# TYPE container_memory_working_set_bytes gauge',
    '# TYPE container_spec_memory_limit_bytes gauge',
    '# TYPE container_cpu_usage_seconds_total counter',
    '# TYPE container_spec_cpu_period gauge',
    '# TYPE container_spec_cpu_quota gauge',
  ];
  // api: at 90% of its memory limit, using its whole CPU quota; cache: idle
  for (const [c, mem, cpu] of [
    ['api', 9e8, 1],
    ['cache', 1e8, 0.01],
  ] as const) {
    const s = series(c, `ctr-${c}`, c);
    lines.push(
      `container_memory_working_set_bytes{${s}} ${mem}`,
      `container_spec_memory_limit_bytes{${s}} 1e9`,
      `container_cpu_usage_seconds_total{cpu="total",${s}} ${cpu * t}`,
      `container_spec_cpu_period{${s}} 100000`,
      `container_spec_cpu_quota{${s}} 100000`,
    );
  }
  // the pod's own cgroup, the sandbox, and another namespace's container: not this stack's services
  lines.push(
    `container_memory_working_set_bytes{${series('api', 'pod-cgroup', '')}} 9.5e8`,
    `container_spec_memory_limit_bytes{${series('api', 'pod-cgroup', '')}} 1e9`,
  );
  lines.push(
    `container_memory_working_set_bytes{${series('api', 'sandbox', 'POD')}} 9.5e8`,
    `container_spec_memory_limit_bytes{${series('api', 'sandbox', 'POD')}} 1e9`,
  );
  lines.push(
    `container_memory_working_set_bytes{container="x",id="/x",image="x:1",name="y",namespace="other",pod="x-1"} 9.5e8`,
    `container_spec_memory_limit_bytes{container="x",id="/x",image="x:1",name="y",namespace="other",pod="x-1"} 1e9`,
  );
  return `${lines.join('\n')}\n`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test(
  "k8s monitoring: the kubelet's cAdvisor series, through the rendered relabelling, feed the Compose container alerts and dashboards (real Prometheus)",
  { skip: prometheusBin ? false : 'prometheus not installed', timeout: 120_000 },
  async () => {
    const { plan, configMap } = render('api');
    const cfg = parse(configMap('prometheus-prometheus-yml')['prometheus.yml']!) as Doc;
    const kubelet = (cfg.scrape_configs as Doc[]).find((j) => j.job_name === 'cadvisor')!;
    const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-kubelet-'));
    const t0 = Date.now();
    const server = createServer((req, res) => {
      if (req.url !== '/metrics/cadvisor') {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(kubeletExposition(plan.name, (Date.now() - t0) / 1000));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kport = (server.address() as { port: number }).port;
    const pport = await freePort();
    let prom: ReturnType<typeof spawn> | undefined;
    try {
      const rules = configMap('prometheus-rules');
      writeTree(
        dir,
        Object.entries(rules).map(([k, v]) => ({ path: `rules/${k}`, contents: v })),
      );
      // The rendered job with its discovery and TLS swapped for the loopback stand-in; the relabelling is the rendered one.
      const job = {
        job_name: kubelet.job_name,
        metrics_path: kubelet.metrics_path,
        scrape_interval: '1s',
        static_configs: [{ targets: [`127.0.0.1:${kport}`] }],
        relabel_configs: kubelet.relabel_configs,
        metric_relabel_configs: kubelet.metric_relabel_configs,
      };
      writeFileSync(
        join(dir, 'prometheus.yml'),
        JSON.stringify({
          global: { scrape_interval: '1s', evaluation_interval: '1s' },
          rule_files: [join(dir, 'rules/*.yml')],
          scrape_configs: [job],
        }),
      );
      prom = spawn(
        prometheusBin!,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${pport}`,
        ],
        { stdio: 'ignore' },
      );
      const q = async (expr: string): Promise<Doc[]> => {
        const r = await fetch(`http://127.0.0.1:${pport}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => undefined);
        if (!r?.ok) return [];
        return ((await r.json()) as { data: { result: Doc[] } }).data.result;
      };
      let mem: Doc[] = [];
      for (let i = 0; i < 60 && (await q('rate(container_cpu_usage_seconds_total[5s])')).length < 2; i++)
        await new Promise((r) => setTimeout(r, 500));
      mem = await q('container_memory_working_set_bytes');
      // only the stack's containers, each labelled as the Compose cAdvisor labels it
      assert.deepEqual(mem.map((s) => [s.metric.container_label_dev_wharf_service, s.metric.name, s.metric.namespace]).sort(), [
        ['api', 'api-7d9c-xk2p', plan.name],
        ['cache', 'cache-7d9c-xk2p', plan.name],
      ]);
      // the container alerts' expressions, as rendered, name the component
      const alerts = Object.fromEntries(
        alertCatalogue(k8sView(plan))
          .filter((a) => a.group === 'containers')
          .map((a) => [a.alert, a.expr]),
      );
      assert.deepEqual(
        (await q(alerts.ContainerHighMemory!)).map((s) => [s.metric.component, s.metric.name]),
        [['api', 'api-7d9c-xk2p']],
      );
      // the CPU rule joins usage, period and quota on the relabelled labels (its 0.8 needs 5 minutes of
      // history for rate()[5m]: here, above 0, the join itself is what is checked)
      const cpu = await q(alerts.ContainerHighCpu!.replace(/ > 0\.8$/, ' > 0'));
      assert.deepEqual(cpu.map((s) => s.metric.component).sort(), ['api', 'cache']);
      assert.ok(
        Number(cpu.find((s) => s.metric.component === 'api')!.value[1]) >
          50 * Number(cpu.find((s) => s.metric.component === 'cache')!.value[1]),
      );
      assert.deepEqual(await q(alerts.ContainerRestarting!), []);
      // the containers dashboard reads the same series by name (the pod)
      assert.deepEqual(
        (
          await q(
            'max by (name) (container_memory_working_set_bytes{job="cadvisor",name!=""} / (container_spec_memory_limit_bytes{job="cadvisor",name!=""} > 0))',
          )
        )
          .map((s) => s.metric.name)
          .sort(),
        ['api-7d9c-xk2p', 'cache-7d9c-xk2p'],
      );
    } finally {
      prom?.kill('SIGTERM');
      await new Promise((r) => (prom && prom.exitCode === null ? prom.once('exit', r) : r(undefined)));
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
