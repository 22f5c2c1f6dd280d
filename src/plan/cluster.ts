// The cluster a `wharf cluster` run bootstraps, decided once from the spec: each node's
// public and wg0 addresses, its SSH login, the mesh's MTUs. Renderers and preflight read this.
import type { Stack } from '../spec/schema.js';
import { defaultWgAddress, intToIpv4, subnetRange } from '../spec/ipv4.js';

export { defaultWgAddress };

/** WireGuard's worst-case overhead: outer IPv6 header 40 + UDP 8 + WireGuard 32 (type,
 *  receiver, counter 16 + Poly1305 tag 16) = 80 bytes. wg0 MTU = underlay - 80 (1500 -> 1420),
 *  the same default wg-quick picks. */
export const WIREGUARD_OVERHEAD = 80;
/** VXLAN inside wg0: inner Ethernet 14 + outer IPv4 20 + UDP 8 + VXLAN 8 = 50 bytes, so the
 *  Swarm overlay MTU = wg0 MTU - 50 (1420 -> 1370); with larger overlay packets the kernel
 *  fragments VXLAN or drops it (DF set), the classic "small requests work, big ones hang". */
export const VXLAN_OVERHEAD = 50;

/** The K3s release the nodes install when the spec targets k8s (Kubernetes 1.31). */
export const K3S_VERSION = 'v1.32.0+k3s1';

export interface ClusterNode {
  name: string;
  role: 'manager' | 'worker';
  /** where SSH and the WireGuard endpoint are reached */
  publicAddress: string;
  wgAddress: string;
  sshUser: string;
  sshPort: number;
  labels: Record<string, string>;
}

export interface ClusterPlan {
  /** what the nodes run: Docker Swarm, or K3s when the spec targets k8s */
  orchestrator: 'swarm' | 'k3s';
  /** K3s release (orchestrator k3s) */
  k3sVersion?: string;
  nodes: ClusterNode[];
  /** the manager that runs `swarm init` (K3s: `cluster-init`); the others join it */
  bootstrap: string;
  wireguard: { subnet: string; prefix: number; port: number; mtu: number; overlayMtu: number };
  firewall: { enabled: boolean; sshFrom: string[] };
}

export function mtus(underlay: number): { mtu: number; overlayMtu: number } {
  const mtu = underlay - WIREGUARD_OVERHEAD;
  return { mtu, overlayMtu: mtu - VXLAN_OVERHEAD };
}

export function buildClusterPlan(stack: Stack): ClusterPlan {
  const c = stack.cluster;
  const { network, prefix } = subnetRange(c.wireguard.subnet);
  const nodes = c.nodes.map((n, i): ClusterNode => ({
    name: n.name,
    role: n.role,
    publicAddress: n.address,
    wgAddress: n.wgAddress ?? defaultWgAddress(c.wireguard.subnet, i),
    sshUser: n.sshUser ?? c.ssh.user,
    sshPort: c.ssh.port,
    labels: { ...n.labels },
  }));
  const k3s = stack.target === 'k8s';
  return {
    orchestrator: k3s ? 'k3s' : 'swarm',
    ...(k3s ? { k3sVersion: K3S_VERSION } : {}),
    nodes,
    bootstrap: nodes.find((n) => n.role === 'manager')?.name ?? '',
    wireguard: { subnet: `${intToIpv4(network)}/${prefix}`, prefix, port: c.wireguard.port, ...mtus(c.wireguard.underlayMtu) },
    firewall: { enabled: c.firewall.enabled, sshFrom: [...c.firewall.sshFrom] },
  };
}
