// `wharf cluster render|apply|preflight`: the spec's cluster: section -> an Ansible project
// in .wharf/cluster (keys in .wharf/secrets), then ansible-playbook through the one executor.
import { join } from 'node:path';
import { buildClusterPlan, type ClusterPlan } from '../plan/cluster.js';
import { renderCluster } from '../render/cluster/index.js';
import type { RenderedFile } from '../render/files.js';
import { ensureWireguardKeys, type WireguardKeys } from '../secrets/wireguard.js';
import { UserInputError } from '../spec/issues.js';
import { load } from './prepare.js';
import { parseJsonRun, parseRecap, playbookCmd, progressOf, type HostRecap, type PlaybookOptions } from '../engine/ansible.js';
import { run as defaultRun, type Runner } from '../engine/run.js';
import { preflightChecks, type PreflightCheck } from './cluster-preflight.js';
import type { CheckStatus } from './checks.js';
import { writeFiles, type WriteResult } from './write.js';

export interface ClusterRendered {
  plan: ClusterPlan;
  outDir: string;
  secretsDir: string;
  files: RenderedFile[];
  write: WriteResult;
  keys: Omit<WireguardKeys, 'publicKeys'>;
  publicKeys: Record<string, string>;
}

export async function clusterRender(specPath: string): Promise<ClusterRendered> {
  const l = await load(specPath);
  const plan = buildClusterPlan(l.stack);
  if (!plan.nodes.length)
    throw new UserInputError([
      {
        path: 'cluster.nodes',
        severity: 'error',
        message: 'no nodes to bootstrap',
        hint: 'list them: cluster.nodes: [{ name, address, role }]',
      },
    ]);
  if (!plan.bootstrap)
    throw new UserInputError([
      {
        path: 'cluster.nodes',
        severity: 'error',
        message:
          plan.orchestrator === 'k3s' ? 'no manager: K3s needs one as its first server' : 'no manager: a swarm needs one to initialise it',
        hint: 'set role: manager on at least one node (3 for fault tolerance)',
      },
    ]);
  const outDir = join(l.layout.projectDir, '.wharf', 'cluster');
  const { publicKeys, created, kept } = ensureWireguardKeys(
    l.layout.secretsDir,
    plan.nodes.map((n) => n.name),
  );
  const files = renderCluster(plan, publicKeys);
  return { plan, outDir, secretsDir: l.layout.secretsDir, files, write: writeFiles(outDir, files), keys: { created, kept }, publicKeys };
}

export type ApplyEvent = { kind: 'play' | 'task'; name: string } | { kind: 'host'; status: string; host: string };

export interface ApplyResult {
  ok: boolean;
  hosts: HostRecap[];
  durationMs: number;
  exitCode: number;
  tail: string[];
}

export interface ClusterRunOptions extends Pick<PlaybookOptions, 'inventories' | 'limit' | 'tags'> {
  runner?: Runner;
  onEvent?: (e: ApplyEvent) => void;
}

/** ansible-playbook site.yml; ok when every host recapped with no failure and no unreachable. */
export async function clusterApply(r: Pick<ClusterRendered, 'outDir'>, o: ClusterRunOptions = {}): Promise<ApplyResult> {
  const res = await (o.runner ?? defaultRun)(playbookCmd(r.outDir, 'site.yml', o), {
    reject: false,
    onLine: o.onEvent
      ? (line) => {
          const e = progressOf(line);
          if (e) o.onEvent!(e);
        }
      : undefined,
  });
  const hosts = parseRecap(res.stdout);
  const ok = res.exitCode === 0 && hosts.length > 0 && hosts.every((h) => h.failed === 0 && h.unreachable === 0);
  const tail = ok
    ? []
    : `${res.stdout}\n${res.stderr}`
        .split('\n')
        .filter((l) => /^(fatal|failed): \[|^ERROR!/.test(l))
        .slice(-15);
  return { ok, hosts, durationMs: res.durationMs, exitCode: res.exitCode, tail };
}

export interface PreflightResult {
  ok: boolean;
  checks: PreflightCheck[];
  summary: Record<CheckStatus, number>;
  durationMs: number;
}

/** ansible-playbook preflight.yml with the json callback, read into checks. */
export async function clusterPreflight(
  r: Pick<ClusterRendered, 'outDir' | 'plan' | 'publicKeys'>,
  o: ClusterRunOptions = {},
): Promise<PreflightResult> {
  const res = await (o.runner ?? defaultRun)(playbookCmd(r.outDir, 'preflight.yml', { ...o, json: true }), { reject: false });
  let checks: PreflightCheck[];
  try {
    checks = preflightChecks(parseJsonRun(res.stdout), r.plan, r.publicKeys);
  } catch {
    checks = [
      {
        id: 'ansible',
        title: 'run the preflight playbook',
        status: 'fail',
        ok: false,
        detail: (res.stderr || res.stdout).trim().split('\n').slice(-3).join(' '),
        hint: 'run it by hand: cd .wharf/cluster && ansible-playbook preflight.yml',
      },
    ];
  }
  const summary: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  return { ok: summary.fail === 0, checks, summary, durationMs: res.durationMs };
}
