// Runs the rendered backup scripts on this host, exactly as rendered, against real servers:
// the files of renderBackup() are written to a sandbox and the WHARF_* variables point the
// container paths (/backup, /metrics, /repo, /run/secrets) into it. Used by the backup unit
// tests and bench/backup.
import { execaSync } from 'execa';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildPlan } from '../../src/plan/build.js';
import type { Plan } from '../../src/plan/model.js';
import { planBackupService } from '../../src/plan/backup.js';
import type { BackupExecutor, ServiceControl } from '../../src/ops/backup.js';
import { cmd } from '../../src/engine/command.js';
import { renderBackup } from '../../src/render/backup/index.js';
import { parseSpecText } from '../../src/spec/load.js';
import { PG_BIN } from '../support/servers.js';
import { shellQuote } from '../../src/escape/shell.js';

function versionOf(bin: string): [number, number] | undefined {
  try {
    const out = execaSync(bin, ['version'], { timeout: 10_000 }).stdout;
    const m = /restic (\d+)\.(\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A restic >= 0.17 (the scripts use --stdin-from-command). WHARF_RESTIC, else the one on PATH
 * if new enough, else the one inside the e2e suite's restic image (copied out once).
 * Debian bookworm's restic is 0.14 and too old. Unless `realKey`, the path of a wrapper whose
 * `restic init` leaves a local repository keyed with cheap scrypt parameters
 * (test/support/restic-test-key.mjs): every other command is restic itself (exec'd, so signals
 * reach it), but opens the repository in milliseconds instead of ~0.5 s of CPU.
 */
export function resticBinary(o: { realKey?: boolean } = {}): string | undefined {
  const real = findRestic();
  return real && !o.realKey ? cheapKeyWrapper(real) : real;
}

function cheapKeyWrapper(real: string): string {
  const rekey = join(import.meta.dirname, '..', 'support', 'restic-test-key.mjs');
  const text = [
    '#!/bin/sh',
    '# tests only: restic; a local repository made by `init` is re-keyed with cheap scrypt parameters',
    `[ "$1" = init ] || exec ${shellQuote(real)} "$@"`,
    `${shellQuote(real)} "$@" || exit $?`,
    `case "$RESTIC_REPOSITORY" in /*) exec ${shellQuote(process.execPath)} ${shellQuote(rekey)} ;; esac`,
    '',
  ].join('\n');
  const dir = join(tmpdir(), `wharf-restic-cheap-key-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
  const dest = join(dir, 'restic');
  if (!existsSync(dest)) {
    mkdirSync(dir, { recursive: true });
    // test files run side by side: write aside, then rename
    const tmp = `${dest}.${process.pid}`;
    writeFileSync(tmp, text, { mode: 0o755 });
    renameSync(tmp, dest);
  }
  return dest;
}

function findRestic(): string | undefined {
  const cands = [process.env.WHARF_RESTIC, 'restic'].filter((x): x is string => !!x);
  for (const c of cands) {
    const v = versionOf(c);
    if (v && (v[0] > 0 || v[1] >= 17)) return c;
  }
  try {
    const ids = execaSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'], { timeout: 20_000 })
      .stdout.split('\n')
      .filter((l) => l.startsWith('wharf-test/restic:'));
    const line = ids[0];
    if (!line) return undefined;
    const [ref, id] = line.split(' ') as [string, string];
    const dest = join(tmpdir(), `wharf-restic-${id}`, 'restic');
    if (!existsSync(dest)) {
      mkdirSync(dirname(dest), { recursive: true });
      const cid = execaSync('docker', ['create', ref], { timeout: 30_000 }).stdout.trim();
      try {
        execaSync('docker', ['cp', `${cid}:/usr/bin/restic`, dest], { timeout: 60_000 });
      } finally {
        execaSync('docker', ['rm', '-v', cid], { reject: false });
      }
      chmodSync(dest, 0o755);
    }
    const v = versionOf(dest);
    return v && (v[0] > 0 || v[1] >= 17) ? dest : undefined;
  } catch {
    return undefined;
  }
}

/** The plan of a spec, with the backup service in it (planBackupService; build.ts adds it once wired). */
export function planFromYaml(text: string): Plan {
  const r = parseSpecText(text);
  if (!r.stack) throw new Error(`bad spec: ${JSON.stringify(r.issues)}`);
  const plan = buildPlan(r.stack, { secretsDir: '../secrets', projectDir: '../..' });
  if (!plan.components.some((c) => c.role === 'backup')) {
    const part = planBackupService(r.stack, plan.backups, plan.components, plan.paths.projectDir);
    plan.components.push(...part.components);
    plan.volumes.push(...part.volumes);
    for (const s of part.secrets) if (!plan.secrets.some((x) => x.name === s.name)) plan.secrets.push(s);
  }
  return plan;
}

/** A minimal stack with one PostgreSQL database backed up (user/database match startPostgres()). */
export function postgresSpec(opts: { keepLast?: number; schedule?: string } = {}): string {
  return `name: bk
domain: bk.localhost
services:
  api:
    image: example/api:1
    port: 3000
    uses: [db]
databases:
  db:
    engine: postgres
    user: wharf
    database: wharf
    backup:
      schedule: "${opts.schedule ?? '*/5 * * * *'}"
      retention:
        keepLast: ${opts.keepLast ?? 10}
${opts.schedule ? `      verify:\n        schedule: "${opts.schedule}"\n` : ''}monitoring:
  enabled: false
`;
}

export interface RunOut {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Sandbox {
  dir: string;
  home: string;
  metricsDir: string;
  repoDir: string;
  secretsDir: string;
  env: Record<string, string>;
  /** runs backup/bin/<script>.sh with args */
  run(script: 'backup' | 'verify' | 'restore' | 'scheduler', args: string[], extraEnv?: Record<string, string>): Promise<RunOut>;
  /** the ops layer's executor, running the scripts here instead of in the container */
  executor: BackupExecutor;
  /** service stops and starts asked by restores, in order ("stop web", "start web") */
  serviceCalls: string[];
  /** the job's metrics file (node-exporter textfile) */
  metrics(job: string): string;
  cleanup(): void;
}

/**
 * Service control for the sandbox: records every stop/start in `calls`; `real` maps a service
 * to the process standing in for it (a real Redis), others are only recorded.
 */
export function recordingServices(calls: string[], real: Record<string, Partial<ServiceControl>> = {}): ServiceControl {
  const each = async (op: 'stop' | 'start', names: string[]) => {
    for (const n of names) {
      calls.push(`${op} ${n}`);
      await real[n]?.[op]?.([n]);
    }
  };
  return {
    stop: (names) => each('stop', names),
    start: (names) => each('start', names),
    waitHealthy: async (names, ms) => {
      for (const n of names) await real[n]?.waitHealthy?.([n], ms);
    },
    notRunning: async () => [],
  };
}

export function makeSandbox(
  plan: Plan,
  o: { restic: string; secrets?: Record<string, string>; env?: Record<string, string>; services?: Record<string, Partial<ServiceControl>> },
): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-backup-'));
  const home = join(dir, 'backup');
  const metricsDir = join(dir, 'metrics');
  const repoDir = join(dir, 'repo');
  const secretsDir = join(dir, 'secrets');
  for (const d of [home, metricsDir, repoDir, secretsDir, join(dir, 'tmp'), join(dir, 'volumes')]) mkdirSync(d, { recursive: true });
  for (const f of renderBackup(plan)) {
    const p = join(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.contents, { mode: f.mode ?? 0o644 });
  }
  const all = { 'backup-restic-password': randomBytes(24).toString('base64url'), ...o.secrets };
  for (const [k, v] of Object.entries(all)) writeFileSync(join(secretsDir, k), v, { mode: 0o600 });
  const env: Record<string, string> = {
    PATH: `${PG_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    WHARF_BACKUP_HOME: home,
    WHARF_METRICS_DIR: metricsDir,
    WHARF_REPO_DIR: repoDir,
    WHARF_SECRETS_DIR: secretsDir,
    WHARF_TMP: join(dir, 'tmp'),
    WHARF_VOLUMES_DIR: join(dir, 'volumes'),
    RESTIC: o.restic,
    TZ: 'UTC',
    ...o.env,
  };
  const run: Sandbox['run'] = (script, args, extraEnv = {}) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const child = spawn(join(home, 'bin', `${script}.sh`), args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, ms: performance.now() - t0 }));
    });
  const serviceCalls: string[] = [];
  return {
    dir,
    home,
    metricsDir,
    repoDir,
    secretsDir,
    env,
    run,
    serviceCalls,
    executor: {
      plan,
      services: recordingServices(serviceCalls, o.services),
      script: (name, args, describe, timeoutMs) => cmd([join(home, 'bin', `${name}.sh`), ...args], describe, { env, timeoutMs }),
    },
    metrics: (job) => {
      try {
        return execaSync('cat', [join(metricsDir, `wharf_backup_${job}.prom`)]).stdout;
      } catch {
        return '';
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** value of a metric line `name{...} value` in a textfile, or undefined */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
