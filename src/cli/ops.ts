// Commands that drive a running stack. Ops are loaded lazily so `check` and
// `render` stay quick; each prints a table, or JSON with --json.
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { OpsContext } from '../engine/context.js';
import { prepare, load, resolveSpecPath } from '../ops/prepare.js';
import type { UpEvent } from '../ops/up.js';
import { EXIT } from './exit.js';
import { table, type Out } from './output.js';

async function context(file: string | undefined, opts: { render: boolean }): Promise<OpsContext> {
  const specPath = resolveSpecPath(file);
  const { composeContext } = await import('../engine/context.js');
  const { detectCompose } = await import('../engine/detect.js');
  // Which Compose runs the files is known before rendering: replica container names depend on it.
  const compose = await detectCompose();
  const l = opts.render ? await prepare({ specPath, render: { composeKind: compose.kind } }) : await load(specPath);
  return composeContext({ plan: l.plan, outDir: l.layout.outDir, projectDir: l.layout.projectDir, secretsDir: l.layout.secretsDir, compose });
}

export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try { return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim()); } finally { rl.close(); }
}

/** Progress for people: one line per step, and the health line rewritten in place on a terminal. */
function upProgress(out: Out, tty: boolean): (e: UpEvent) => void {
  let last = '';
  return (e) => {
    if (e.kind === 'step') {
      if (tty && last) { process.stderr.write('\n'); last = ''; }
      if (e.status === 'start') out.error(`• ${e.describe}`);
      else out.error(`  ${e.status === 'done' ? '✓' : '–'} ${e.step}${e.durationMs !== undefined ? ` (${(e.durationMs / 1000).toFixed(1)}s)` : ''}`);
    } else if (e.kind === 'output') {
      if (process.env.WHARF_VERBOSE) out.error(`    ${e.line}`);
    } else {
      const healthy = e.services.filter((s) => s.state === 'healthy').length;
      const waiting = e.services.filter((s) => s.state !== 'healthy').map((s) => `${s.service} ${s.healthy}/${s.desired} ${s.state}`);
      const line = `  ${healthy}/${e.services.length} services healthy after ${(e.elapsedMs / 1000).toFixed(0)}s${waiting.length ? `: waiting for ${waiting.slice(0, 4).join(', ')}${waiting.length > 4 ? ', …' : ''}` : ''}`;
      if (line === last) return;
      if (tty) process.stderr.write(`\r\x1b[2K${line}`); else out.error(line);
      last = line;
    }
  };
}

export function registerOps(cmd: Command, out: Out, fileOpt: () => import('commander').Option): void {
  cmd.command('up')
    .description('render, build, start through Compose and wait until every service is healthy')
    .addOption(fileOpt())
    .option('--timeout <seconds>', 'how long to wait for health', '300')
    .option('--no-build', 'do not build services with build:')
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; timeout: string; build: boolean; json: boolean }) => {
      const ctx = await context(o.file, { render: true });
      const { up, UpTimeoutError } = await import('../ops/up.js');
      try {
        const r = await up(ctx, { timeoutMs: Number(o.timeout) * 1000, build: o.build, onProgress: o.json ? undefined : upProgress(out, !!process.stderr.isTTY) });
        if (process.stderr.isTTY && !o.json) process.stderr.write('\n');
        if (o.json) { out.log(JSON.stringify(r, null, 2)); return; }
        out.log(table(['service', 'role', 'replicas', 'state'], r.services.map((s) => [s.service, s.role, `${s.healthy}/${s.desired}`, s.state])));
        out.log(table(['route', 'url', 'auth'], r.urls.map((u) => [u.route, u.url, u.auth ? 'basic auth' : ''])));
        out.log(table(['credentials for', 'file'], r.credentials.map((c) => [c.what, c.file])));
        out.log(`${r.project}: ${r.services.length} services healthy in ${(r.durationMs / 1000).toFixed(1)}s${r.changed.length ? ` (changed: ${r.changed.join(', ')})` : ' (nothing changed)'}`);
      } catch (err) {
        if (err instanceof UpTimeoutError) { if (process.stderr.isTTY) process.stderr.write('\n'); out.error(err.message); process.exitCode = EXIT.failed; return; }
        throw err;
      }
    });

  cmd.command('down')
    .description('stop and remove the stack; data volumes are kept unless --volumes')
    .addOption(fileOpt())
    .option('-v, --volumes', 'also delete data volumes (asks first when interactive)', false)
    .option('-y, --yes', 'do not ask before deleting volumes', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; volumes: boolean; yes: boolean; json: boolean }) => {
      const ctx = await context(o.file, { render: false });
      if (o.volumes && !o.yes) {
        if (!process.stdin.isTTY) { out.error('refusing to delete volumes without confirmation: pass --yes'); process.exitCode = EXIT.input; return; }
        const names = ctx.plan.volumes.map((v) => v.name).join(', ');
        if (!(await confirm(`delete the data volumes of ${ctx.plan.name} (${names})? This destroys the data.`))) { out.error('aborted: nothing removed'); process.exitCode = EXIT.failed; return; }
      }
      const { down } = await import('../ops/down.js');
      const r = await down(ctx, { volumes: o.volumes });
      if (o.json) { out.log(JSON.stringify(r, null, 2)); return; }
      out.log(`${r.project}: removed ${r.removedContainers} containers${r.volumesRemoved ? ' and the data volumes' : ''}; left: ${r.remaining.containers} containers, ${r.remaining.networks} networks, ${r.remaining.volumes.length} volumes${r.remaining.volumes.length && !r.volumesRemoved ? ` kept (${r.remaining.volumes.join(', ')})` : ''}`);
      if (r.remaining.containers > 0) process.exitCode = EXIT.failed;
    });

  cmd.command('status')
    .description('replicas desired/running/healthy, routes, Prometheus targets and firing alerts')
    .addOption(fileOpt())
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; json: boolean }) => {
      const ctx = await context(o.file, { render: false });
      const { status } = await import('../ops/status.js');
      const r = await status(ctx);
      if (o.json) { out.log(JSON.stringify(r, null, 2)); return; }
      out.log(table(['service', 'role', 'desired', 'running', 'healthy', 'state'], r.services.map((s) => [s.service, s.role, s.desired, s.running, s.healthy, s.state])));
      out.log(table(['route', 'url', 'healthy replicas', 'auth'], r.routes.map((x) => [x.route, x.url, `${x.healthy}/${x.replicas}`, x.auth ? 'basic auth' : ''])));
      out.log(r.targets.available ? `Prometheus targets: ${r.targets.up} up, ${r.targets.down} down${r.targets.down ? ` (${r.targets.list.filter((t) => t.health !== 'up').map((t) => t.job).join(', ')})` : ''}` : `Prometheus targets: unavailable (${r.targets.error ?? 'not running'})`);
      out.log(r.alerts.available ? `alerts firing: ${r.alerts.firing.length ? r.alerts.firing.map((a) => a.name).join(', ') : 'none'}${r.alerts.pending ? `; ${r.alerts.pending} pending` : ''}` : `alerts: unavailable (${r.alerts.error ?? 'not running'})`);
      if (!r.running) process.exitCode = EXIT.failed;
    });

  cmd.command('doctor')
    .description('diagnose the stack: engine, ports, health, DNS between services, routes, monitoring, disk')
    .addOption(fileOpt())
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; json: boolean }) => {
      const ctx = await context(o.file, { render: false });
      const { doctor } = await import('../ops/doctor.js');
      const r = await doctor(ctx);
      if (o.json) { out.log(JSON.stringify(r, null, 2)); } else {
        const mark = { ok: '✓', warn: '!', fail: '✗', skip: '-' } as const;
        out.log(table(['', 'check', 'result', 'fix'], r.checks.map((c) => [mark[c.status], c.title, [c.detail, ...(c.lines ?? []).slice(-5)].join('\n'), c.hint ?? ''])));
        out.log(`${r.summary.ok} ok, ${r.summary.warn} warnings, ${r.summary.fail} failed, ${r.summary.skip} skipped`);
      }
      if (!r.ok) process.exitCode = EXIT.failed;
    });

  cmd.command('loadtest')
    .description('load a route through the edge: throughput, latency percentiles, errors, per-replica fairness')
    .addOption(fileOpt())
    .option('--route <name|host>', 'route to load (default: the first public route)')
    .option('--path <path>', 'request path (default: the route\'s)')
    .option('-d, --duration <seconds>', 'duration', '10')
    .option('-c, --connections <n>', 'concurrent connections', '10')
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; route?: string; path?: string; duration: string; connections: string; json: boolean }) => {
      const l = await load(resolveSpecPath(o.file));
      const { loadtest } = await import('../ops/loadtest.js');
      if (!o.json) out.error(`loading for ${o.duration}s with ${o.connections} connections…`);
      const r = await loadtest({ plan: l.plan }, { route: o.route, path: o.path, duration: Number(o.duration), connections: Number(o.connections) });
      if (o.json) { out.log(JSON.stringify(r, null, 2)); } else {
        out.log(table(['url', 'requests', 'req/s', 'p50', 'p90', 'p99', 'non-2xx', 'errors'], [[r.url, r.requests.total, r.rps.toFixed(0), `${r.latencyMs.p50} ms`, `${r.latencyMs.p90} ms`, `${r.latencyMs.p99} ms`, r.requests.non2xx, r.requests.errors + r.requests.timeouts]]));
        out.log(table(['replica (X-Instance)', 'responses', 'share'], r.distribution.map((d) => [d.instance, d.count, `${(d.share * 100).toFixed(1)}%`])));
        out.log(`fairness: ${r.fairness.verdict} (chi² ${r.fairness.chiSquare.toFixed(2)}, df ${r.fairness.df}, p ${r.fairness.pValue.toFixed(3)}): ${r.fairness.explanation}`);
      }
      if (r.requests.errors + r.requests.timeouts > 0 || r.fairness.verdict === 'unfair') process.exitCode = EXIT.failed;
    });
}
