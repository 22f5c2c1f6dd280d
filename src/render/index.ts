// The render registry: which renderers a plan needs, for which target. Pure:
// plan in, sorted files out. Components get a hash of the config files they
// mount so Compose recreates exactly the containers whose configuration changed.
import { createHash } from 'node:crypto';
import type { Plan } from '../plan/model.js';
import { targetNames, type TargetName } from '../spec/schema.js';
import { renderAlertmanager } from './alertmanager/index.js';
import { renderBackup } from './backup/index.js';
import { renderPitr } from './pitr/index.js';
import { renderAcme } from './acme/index.js';
import { renderNotifyRelay } from './notify-relay/index.js';
import { renderCompose } from './compose/index.js';
import { renderGrafana } from './grafana/index.js';
import { renderHAProxy } from './haproxy/index.js';
import { renderPrometheus } from './prometheus/index.js';
import { renderSwarm } from './swarm/index.js';
import { composeAddressing, k8sAddressing, swarmAddressing, type Addressing } from './addressing.js';
import type { renderK8s } from './k8s/index.js';
import { renderTraefik } from './traefik/index.js';
import { traefikSwarmLabels } from './traefik/swarm-labels.js';
import { sortFiles, type RenderedFile } from './files.js';
import { assertIdentifiers } from './identifiers.js';
import { isHotBundle } from '../plan/edge.js';
import { bundlePath, inBundle } from './bundles.js';

export type Target = TargetName;
export const targets: readonly Target[] = targetNames;

/** What the renderers may need to know about where the files will run (not part of the spec). */
export interface RenderOptions {
  /** container names of replicas differ: v2 `project-svc-1`, v1 `project_svc_1` (Traefik lists replicas by name) */
  composeKind?: 'v1' | 'v2';
  /** set by renderAll from the target: how config files name every replica of a service */
  addressing?: Addressing;
  /** swarm: secret name -> sha256 of its content (Swarm objects are named by content) */
  secretHashes?: Record<string, string>;
  /** k8s: the age public key .sops.yaml encrypts secrets to */
  ageRecipient?: string;
  /** k8s: secret name -> SOPS-encrypted Secret manifest */
  sealedSecrets?: Record<string, string>;
}

type PlanRenderer = (plan: Plan, opts: RenderOptions) => RenderedFile[];

/** Renderers of the files containers mount, and when a plan needs each. */
const configRenderers: Array<{ name: string; applies: (p: Plan) => boolean; render: PlanRenderer }> = [
  // On Swarm, Traefik discovers the routed services from their service labels.
  {
    name: 'traefik',
    applies: (p) => p.proxy.kind === 'traefik',
    render: (p, o) =>
      renderTraefik(
        p,
        o.addressing === swarmAddressing ? { discovery: 'swarm' } : { replicaNaming: o.composeKind === 'v1' ? 'compose-v1' : 'compose-v2' },
      ),
  },
  { name: 'haproxy', applies: (p) => p.proxy.kind === 'haproxy', render: (p, o) => renderHAProxy(p, { addressing: o.addressing }) },
  { name: 'prometheus', applies: (p) => p.monitoring.enabled, render: (p, o) => renderPrometheus(p, { addressing: o.addressing }) },
  { name: 'alertmanager', applies: (p) => p.monitoring.enabled && p.monitoring.present.alertmanager, render: renderAlertmanager },
  { name: 'backup', applies: (p) => p.backups.length > 0, render: renderBackup },
  { name: 'pitr', applies: (p) => p.backups.some((j) => j.pointInTime), render: renderPitr },
  { name: 'acme', applies: (p) => !!p.tls.acme, render: renderAcme },
  { name: 'notify-relay', applies: (p) => p.components.some((c) => c.role === 'notify-relay'), render: renderNotifyRelay },
  { name: 'grafana', applies: (p) => p.monitoring.enabled && p.components.some((c) => c.role === 'grafana'), render: renderGrafana },
];

export function renderConfigs(plan: Plan, opts: RenderOptions = {}): RenderedFile[] {
  return configRenderers.filter((r) => r.applies(plan)).flatMap((r) => r.render(plan, opts));
}

/** Files a component takes live (plan/edge.ts: HAProxy's config, Traefik's dynamic directory)
 *  stay out of its hash: their change is a reload, not a recreate. */
export function configHashes(plan: Plan, files: RenderedFile[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of plan.components) {
    const sources = c.mounts.flatMap((m) => (m.type === 'config' && !isHotBundle(c, m.bundle) ? [bundlePath(m.bundle)] : []));
    const hot = (c.reload?.bundles ?? []).map(bundlePath);
    if (!sources.length) continue;
    const h = createHash('sha256');
    for (const f of files) {
      if (sources.some((s) => inBundle(f.path, s)) && !hot.some((s) => inBundle(f.path, s)))
        h.update(f.path).update('\0').update(f.contents).update('\0');
    }
    out[c.name] = h.digest('hex').slice(0, 16);
  }
  return out;
}

const addressingOf: Record<Target, Addressing> = { compose: composeAddressing, swarm: swarmAddressing, k8s: k8sAddressing };

// The k8s renderer pulls in the Kubernetes models and their validators (megabytes): loaded
// only when that target is used, so Compose and Swarm commands start as fast as before.
let k8sRenderer: typeof renderK8s | undefined;

/** Loads what renderAll needs for a target; call it once before rendering k8s. */
export async function loadRenderer(target: Target): Promise<void> {
  if (target === 'k8s') k8sRenderer ??= (await import('./k8s/index.js')).renderK8s;
}

export function renderAll(plan: Plan, target: Target = 'compose', opts: RenderOptions = {}): RenderedFile[] {
  assertIdentifiers(plan);
  // The platform's config files belong to components this target does not render yet.
  if (target === 'k8s') {
    if (!k8sRenderer) throw new Error("bug: await loadRenderer('k8s') before renderAll(plan, 'k8s')");
    return sortFiles(k8sRenderer(plan, { ageRecipient: opts.ageRecipient, sealedSecrets: opts.sealedSecrets }));
  }
  const configs = renderConfigs(plan, { ...opts, addressing: addressingOf[target] });
  switch (target) {
    case 'compose':
      return sortFiles([...configs, ...renderCompose(plan, { configHashes: configHashes(plan, configs) })]);
    case 'swarm': {
      const serviceLabels = plan.proxy.kind === 'traefik' ? traefikSwarmLabels(plan) : {};
      return sortFiles([...configs, ...renderSwarm(plan, { configs, secretHashes: opts.secretHashes ?? {}, serviceLabels })]);
    }
  }
}
