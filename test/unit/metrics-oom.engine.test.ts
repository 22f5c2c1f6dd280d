// HostOomKillDetected for real: a container killed by the kernel over its memory limit makes
// the rendered rule fire in a Prometheus that scrapes node-exporter. It starts a container, so
// it lives in the engine tier (it was part of metrics-exist.tools.test.ts, which checks names).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pWaitFor from 'p-wait-for';
import { alertCatalogue } from '../../src/render/prometheus/index.js';
import { toYaml } from '../../src/render/files.js';
import { templatePlan } from '../support/templates.js';
import { have, requireTool, toolPath } from '../support/tools.js';
import { freePort } from '../support/servers.js';
import { ensureTestImages } from '../e2e/support/images.js';

const bins = { prometheus: toolPath('prometheus'), node: toolPath('prometheus-node-exporter') };
const skip =
  requireTool(!!bins.prometheus, 'prometheus') ??
  requireTool(!!bins.node, 'prometheus-node-exporter') ??
  requireTool(have('docker', ['version']), 'docker');

const procs: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'wharf-oom-'));
after(() => {
  for (const c of procs) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test(
  'metrics exist: HostOomKillDetected fires when the kernel OOM-kills a container over its memory limit',
  { skip, timeout: 120_000 },
  async () => {
    const rule = alertCatalogue(templatePlan('api')).find((a) => a.alert === 'HostOomKillDetected')!;
    const [pp, np] = await Promise.all([freePort(), freePort()]);
    procs.push(spawn(bins.node!, [`--web.listen-address=127.0.0.1:${np}`], { stdio: 'ignore' }));
    writeFileSync(join(dir, 'rules.yml'), toYaml({ groups: [{ name: 'host', rules: [{ alert: rule.alert, expr: rule.expr }] }] }));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      toYaml({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [join(dir, 'rules.yml')],
        scrape_configs: [{ job_name: 'node-exporter', static_configs: [{ targets: [`127.0.0.1:${np}`] }] }],
      }),
    );
    const args = [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${pp}`,
    ];
    procs.push(spawn(bins.prometheus!, args, { stdio: 'ignore' }));
    const query = async (expr: string) => {
      const body = (await (await fetch(`http://127.0.0.1:${pp}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return body.data.result;
    };
    // node_vmstat_oom_kill counts every OOM kill of this kernel (other people's too): the proof is
    // the rule firing once ours happened, with the counter above what it was before.
    const count = async () => Number((await query('node_vmstat_oom_kill'))[0]?.value[1] ?? NaN);
    let before = NaN;
    await pWaitFor(async () => Number.isFinite((before = await count().catch(() => NaN))), { interval: 250, timeout: 30_000 });
    const { redis: image } = await ensureTestImages({ only: ['redis'], progress: null });
    const name = `wharf-oom-${randomBytes(4).toString('hex')}`;
    try {
      const r = spawnSync(
        'docker',
        [
          'run',
          '--name',
          name,
          '--memory',
          '32m',
          '--memory-swap',
          '32m',
          '--network',
          'none',
          '--entrypoint',
          'sh',
          image!,
          '-c',
          'tail /dev/zero',
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      // SIGKILL; Docker's own OOMKilled flag is set from an event that sometimes loses the race
      // with the exit (seen here), so the kernel's counter below is the proof
      assert.equal(r.status, 137, r.stderr);
    } finally {
      spawnSync('docker', ['rm', '-f', '-v', name], { stdio: 'ignore' });
    }
    let hit: Awaited<ReturnType<typeof query>> = [];
    await pWaitFor(async () => (hit = await query(rule.expr).catch(() => [])).length > 0, { interval: 250, timeout: 20_000 });
    assert.equal(hit[0]?.metric.job, 'node-exporter');
    assert.ok((await count()) > before);
  },
);
