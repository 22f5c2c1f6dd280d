// The multi-node sections of the spec: where a service may run (placement) and cluster: (nodes,
// SSH, WireGuard, firewall).
import { isIP } from 'node:net';
import { z } from 'zod';
import { isCidr, isDockerHost, isIpAddress } from './grammar.js';
import { cidr } from './primitives.js';

const dockerHost = z
  .string()
  .refine(isDockerHost, 'should be a Docker engine address: tcp://HOST:PORT, ssh://[USER@]HOST[:PORT] or unix:///PATH');
const sshUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'should be a Unix user name: lowercase letters, digits, dashes, underscores');
const nodeName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, "should be a node's host name: lowercase letters, digits, dots and dashes");
const labelKey = z.string().regex(/^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/, 'should be a node label name like zone or wharf.db');
const labelValue = z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'should be a label value: letters, digits, dots, dashes, underscores');

export const placementSchema = z
  .strictObject({
    node: nodeName.optional().describe('run only on the node with this host name'),
    labels: z.record(labelKey, labelValue).default({}).describe('run only on nodes carrying every one of these labels'),
    role: z.enum(['manager', 'worker']).optional().describe('run only on managers, or only on workers'),
  })
  .describe('multi-node targets: where the service may run (single-host targets ignore it)');

export const clusterSchema = z.strictObject({
  encryptNetworks: z
    .boolean()
    .default(true)
    .describe(
      'multi-node targets: encrypt the internal networks between nodes (Swarm: IPsec overlays, which need kernel ESP with AES-GCM; ' +
        'without it their traffic between nodes is dropped)',
    ),
  resolveImage: z
    .enum(['always', 'changed', 'never'])
    .default('always')
    .describe(
      'Swarm: pin image digests at deploy (docker stack deploy --resolve-image); never when this machine cannot reach the registry the nodes pull from',
    ),
  manager: dockerHost.optional().describe("Swarm: a manager's engine the commands talk to (default: DOCKER_HOST, or --host)"),
  nodes: z
    .array(
      z.strictObject({
        name: nodeName.describe("the node's host name, as `docker node ls` shows it"),
        address: z
          .string()
          .refine(isIpAddress, 'should be an IPv4 or IPv6 address')
          .refine((a) => a !== '0.0.0.0' && a !== '::', "should be the node's own address, not 0.0.0.0 or :: (any address)"),
        role: z.enum(['manager', 'worker']).default('manager'),
        labels: z.record(labelKey, labelValue).default({}),
        dockerHost: dockerHost
          .optional()
          .describe(
            "how wharf reaches this node's engine for exec and logs (default: the manager's scheme and port at the node's address)",
          ),
        wgAddress: z
          .string()
          .refine((s) => isIP(s) === 4, 'should be an IPv4 address inside cluster.wireguard.subnet')
          .optional()
          .describe(
            "`wharf cluster`: this node's address on wg0 (default: the subnet's host number = the node's position + 1); " +
              'Swarm advertises and carries VXLAN on it',
          ),
        sshUser: sshUser.optional().describe('`wharf cluster`: the SSH user Ansible logs in as (default: cluster.ssh.user)'),
      }),
    )
    .default([])
    .describe(
      "the cluster's nodes, when known: checked offline (quorum, placement) and used to reach each node's containers; " +
        '`address` is the public address SSH and WireGuard use',
    ),
  ssh: z
    .strictObject({
      user: sshUser.default('root').describe('the SSH user Ansible logs in as on every node'),
      port: z.number().int().min(1).max(65535).default(22),
    })
    .prefault({}),
  wireguard: z
    .strictObject({
      subnet: cidr
        .refine(
          (s) => !isCidr(s) || (isIP(s.split('/')[0]!) === 4 && Number(s.split('/')[1]) <= 30 && Number(s.split('/')[1]) >= 8),
          'should be a private IPv4 subnet with a prefix from /8 to /30 (a wider one would route other networks over wg0)',
        )
        .default('10.213.0.0/24')
        .describe("the WireGuard mesh's subnet; every node gets one address on wg0 inside it"),
      port: z.number().int().min(1).max(65535).default(51820).describe('UDP port WireGuard listens on (opened publicly)'),
      underlayMtu: z
        .number()
        .int()
        .min(1280)
        .max(9000)
        .default(1500)
        .describe('MTU of the public network between the nodes; wg0 and the overlay MTUs are computed from it'),
    })
    .prefault({}),
  firewall: z
    .strictObject({
      enabled: z.boolean().default(true).describe('UFW: deny incoming by default; SSH and WireGuard public, Swarm ports only on wg0'),
      sshFrom: z.array(cidr).default([]).describe('sources allowed to reach SSH (default: anywhere)'),
    })
    .prefault({}),
});
