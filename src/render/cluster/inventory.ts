// inventory.yml: every value the spec decides, as host and group variables. The roles read
// only these variables, so no spec value is ever spliced into a task or a template.
import type { ClusterPlan } from '../../plan/cluster.js';

/** WireGuard's Endpoint: an IPv6 address needs brackets before the port. */
export function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function inventory(plan: ClusterPlan, publicKeys: Record<string, string>): unknown {
  const host = (n: ClusterPlan['nodes'][number]) => ({
    ansible_host: n.publicAddress,
    ansible_user: n.sshUser,
    ansible_port: n.sshPort,
    wg_address: n.wgAddress,
    wg_endpoint: endpoint(n.publicAddress, plan.wireguard.port),
    wg_public_key: publicKeys[n.name],
    ...(plan.orchestrator === 'k3s' ? { k3s_role: n.role === 'manager' ? 'server' : 'agent' } : { swarm_role: n.role }),
    node_labels: n.labels,
  });
  const group = (role: 'manager' | 'worker') => ({
    hosts: Object.fromEntries(plan.nodes.filter((n) => n.role === role).map((n) => [n.name, host(n)])),
  });
  return {
    all: {
      vars: {
        wharf_secrets_dir: '{{ playbook_dir }}/../secrets',
        ...(plan.orchestrator === 'k3s'
          ? { k3s_bootstrap: plan.bootstrap, k3s_version: plan.k3sVersion }
          : { swarm_bootstrap: plan.bootstrap }),
        wg_subnet: plan.wireguard.subnet,
        wg_prefix: plan.wireguard.prefix,
        wg_port: plan.wireguard.port,
        wg_mtu: plan.wireguard.mtu,
        overlay_mtu: plan.wireguard.overlayMtu,
        firewall_enabled: plan.firewall.enabled,
        ssh_from: plan.firewall.sshFrom.length ? plan.firewall.sshFrom : ['any'],
        wg_userspace: false,
        wg_systemd: true,
      },
      children: { managers: group('manager'), workers: group('worker') },
    },
  };
}
