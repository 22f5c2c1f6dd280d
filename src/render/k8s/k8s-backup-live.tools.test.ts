// The k8s backup path, run for real offline: the backup CronJob's own command and environment,
// with its scripts projected from the rendered ConfigMap (keys, paths and modes as the kubelet
// projects them), against a real PostgreSQL and restic on loopback; then the backup-metrics
// exporter's own arguments on a real node-exporter publish the run's textfile metrics, which
// Prometheus scrapes. Only the container paths are moved into a temp directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadRenderer, renderAll } from '../index.js';
import { missingServers, PG_BIN, startPostgres } from '../../../test/support/servers.js';
import { requireTool, toolPath } from '../../../test/support/tools.js';
import { planFromYaml, postgresSpec, resticBinary } from '../../../test/unit/backup-harness.js';

await loadRenderer('k8s');
type Doc = Record<string, any>;
const restic = resticBinary();
const nodeExporter = toolPath('prometheus-node-exporter');
const skip =
  requireTool(!!restic, 'restic >= 0.17 (WHARF_RESTIC, or the wharf-test/restic image)') ??
  requireTool(!missingServers('postgres'), 'PostgreSQL server binaries') ??
  requireTool(!!nodeExporter, 'prometheus-node-exporter');

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

function runScript(argv: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

test(
  "k8s backups, run for real: the CronJob's command and env, scripts from its ConfigMap, PostgreSQL + restic; " +
    'node-exporter with the backup-metrics args publishes the result',
  { skip, timeout: 300_000 },
  async () => {
    const db = await startPostgres();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-backup-'));
    let exporter: ReturnType<typeof spawn> | undefined;
    try {
      const plan = planFromYaml(postgresSpec().replace('monitoring:\n  enabled: false\n', 'monitoring:\n  enabled: true\n'));
      const docs = renderAll(plan, 'k8s')
        .filter((f) => f.path.endsWith('.yaml') && !f.path.endsWith('kustomization.yaml'))
        .flatMap((f) => parseAllDocuments(f.contents).map((d) => d.toJS() as Doc));
      const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'backup')!;
      const paths: Record<string, string> = {
        '/backup': join(dir, 'backup'),
        '/metrics': join(dir, 'metrics'),
        '/repo': join(dir, 'repo'),
        '/run/secrets': join(dir, 'secrets'),
        '/tmp': join(dir, 'tmp'),
      };
      for (const p of Object.values(paths)) mkdirSync(p, { recursive: true });
      writeFileSync(join(paths['/run/secrets']!, 'db-password'), db.password);
      writeFileSync(join(paths['/run/secrets']!, 'backup-restic-password'), 'a-restic-password-for-this-test-only');
      const run = async (cronJob: string) => {
        const pod = docs.find((d) => d.kind === 'CronJob' && d.metadata.name === cronJob)!.spec.jobTemplate.spec.template.spec;
        const c = pod.containers[0];
        // project the ConfigMap volume the way the kubelet does: each item at its path, with its mode
        const vol = pod.volumes.find((v: Doc) => v.configMap?.name === 'backup').configMap;
        const mount = c.volumeMounts.find((m: Doc) => m.name === 'backup').mountPath as string;
        for (const item of vol.items) {
          const p = join(paths[mount]!, item.path);
          mkdirSync(dirname(p), { recursive: true });
          writeFileSync(p, cm.data[item.key]);
          chmodSync(p, item.mode ?? vol.defaultMode);
        }
        // every path the job reads is one the pod mounts
        for (const m of ['/backup', '/metrics', '/repo', '/run/secrets'])
          assert.ok(
            c.volumeMounts.some((v: Doc) => v.mountPath === m),
            `${cronJob} mounts ${m}`,
          );
        const env: Record<string, string> = Object.fromEntries(c.env.map((e: Doc) => [e.name, e.value]));
        const move = (v: string) => {
          const hit = Object.entries(paths).find(([from]) => v === from || v.startsWith(`${from}/`));
          return hit ? hit[1] + v.slice(hit[0].length) : v;
        };
        const moved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, move(v)]));
        const argv = (c.command as string[]).map((a, i) => (i === 0 ? join(paths['/backup']!, a.slice('/backup'.length)) : a));
        return runScript(argv, {
          ...moved,
          PATH: `${PG_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          RESTIC: restic!,
          WHARF_SECRETS_DIR: paths['/run/secrets']!,
          WHARF_TMP: paths['/tmp']!,
          WHARF_DB_HOST: '127.0.0.1',
          WHARF_DB_PORT: String(db.port),
        });
      };
      const b = await run('backup-db');
      assert.equal(b.code, 0, b.out);
      const v = await run('backup-db-verify');
      assert.equal(v.code, 0, v.out);
      // the exporter beside the PVC, with its own arguments, the textfile directory moved
      const dep = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'backup-metrics')!.spec.template.spec;
      const mountPath = dep.containers[0].volumeMounts.find((m: Doc) => m.name === 'backup-metrics').mountPath as string;
      const port = await freePort();
      const args = (dep.containers[0].args as string[]).map((a) => a.replace(`=${mountPath}`, `=${paths['/metrics']}`));
      exporter = spawn(nodeExporter!, [...args, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
      let text = '';
      for (let i = 0; i < 50 && !text.includes('wharf_backup_'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        text = await fetch(`http://127.0.0.1:${port}/metrics`)
          .then((r) => r.text())
          .catch(() => '');
      }
      assert.match(text, /^wharf_backup_last_status\{backup="db",kind="postgres",target="db"\} 1$/m);
      assert.match(text, /^wharf_backup_verify_last_status\{backup="db",kind="postgres",target="db"\} 1$/m);
      assert.match(text, /^node_textfile_scrape_error 0$/m);
      // textfile only: none of the host collectors of the node-exporter DaemonSet
      assert.doesNotMatch(text, /^node_cpu_seconds_total/m);
    } finally {
      exporter?.kill('SIGTERM');
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
