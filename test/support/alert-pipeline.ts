// The alert path for real, on loopback: Debian's node-exporter (textfile collector only) ->
// Prometheus (the given rule files, 1 s scrape and evaluation) -> Alertmanager (1 s grouping,
// resolved notices on) -> a webhook receiver in this process that keeps every notification.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './servers.js';
import { toolPath } from './tools.js';

export const alertTools = ['prometheus', 'prometheus-alertmanager', 'prometheus-node-exporter'] as const;

export interface Notice {
  status: 'firing' | 'resolved';
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}

export interface AlertPipeline {
  notices: Notice[];
  /** the first notice for `alert` with `status`, waiting at most `ms` */
  until(alert: string, status: Notice['status'], ms: number): Promise<Notice>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startAlertPipeline(work: string, textfiles: string, ruleFiles: string[]): Promise<AlertPipeline> {
  mkdirSync(work, { recursive: true });
  const [ne, prom, am, amCluster, hook] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const notices: Notice[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      notices.push(JSON.parse(body) as Notice);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(hook, '127.0.0.1', r));
  writeFileSync(
    join(work, 'alertmanager.yml'),
    stringify({
      route: { receiver: 'hook', group_by: ['alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'hook', webhook_configs: [{ url: `http://127.0.0.1:${hook}/`, send_resolved: true }] }],
    }),
  );
  writeFileSync(
    join(work, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${am}`] }] }] },
      rule_files: ruleFiles,
      scrape_configs: [{ job_name: 'node', static_configs: [{ targets: [`127.0.0.1:${ne}`] }] }],
    }),
  );
  const procs: ChildProcess[] = [];
  const start = (tool: string, args: string[]) => procs.push(spawn(toolPath(tool) ?? tool, args, { cwd: work, stdio: 'ignore' }));
  start('prometheus-node-exporter', [
    `--web.listen-address=127.0.0.1:${ne}`,
    '--collector.disable-defaults',
    '--collector.textfile',
    `--collector.textfile.directory=${textfiles}`,
  ]);
  start('prometheus-alertmanager', [
    `--config.file=${join(work, 'alertmanager.yml')}`,
    `--storage.path=${join(work, 'am')}`,
    `--web.listen-address=127.0.0.1:${am}`,
    `--cluster.listen-address=127.0.0.1:${amCluster}`,
  ]);
  start('prometheus', [
    `--config.file=${join(work, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(work, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${prom}`,
  ]);
  return {
    notices,
    async until(alert, status, ms) {
      const t0 = Date.now();
      for (;;) {
        const n = notices.find((x) => x.status === status && x.alerts.some((a) => a.labels.alertname === alert));
        if (n) return n;
        if (Date.now() - t0 > ms) throw new Error(`no ${status} notice for ${alert} in ${ms} ms; got ${JSON.stringify(notices)}`);
        await sleep(250);
      }
    },
    async stop() {
      for (const p of procs) p.kill();
      await new Promise((r) => server.close(r));
    },
  };
}
