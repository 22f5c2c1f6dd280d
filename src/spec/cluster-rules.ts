// Cross-field rules of the cluster: section. Errors name the node's path.
import { defaultWgAddress, inSubnet, subnetRange } from './ipv4.js';
import type { Stack } from './schema.js';
import type { Issue } from './issues.js';

type Rule = (s: Stack) => Issue[];
const err = (path: string, message: string, hint?: string): Issue => ({ path, message, hint, severity: 'error' });

/** Reports the second and later nodes that repeat a value already used by an earlier one. */
function duplicates(s: Stack, field: string, value: (i: number) => string | undefined, what: string): Issue[] {
  const seen = new Map<string, number>();
  const out: Issue[] = [];
  s.cluster.nodes.forEach((_, i) => {
    const v = value(i);
    if (v === undefined) return;
    const prev = seen.get(v);
    if (prev === undefined) seen.set(v, i);
    else
      out.push(
        err(
          `cluster.nodes[${i}].${field}`,
          `${what} ${v} is already used by cluster.nodes[${prev}] (${s.cluster.nodes[prev]!.name})`,
          `give each node its own ${what}`,
        ),
      );
  });
  return out;
}

export const uniqueNodeNames: Rule = (s) => duplicates(s, 'name', (i) => s.cluster.nodes[i]!.name, 'name');
export const uniqueNodeAddresses: Rule = (s) => duplicates(s, 'address', (i) => s.cluster.nodes[i]!.address, 'address');

export const subnetFitsNodes: Rule = (s) => {
  const { hosts } = subnetRange(s.cluster.wireguard.subnet);
  return s.cluster.nodes.length > hosts
    ? [
        err(
          'cluster.wireguard.subnet',
          `${s.cluster.wireguard.subnet} has ${hosts} host addresses for ${s.cluster.nodes.length} nodes`,
          'use a wider subnet, such as a /24',
        ),
      ]
    : [];
};

export const wgAddressesInSubnet: Rule = (s) => {
  const subnet = s.cluster.wireguard.subnet;
  const wg = (i: number) => s.cluster.nodes[i]!.wgAddress ?? defaultWgAddress(subnet, i);
  if (subnetFitsNodes(s).length) return [];
  const outside = s.cluster.nodes.flatMap((n, i) =>
    n.wgAddress && !inSubnet(n.wgAddress, subnet)
      ? [
          err(
            `cluster.nodes[${i}].wgAddress`,
            `${n.wgAddress} is not a host address of cluster.wireguard.subnet ${subnet}`,
            `pick one inside ${subnet}, or remove wgAddress to get ${defaultWgAddress(subnet, i)}`,
          ),
        ]
      : [],
  );
  return [...outside, ...duplicates(s, 'wgAddress', wg, 'wg0 address')];
};

export const clusterRules: Rule[] = [uniqueNodeNames, uniqueNodeAddresses, subnetFitsNodes, wgAddressesInSubnet];
