// wharf cluster render|apply|preflight: bootstrap the nodes of cluster: with Ansible.
import type { Command } from 'commander';
import { resolveSpecPath } from '../../ops/prepare.js';
import { action, fileOption, type Register } from '../command.js';
import { printIssues } from '../format/issues.js';
import { table } from '../format/table.js';
import { seconds } from '../format/units.js';

interface Flags {
  file?: string;
  inventory?: string[];
  limit?: string;
  tags?: string[];
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const mark = { ok: '✓', warn: '!', fail: '✗', skip: '-' } as const;

async function render(o: Flags) {
  const { clusterRender } = await import('../../ops/cluster.js');
  return clusterRender(resolveSpecPath(o.file));
}

const withRunOptions = (c: Command) =>
  c
    .addOption(fileOption())
    .option('-i, --inventory <path>', 'another inventory after .wharf/cluster/inventory.yml (connection settings); repeatable', collect)
    .option('--limit <pattern>', 'only these hosts (ansible-playbook --limit)')
    .option('--json', 'print the result as JSON', false);

export const registerCluster: Register = (program, cli) => {
  const out = cli.io.out;
  const cluster = program
    .command('cluster')
    .description("bootstrap the cluster's nodes with Ansible: WireGuard mesh, hardening, Docker, Swarm over wg0");

  cluster
    .command('render')
    .description('write the Ansible project into .wharf/cluster (WireGuard keys into .wharf/secrets, never printed)')
    .addOption(fileOption())
    .action(
      action(cli, async (o: Flags) => {
        const r = await render(o);
        const changed = new Set(r.write.written);
        out.log(
          table(
            ['file', 'state'],
            r.files.map((f) => [f.path, changed.has(f.path) ? 'written' : 'unchanged']),
          ),
        );
        const nodes = r.plan.nodes.map((n) => [n.name, n.role, n.publicAddress, n.wgAddress, `${n.sshUser}, port ${n.sshPort}`]);
        out.log(table(['node', 'role', 'public address', 'wg0', 'ssh'], nodes));
        const wg = r.plan.wireguard;
        const keys = `${r.keys.created.length} created, ${r.keys.kept.length} kept`;
        out.log(
          `${r.files.length} files in ${r.outDir}; wg0 MTU ${wg.mtu}, overlay MTU ${wg.overlayMtu}; WireGuard keys in ${r.secretsDir} (${keys})`,
        );
      }),
    );

  withRunOptions(cluster.command('apply'))
    .description('render, then run ansible-playbook site.yml on every node; prints a summary per host')
    .option('--tags <tags>', 'only these parts: hardening, wireguard, firewall, docker, swarm (comma-separated)', (v: string) =>
      v.split(',').filter(Boolean),
    )
    .action(
      action(cli, async (o: Flags) => {
        const r = await render(o);
        const { clusterApply } = await import('../../ops/cluster.js');
        const a = await clusterApply(r, {
          inventories: o.inventory,
          limit: o.limit,
          tags: o.tags,
          onEvent: o.json
            ? undefined
            : (e) => {
                if (e.kind === 'play') out.error(`• ${e.name}`);
                else if (e.kind === 'task') out.error(`  ${e.name}`);
                else if (e.kind === 'host' && (e.status === 'fatal' || e.status === 'unreachable'))
                  out.error(`    ✗ ${e.host} ${e.status}`);
              },
        });
        if (o.json) {
          out.log(JSON.stringify(a, null, 2));
        } else {
          const hosts = a.hosts.map((h) => [h.host, h.ok, h.changed, h.failed, h.unreachable, h.skipped]);
          out.log(table(['host', 'ok', 'changed', 'failed', 'unreachable', 'skipped'], hosts));
          if (a.tail.length)
            printIssues(
              out,
              a.tail.map((l) => ({ path: 'ansible', severity: 'error', message: l })),
            );
          const changes = a.hosts.reduce((n, h) => n + h.changed, 0);
          out.log(`${a.ok ? 'applied' : 'failed'} in ${seconds(a.durationMs)}; ${changes} changes`);
        }
        return a.ok ? 'ok' : 'failed';
      }),
    );

  withRunOptions(cluster.command('preflight'))
    .description(
      'from every node: SSH, WireGuard handshakes, full-MTU ping over wg0, cluster ports between pairs, clock skew, Docker versions',
    )
    .action(
      action(cli, async (o: Flags) => {
        const r = await render(o);
        const { clusterPreflight } = await import('../../ops/cluster.js');
        const p = await clusterPreflight(r, { inventories: o.inventory, limit: o.limit });
        if (o.json) {
          out.log(JSON.stringify(p, null, 2));
        } else {
          out.log(
            table(
              ['', 'check', 'result', 'fix'],
              p.checks.map((c) => [mark[c.status], c.title, c.detail, c.hint ?? '']),
            ),
          );
          out.log(`${p.summary.ok} ok, ${p.summary.warn} warnings, ${p.summary.fail} failed`);
        }
        return p.ok ? 'ok' : 'failed';
      }),
    );
};
