// Test hosts for `wharf cluster` (cluster.e2e.test.ts: no init system; cluster-systemd.e2e.test.ts:
// systemd as PID 1): containers from the debootstrap base on a network of their own, reached
// with Ansible's community.docker.docker connection, and the checks both files make on them.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { stringify } from 'yaml';
import type { ClusterRendered } from '../../../src/ops/cluster.js';
import { repoRoot } from './images.js';

const dockerfileDir = join(repoRoot, 'scripts', 'docker', 'cluster-node');

/** Every capability but SYS_RESOURCE, as scripts/docker/swarm-nodes.sh runs its nodes (no --privileged), and TUN for wireguard-go. */
export const HOST_RUN_FLAGS = [
  '--cap-add',
  'ALL',
  '--cap-drop',
  'SYS_RESOURCE',
  '--security-opt',
  'seccomp=unconfined',
  '--security-opt',
  'apparmor=unconfined',
  '--security-opt',
  'systempaths=unconfined',
  '--device',
  '/dev/net/tun',
];

/** The image of scripts/docker/cluster-node/<dockerfile>, tagged by the base and the files that go into it; built when missing. */
export async function hostImage(repo: string, dockerfile: string, inputs: string[], log: (m: string) => void): Promise<string> {
  const base = (await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', 'local/debian:bookworm'])).stdout.trim();
  const hash = createHash('sha256').update(base);
  for (const f of [dockerfile, ...inputs]) hash.update(readFileSync(join(dockerfileDir, f)));
  const ref = `${repo}:${hash.digest('hex').slice(0, 12)}`;
  if ((await execa('docker', ['image', 'inspect', ref], { reject: false })).exitCode !== 0) {
    log(`building ${ref}`);
    const network = process.env.WHARF_BUILD_NETWORK ? ['--network', process.env.WHARF_BUILD_NETWORK] : [];
    await execa('docker', ['build', '-q', '-f', join(dockerfileDir, dockerfile), '-t', ref, ...network, dockerfileDir], {
      env: { DOCKER_BUILDKIT: '0' },
    });
  }
  return ref;
}

/** Names, exec and clean-up of one run's hosts (`<prefix>-<node>` on `<prefix>-net`). */
export function testHosts(kind: string, names: string[]) {
  const prefix = `wharf-${kind}-${randomBytes(4).toString('hex')}`;
  const container = (n: string) => `${prefix}-${n}`;
  return {
    names,
    net: `${prefix}-net`,
    container,
    exec: (n: string, argv: string[], reject = true) => execa('docker', ['exec', container(n), ...argv], { reject }),
    /** the inventory that reaches them: docker exec instead of SSH, already root, userspace WireGuard */
    writeInventory(path: string, vars: Record<string, unknown>): string {
      writeFileSync(
        path,
        stringify({
          all: {
            vars: { ansible_connection: 'community.docker.docker', ansible_become: false, wg_userspace: true, ...vars },
            hosts: Object.fromEntries(names.map((n) => [n, { ansible_host: container(n) }])),
          },
        }),
      );
      return path;
    },
    async remove() {
      for (const n of names) await execa('docker', ['rm', '-f', '-v', container(n)], { reject: false });
      await execa('docker', ['network', 'rm', `${prefix}-net`], { reject: false });
    },
  };
}
export type TestHosts = ReturnType<typeof testHosts>;

/** A handshake needs traffic: one ping over wg0 each way, then every node has one with every peer. */
export async function assertHandshakes(hosts: TestHosts, rendered: ClusterRendered): Promise<void> {
  const nodes = rendered.plan.nodes;
  for (const a of nodes)
    for (const b of nodes) if (a !== b) await hosts.exec(a.name, ['ping', '-c', '1', '-W', '3', '-I', 'wg0', b.wgAddress]);
  for (const a of nodes) {
    const hs = (await hosts.exec(a.name, ['wg', 'show', 'wg0', 'latest-handshakes'])).stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    for (const b of nodes.filter((x) => x !== a)) {
      const row = hs.find(([k]) => k === rendered.publicKeys[b.name]);
      assert.ok(row && Number(row[1]) > 0, `${a.name} has no handshake with ${b.name}: ${JSON.stringify(hs)}`);
    }
  }
}

/** `fail2ban-client status sshd` on the node once it lists the address (or after 30 s), and how long that took. */
export async function waitBanned(hosts: TestHosts, node: string, address: string): Promise<{ status: string; seconds: number }> {
  const t0 = performance.now();
  let status = '';
  while (performance.now() - t0 < 30_000) {
    status = (await hosts.exec(node, ['fail2ban-client', 'status', 'sshd'])).stdout;
    if (status.includes(address)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { status, seconds: +((performance.now() - t0) / 1000).toFixed(1) };
}
