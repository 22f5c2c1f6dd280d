// `wharf cluster render|apply|preflight`: the spec's cluster: section -> an Ansible project
// in .wharf/cluster (keys in .wharf/secrets), then ansible-playbook through the one executor.
import { join } from 'node:path';
import { buildClusterPlan, type ClusterPlan } from '../plan/cluster.js';
import { renderCluster } from '../render/cluster/index.js';
import type { RenderedFile } from '../render/files.js';
import { ensureWireguardKeys, type WireguardKeys } from '../secrets/wireguard.js';
import { UserInputError } from '../spec/issues.js';
import { load } from './prepare.js';
import { writeFiles, type WriteResult } from './write.js';

export interface ClusterRendered {
  plan: ClusterPlan;
  outDir: string;
  secretsDir: string;
  files: RenderedFile[];
  write: WriteResult;
  keys: Omit<WireguardKeys, 'publicKeys'>;
}

export async function clusterRender(specPath: string): Promise<ClusterRendered> {
  const l = await load(specPath);
  const plan = buildClusterPlan(l.stack);
  if (!plan.nodes.length) throw new UserInputError([{ path: 'cluster.nodes', severity: 'error', message: 'no nodes to bootstrap', hint: 'list them: cluster.nodes: [{ name, address, role }]' }]);
  if (!plan.bootstrap) throw new UserInputError([{ path: 'cluster.nodes', severity: 'error', message: 'no manager: a swarm needs one to initialise it', hint: 'set role: manager on at least one node (3 for fault tolerance)' }]);
  const outDir = join(l.layout.projectDir, '.wharf', 'cluster');
  const { publicKeys, created, kept } = ensureWireguardKeys(l.layout.secretsDir, plan.nodes.map((n) => n.name));
  const files = renderCluster(plan, publicKeys);
  return { plan, outDir, secretsDir: l.layout.secretsDir, files, write: writeFiles(outDir, files), keys: { created, kept } };
}
