// IPv4 arithmetic for the WireGuard subnet: shared by the cluster rules and the cluster plan.

export function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** The network address and the number of usable hosts of an IPv4 CIDR. */
export function subnetRange(cidr: string): { network: number; prefix: number; hosts: number } {
  const [addr, p] = cidr.split('/');
  const prefix = Number(p);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(ipv4ToInt(addr!) / size) * size;
  return { network, prefix, hosts: Math.max(size - 2, 0) };
}

export function inSubnet(address: string, cidr: string): boolean {
  const { network, prefix } = subnetRange(cidr);
  const n = ipv4ToInt(address);
  return n > network && n < network + 2 ** (32 - prefix) - 1;
}

/** Default wg0 address: host number = position in cluster.nodes + 1. */
export function defaultWgAddress(cidr: string, index: number): string {
  return intToIpv4(subnetRange(cidr).network + index + 1);
}
