// ansible-playbook as commands (data), and what its output means: per-host recap for
// `wharf cluster apply`, per-task results (json callback) for `wharf cluster preflight`.
import { cmd, type Cmd } from './command.js';

export interface PlaybookOptions {
  /** more inventories after inventory.yml (tests add connection variables this way) */
  inventories?: string[];
  limit?: string;
  /** only the plays with these tags (hardening, wireguard, firewall, docker, swarm) */
  tags?: string[];
  /** Ansible's json callback instead of the human one */
  json?: boolean;
}

export function playbookCmd(projectDir: string, playbook: string, o: PlaybookOptions = {}): Cmd {
  const argv = [
    'ansible-playbook',
    '-i',
    'inventory.yml',
    ...(o.inventories ?? []).flatMap((i) => ['-i', i]),
    ...(o.limit ? ['--limit', o.limit] : []),
    ...(o.tags?.length ? ['--tags', o.tags.join(',')] : []),
    playbook,
  ];
  const env: Record<string, string> = { ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', ANSIBLE_RETRY_FILES_ENABLED: '0' };
  if (o.json) env.ANSIBLE_STDOUT_CALLBACK = 'json';
  return cmd(argv, `ansible-playbook ${playbook}`, { cwd: projectDir, env });
}

export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

const recapLine = /^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$/;

/** The PLAY RECAP block of the default callback: one line per host. */
export function parseRecap(stdout: string): HostRecap[] {
  const at = stdout.lastIndexOf('PLAY RECAP');
  if (at < 0) return [];
  const out: HostRecap[] = [];
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    const m = recapLine.exec(line.trim());
    if (!m) continue;
    const n = Object.fromEntries(
      m[2]!
        .trim()
        .split(/\s+/)
        .map((kv) => kv.split('='))
        .map(([k, v]) => [k, Number(v)]),
    );
    out.push({
      host: m[1]!,
      ok: n.ok ?? 0,
      changed: n.changed ?? 0,
      unreachable: n.unreachable ?? 0,
      failed: n.failed ?? 0,
      skipped: n.skipped ?? 0,
      rescued: n.rescued ?? 0,
      ignored: n.ignored ?? 0,
    });
  }
  return out;
}

/** A progress event from one line of the default callback, if it starts a play or task. */
export function progressOf(
  line: string,
): { kind: 'play' | 'task'; name: string } | { kind: 'host'; status: string; host: string } | undefined {
  const m = /^(PLAY|TASK|RUNNING HANDLER) \[(.*)\] \**$/.exec(line);
  if (m) return { kind: m[1] === 'PLAY' ? 'play' : 'task', name: m[2]! };
  const h = /^(ok|changed|skipping|fatal|failed|unreachable): \[([^\]]+)\]/.exec(line);
  return h ? { kind: 'host', status: h[1]!, host: h[2]!.split(' ')[0]! } : undefined;
}

/** One host's result of one task, as the json callback reports it. */
export interface TaskResult {
  rc?: number;
  stdout?: string;
  stderr?: string;
  msg?: string;
  failed?: boolean;
  unreachable?: boolean;
  skipped?: boolean;
  results?: Array<TaskResult & { item?: unknown }>;
  [k: string]: unknown;
}

export interface JsonRun {
  /** task name -> host -> result */
  tasks: Map<string, Map<string, TaskResult>>;
  stats: Record<string, { ok: number; changed: number; unreachable: number; failures: number; skipped: number }>;
}

/** Ansible's json callback output (stdout of a run with ANSIBLE_STDOUT_CALLBACK=json). */
export function parseJsonRun(stdout: string): JsonRun {
  const start = stdout.indexOf('{');
  const doc = JSON.parse(start >= 0 ? stdout.slice(start) : '{}') as {
    plays?: Array<{ tasks?: Array<{ task: { name: string }; hosts: Record<string, TaskResult> }> }>;
    stats?: JsonRun['stats'];
  };
  const tasks = new Map<string, Map<string, TaskResult>>();
  for (const p of doc.plays ?? [])
    for (const t of p.tasks ?? []) {
      const byHost = tasks.get(t.task.name) ?? new Map<string, TaskResult>();
      for (const [h, r] of Object.entries(t.hosts)) byHost.set(h, r);
      tasks.set(t.task.name, byHost);
    }
  return { tasks, stats: doc.stats ?? {} };
}
