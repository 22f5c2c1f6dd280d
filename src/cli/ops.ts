// Commands that drive a running stack. Ops are loaded lazily so `check` and
// `render` stay quick; each prints a table, or JSON with --json.
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import type { OpsContext } from '../engine/context.js';
import { prepare, load, resolveSpecPath, targetDir } from '../ops/prepare.js';
import { targets, type Target } from '../render/index.js';
import type { UpEvent } from '../ops/up.js';
import { EXIT } from './exit.js';
import { UserInputError } from '../spec/issues.js';
import { table, type Out } from './output.js';
import { parseCount, parseDockerHost, parseSeconds } from './parse-options.js';

interface TargetFlags { file?: string; target?: Target; host?: string }

export const targetOpt = () => new Option('--target <target>', 'where the platform runs (default: the spec\'s target:, else compose)').choices([...targets]);
const hostOpt = () => new Option('-H, --host <docker-host>', 'swarm: a manager\'s engine, tcp://HOST:2375 or ssh://USER@HOST (default: cluster.manager, then DOCKER_HOST)').argParser(parseDockerHost);

async function context(o: TargetFlags, opts: { render: boolean }): Promise<OpsContext> {
  const specPath = resolveSpecPath(o.file);
  const { targetContext } = await import('../engine/context.js');
  const loaded = await load(specPath);
  const target = o.target ?? loaded.stack.target ?? 'compose';
  const refused = await (await import('../check/policy.js')).targetErrors(target, loaded.stack, loaded.plan);
  if (refused.length) throw new UserInputError(refused);
  // Which Compose runs the files is known before rendering: replica container names depend on it.
  const compose = target === 'compose' ? await (await import('../engine/detect.js')).detectCompose() : undefined;
  const l = opts.render ? await prepare({ specPath, target, loaded, render: compose ? { composeKind: compose.kind } : undefined }) : loaded;
  return targetContext({
    target, plan: l.plan, stack: l.stack, outDir: targetDir(l.layout, target), projectDir: l.layout.projectDir,
    secretsDir: l.layout.secretsDir, compose, host: o.host,
  });
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
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--timeout <seconds>', 'how long to wait for health: seconds, or a duration like 5m', parseSeconds, 300)
    .option('--no-build', 'do not build services with build:')
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; target?: Target; host?: string; timeout: number; build: boolean; json: boolean }) => {
      const ctx = await context(o, { render: true });
      const { up, UpTimeoutError, RolloutFailedError } = await import('../ops/up.js');
      const { ImageUnavailableError } = await import('../ops/images.js');
      try {
        const r = await up(ctx, { timeoutMs: o.timeout * 1000, build: o.build, onProgress: o.json ? undefined : upProgress(out, !!process.stderr.isTTY) });
        if (process.stderr.isTTY && !o.json) process.stderr.write('\n');
        if (o.json) { out.log(JSON.stringify(r, null, 2)); return; }
        out.log(table(['service', 'role', 'replicas', 'state'], r.services.map((s) => [s.service, s.role, `${s.healthy}/${s.desired}`, s.state])));
        out.log(table(['route', 'url', 'auth'], r.urls.map((u) => [u.route, u.url, u.auth ? 'basic auth' : ''])));
        out.log(table(['credentials for', 'file'], r.credentials.map((c) => [c.what, c.file])));
        for (const x of r.rollouts) out.log(`rolled ${x.service} zero-downtime: ${x.replicas} replicas (${x.replaced} replaced, ${x.started} new, ${x.waves} wave${x.waves === 1 ? '' : 's'}) in ${(x.durationMs / 1000).toFixed(1)}s${x.revision ? `, revision ${x.revision}` : ''}`);
        for (const x of r.unavailable) out.log(`recreated ${x.service} stop-first: unavailable for ${(x.ms / 1000).toFixed(1)}s`);
        out.log(`${r.project}: ${r.services.length} services healthy in ${(r.durationMs / 1000).toFixed(1)}s${r.changed.length || r.reloaded.length ? ` (${[r.changed.length ? `changed: ${r.changed.join(', ')}` : '', r.reloaded.length ? `reloaded: ${r.reloaded.join(', ')}` : ''].filter(Boolean).join('; ')})` : ' (nothing changed)'}${r.pruned.length ? `; removed ${r.pruned.length} superseded configs and secrets` : ''}`);
      } catch (err) {
        if (err instanceof ImageUnavailableError) { out.error(err.message); process.exitCode = EXIT.failed; return; }
        if (err instanceof RolloutFailedError) { out.error(err.message); process.exitCode = EXIT.failed; return; }
        if (await rolloutFailure(err, false)) return;
        if (err instanceof UpTimeoutError) { if (process.stderr.isTTY) process.stderr.write('\n'); out.error(err.message); process.exitCode = EXIT.failed; return; }
        throw err;
      }
    });

  const rolloutProgress = (json: boolean) => json ? undefined : (e: import('../ops/rollout.js').RolloutEventOut) =>
    out.error(`  ${e.service} [${e.phase}] ${e.detail} (${(e.elapsedMs / 1000).toFixed(1)}s)`);
  const rolloutTable = (rs: import('../ops/rollout.js').ServiceRollout[]) => table(['service', 'result', 'replicas', 'replaced', 'started', 'waves', 'revision', 'time'],
    rs.map((r) => [r.service, r.ok ? 'ok' : `FAILED: ${r.error}`, r.replicas, r.replaced, r.started, r.waves, r.revision ?? '', `${(r.durationMs / 1000).toFixed(1)}s`]));
  const rolloutFailure = async (err: unknown, json: boolean): Promise<boolean> => {
    const { RolloutError } = await import('../ops/rollout.js');
    if (!(err instanceof RolloutError)) return false;
    if (json) out.log(JSON.stringify({ ok: false, rollouts: [err.result] }, null, 2)); else out.error(err.message);
    process.exitCode = EXIT.failed;
    return true;
  };

  cmd.command('rollout')
    .description('replace a service\'s containers with new ones, zero-downtime: new beside old, gated on health and the edge, old drained (every rolling service when omitted)')
    .argument('[service]', 'service to roll')
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--json', 'print the result as JSON', false)
    .action(async (service: string | undefined, o: { file?: string; target?: Target; host?: string; json: boolean }) => {
      const ctx = await context(o, { render: false });
      const { rollout } = await import('../ops/rollout.js');
      try {
        const r = await rollout(ctx, service ? [service] : [], { onProgress: rolloutProgress(o.json) });
        if (o.json) { out.log(JSON.stringify({ ok: true, ...r }, null, 2)); return; }
        out.log(rolloutTable(r.rollouts));
      } catch (err) { if (!(await rolloutFailure(err, o.json))) throw err; }
    });

  cmd.command('rollback')
    .description('roll a service back to its previous revision, zero-downtime (one host: the recorded definition and image ID; Swarm: the previous service spec)')
    .argument('<service>', 'service to roll back')
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--json', 'print the result as JSON', false)
    .action(async (service: string, o: { file?: string; target?: Target; host?: string; json: boolean }) => {
      const ctx = await context(o, { render: false });
      const { rollback } = await import('../ops/rollback.js');
      try {
        const r = await rollback(ctx, service, { onProgress: rolloutProgress(o.json) });
        if (o.json) { out.log(JSON.stringify({ ok: true, rollouts: [r] }, null, 2)); return; }
        out.log(rolloutTable([r]));
        out.log(`${service}: back to ${r.to ? `revision ${r.to.revision} (${r.to.image}, ${r.to.imageId.slice(0, 19)}, recorded ${r.to.at})` : 'the spec the orchestrator ran before the last update'}; wharf.yaml is unchanged: the next \`wharf up\` rolls forward again unless you change it`);
      } catch (err) { if (!(await rolloutFailure(err, o.json))) throw err; }
    });

  cmd.command('down')
    .description('stop and remove the stack; data volumes are kept unless --volumes')
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('-v, --volumes', 'also delete data volumes (asks first when interactive)', false)
    .option('-y, --yes', 'do not ask before deleting volumes', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; target?: Target; host?: string; volumes: boolean; yes: boolean; json: boolean }) => {
      const ctx = await context(o, { render: false });
      if (o.volumes && !o.yes) {
        if (!process.stdin.isTTY) { out.error('refusing to delete volumes without confirmation: pass --yes'); process.exitCode = EXIT.input; return; }
        const names = ctx.plan.volumes.map((v) => v.name).join(', ');
        if (!(await confirm(`delete the data volumes of ${ctx.plan.name} (${names})? This destroys the data.`))) { out.error('aborted: nothing removed'); process.exitCode = EXIT.failed; return; }
      }
      const { down } = await import('../ops/down.js');
      const r = await down(ctx, { volumes: o.volumes });
      if (r.remaining.containers > 0 || r.unreachableNodes.length) process.exitCode = EXIT.failed;
      if (o.json) { out.log(JSON.stringify(r, null, 2)); return; }
      out.log(`${r.project}: removed ${r.removedContainers} containers${r.volumesRemoved ? ' and the data volumes' : ''}; left: ${r.remaining.containers} containers, ${r.remaining.networks} networks, ${r.remaining.volumes.length} volumes${r.remaining.volumes.length && !r.volumesRemoved ? ` kept (${r.remaining.volumes.join(', ')})` : ''}`);
      if (r.unreachableNodes.length) out.log(`not ready, not cleaned: ${r.unreachableNodes.join(', ')} (run down again once they are back)`);
    });

  cmd.command('status')
    .description('replicas desired/running/healthy, routes, Prometheus targets and firing alerts')
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; target?: Target; host?: string; json: boolean }) => {
      const ctx = await context(o, { render: false });
      const { status } = await import('../ops/status.js');
      const r = await status(ctx);
      if (o.json) { out.log(JSON.stringify(r, null, 2)); return; }
      if (r.cluster) {
        const c = r.cluster;
        out.log(table(['node', 'role', 'state', 'availability', 'manager', 'address', 'containers'], c.nodes.map((n) => [
          n.hostname, n.role, n.state, n.availability, n.leader ? 'leader' : n.reachability ?? '', n.addr, n.dockerHost ? n.containers : 'unreachable (set cluster.nodes[].dockerHost)'])));
        out.log(`managers: ${c.managersUp}/${c.managers} up, leader ${c.leader ?? 'NONE'}; can lose ${c.tolerates} more manager${c.tolerates === 1 ? '' : 's'} and keep quorum`);
      }
      out.log(table(['service', 'role', 'desired', 'running', 'healthy', 'state', ...(r.cluster ? ['nodes'] : [])], r.services.map((s) => [s.service, s.role, s.desired, s.running, s.healthy, s.state, ...(r.cluster ? [s.nodes.join(' ')] : [])])));
      out.log(table(['route', 'url', 'healthy replicas', 'auth'], r.routes.map((x) => [x.route, x.url, `${x.healthy}/${x.replicas}`, x.auth ? 'basic auth' : ''])));
      out.log(r.targets.available ? `Prometheus targets: ${r.targets.up} up, ${r.targets.down} down${r.targets.down ? ` (${r.targets.list.filter((t) => t.health !== 'up').map((t) => t.job).join(', ')})` : ''}` : `Prometheus targets: unavailable (${r.targets.error ?? 'not running'})`);
      out.log(r.alerts.available ? `alerts firing: ${r.alerts.firing.length ? r.alerts.firing.map((a) => a.name).join(', ') : 'none'}${r.alerts.pending ? `; ${r.alerts.pending} pending` : ''}` : `alerts: unavailable (${r.alerts.error ?? 'not running'})`);
      if (!r.running) process.exitCode = EXIT.failed;
    });

  cmd.command('doctor')
    .description('diagnose the stack: engine, ports, health, DNS between services, routes, monitoring, disk')
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; target?: Target; host?: string; json: boolean }) => {
      const ctx = await context(o, { render: false });
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
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--route <name|host>', 'route to load (default: the first public route)')
    .option('--path <path>', 'request path (default: the route\'s)')
    .option('-d, --duration <seconds>', 'duration: seconds, or a duration like 90s', parseSeconds, 10)
    .option('-c, --connections <n>', 'concurrent connections', parseCount(10_000), 10)
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { file?: string; target?: Target; host?: string; route?: string; path?: string; duration: number; connections: number; json: boolean }) => {
      const l = await load(resolveSpecPath(o.file));
      const { loadtest } = await import('../ops/loadtest.js');
      if (!o.json) out.error(`loading for ${o.duration}s with ${o.connections} connections…`);
      const r = await loadtest({ plan: l.plan }, { route: o.route, path: o.path, duration: o.duration, connections: o.connections });
      if (o.json) { out.log(JSON.stringify(r, null, 2)); } else {
        out.log(table(['url', 'requests', 'req/s', 'p50', 'p90', 'p99', 'non-2xx', 'errors'], [[r.url, r.requests.total, r.rps.toFixed(0), `${r.latencyMs.p50} ms`, `${r.latencyMs.p90} ms`, `${r.latencyMs.p99} ms`, r.requests.non2xx, r.requests.errors + r.requests.timeouts]]));
        out.log(table([r.source === 'edge' ? 'replica (named by the edge)' : 'replica (X-Instance)', 'responses', 'share'], r.distribution.map((d) => [d.instance, d.count, `${(d.share * 100).toFixed(1)}%`])));
        if (r.crossCheck) out.log(`cross-check with X-Instance: ${r.crossCheck.agree ? 'agrees' : 'DISAGREES'} (${r.crossCheck.pairs.map((p) => `${p.server}=${p.instances.join('+')}`).join(', ')})`);
        out.log(`fairness: ${r.fairness.verdict} (chi² ${r.fairness.chiSquare.toFixed(2)}, df ${r.fairness.df}, p ${r.fairness.pValue.toFixed(3)}): ${r.fairness.explanation}`);
      }
      const non2xxShare = r.requests.total ? r.requests.non2xx / r.requests.total : 0;
      if (non2xxShare > 0.01 && !o.json) out.error(`${(non2xxShare * 100).toFixed(1)}% of responses were not 2xx: is ${r.target.path} the path you meant? (--path)`);
      if (r.requests.errors + r.requests.timeouts > 0 || non2xxShare > 0.01 || r.fairness.verdict === 'unfair') process.exitCode = EXIT.failed;
    });
}

export function registerBackups(cmd: Command, out: Out, fileOpt: () => import('commander').Option): void {
  const progress = (json: boolean) => json ? undefined : (e: { job: string; phase: string; message: string }) => {
    if (e.phase === 'log' && !process.env.WHARF_VERBOSE) return;
    out.error(`  ${e.job}: ${e.phase === 'log' ? '' : `${e.phase} `}${e.message}`);
  };
  const size = (b?: number) => b === undefined ? '' : b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`;
  const age = (s: number) => s < 120 ? `${Math.round(s)}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;

  cmd.command('backup')
    .description('back up now: every backup job, or those of one target (database, cache or volume)')
    .argument('[target]', 'backup job or target name')
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--json', 'print the result as JSON', false)
    .action(async (target: string | undefined, o: { file?: string; target?: Target; host?: string; json: boolean }) => {
      const ctx = await context(o, { render: false });
      const { backupNow, stackBackupExecutor } = await import('../ops/backup.js');
      const r = await backupNow(await stackBackupExecutor(ctx), { target, onProgress: progress(o.json) });
      if (o.json) out.log(JSON.stringify(r, null, 2));
      else out.log(table(['job', 'target', 'result', 'snapshot', 'dump size', 'added', 'snapshots kept', 'time'], r.map((x) => [x.job, x.target, x.ok ? 'ok' : `FAILED: ${x.error ?? `exit ${x.exitCode}`}`, x.snapshot?.slice(0, 8) ?? '', size(x.bytes), size(x.added), x.snapshots ?? '', `${(x.durationMs / 1000).toFixed(1)}s`])));
      if (r.some((x) => !x.ok)) process.exitCode = EXIT.failed;
    });

  cmd.command('backups')
    .description('list snapshots with size, age and verification state')
    .argument('[target]', 'backup job or target name')
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--json', 'print the result as JSON', false)
    .action(async (target: string | undefined, o: { file?: string; target?: Target; host?: string; json: boolean }) => {
      const ctx = await context(o, { render: false });
      const { listBackups, stackBackupExecutor } = await import('../ops/backup.js');
      const r = await listBackups(await stackBackupExecutor(ctx), { target });
      if (o.json) { out.log(JSON.stringify(r, null, 2)); } else {
        const rows = r.flatMap((j) => j.ok
          ? (j.snapshots.length ? j.snapshots.map((s) => [j.job, s.shortId, s.time.replace(/\.\d+.*$/, ''), age(s.ageSeconds), size(s.bytes), s.safety ? 'safety (pre-restore)' : s.verification]) : [[j.job, '—', '', '', '', 'no snapshot yet']])
          : [[j.job, '—', '', '', '', `ERROR: ${j.error ?? 'unreachable'}`]]);
        out.log(table(['job', 'snapshot', 'time', 'age', 'size', 'verification'], rows));
        for (const j of r) {
          if (j.lastBackup && !j.lastBackup.ok) out.error(`${j.job}: last backup FAILED${j.lastBackup.error ? `: ${j.lastBackup.error}` : ''}`);
          if (j.lastVerify && !j.lastVerify.ok) out.error(`${j.job}: last verification FAILED${j.lastVerify.error ? `: ${j.lastVerify.error}` : ''}`);
        }
      }
      if (r.some((j) => !j.ok || (j.lastBackup && !j.lastBackup.ok) || (j.lastVerify && !j.lastVerify.ok))) process.exitCode = EXIT.failed;
    });

  cmd.command('verify')
    .description('verify backups now: restic check, then a test restore into a scratch database compared with the manifest')
    .argument('[target]', 'backup job or target name')
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--no-restore-test', 'only check the repository')
    .option('--json', 'print the result as JSON', false)
    .action(async (target: string | undefined, o: { file?: string; target?: Target; host?: string; restoreTest: boolean; json: boolean }) => {
      const ctx = await context(o, { render: false });
      const { verifyBackups, stackBackupExecutor } = await import('../ops/backup.js');
      const r = await verifyBackups(await stackBackupExecutor(ctx), { target, restoreTest: o.restoreTest, onProgress: progress(o.json) });
      if (o.json) out.log(JSON.stringify(r, null, 2));
      else out.log(table(['job', 'result', 'restore test', 'tables compared', 'time'], r.map((x) => [x.job, x.ok ? 'ok' : `FAILED: ${x.error ?? `exit ${x.exitCode}`}`, x.restoreTest ? 'yes' : 'no', x.tables ?? '', `${(x.durationMs / 1000).toFixed(1)}s`])));
      if (r.some((x) => !x.ok)) process.exitCode = EXIT.failed;
    });

  cmd.command('restore')
    .description('restore a target from a snapshot (latest by default); asks first, takes a safety snapshot, checks the result')
    .argument('<target>', 'backup job or target name')
    .addOption(fileOpt()).addOption(targetOpt()).addOption(hostOpt())
    .option('--snapshot <id>', 'snapshot id, or latest', 'latest')
    .option('--to-scratch [name]', 'restore into a scratch database instead of the live one')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (target: string, o: { file?: string; target?: Target; host?: string; snapshot: string; toScratch?: boolean | string; yes: boolean; json: boolean }) => {
      const ctx = await context(o, { render: false });
      const { restoreBackup, stackBackupExecutor } = await import('../ops/backup.js');
      const r = await restoreBackup(await stackBackupExecutor(ctx), {
        target, snapshot: o.snapshot, toScratch: o.toScratch, onProgress: progress(o.json),
        confirm: async (req) => {
          const what = `restore ${req.target} (${req.kind}) ${req.destination === 'scratch' ? 'into a scratch copy' : 'IN PLACE, replacing its current data'} from snapshot ${req.snapshot.shortId} of ${req.snapshot.time}${req.safetySnapshot ? '; a safety snapshot is taken first' : ''}${req.stops.length ? `; stops ${req.stops.map((x) => x.service).join(', ')} first and starts them again after` : ''}`;
          if (o.yes) { if (!o.json) out.error(what); return true; }
          if (!process.stdin.isTTY) { out.error(`${what}: refusing without confirmation (pass --yes)`); return false; }
          return confirm(`${what}?`);
        },
      });
      if (o.json) { out.log(JSON.stringify(r, null, 2)); } else if (r.cancelled) { out.error('restore cancelled: nothing changed'); } else {
        out.log(table(['job', 'result', 'snapshot', 'destination', 'safety snapshot', 'checked against manifest', 'time'], [[r.job, r.ok ? 'ok' : `FAILED: ${r.error ?? `exit ${r.exitCode}`}`, r.snapshot?.slice(0, 8) ?? '', r.destination ?? '', r.safetySnapshot?.slice(0, 8) ?? '', r.verified === undefined ? '' : r.verified ? `yes (${r.tables ?? 0} tables)` : 'MISMATCH', `${(r.durationMs / 1000).toFixed(1)}s`]]));
      }
      if (r.cancelled) process.exitCode = EXIT.input;
      else if (!r.ok || r.verified === false) process.exitCode = EXIT.failed;
    });
}
