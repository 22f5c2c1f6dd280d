// One component -> its workload (Deployment, or StatefulSet when it keeps data), Services
// (ClusterIP by name, headless `<name>-headless` for per-replica addressing) and a
// PodDisruptionBudget. Placement and rollouts come from the plan (plan/placement.ts).
import { posix } from 'node:path';
import { Service } from 'kubernetes-models/v1';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IContainer, IServicePort, IPodSpec, IProbe, IVolume, IVolumeMount, IPersistentVolumeClaim } from 'kubernetes-models/v1';
import type { Component, ConfigBundle, Plan } from '../../plan/model.js';
import { updateFor } from '../../plan/placement.js';
import { byCodeUnit } from '../../plan/sort.js';
import { k8sAddressing } from '../addressing.js';
import { probeCommand } from '../probes.js';
import { kubeLiteral } from '../../escape/kube.js';
import { cpuQuantity, labelsOf, selectorOf, sortedKeys, type K8sObject } from './objects.js';

/** K3s labels its server nodes so; the plan's "control-plane" and "manager" mean these. */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
/** Seconds the old pod keeps serving after it is removed from the Endpoints: the edge and kube-proxy catch up first. */
export const DRAIN_SECONDS = 5;
/** Official database images run as this uid once they drop root (postgres, mysql, redis). */
const DATASTORE_UID = 999;
const NOBODY = 65534;

export interface WorkloadOptions {
  namespace: string;
  storageClass: string;
  volumeSize: string;
  /** config mount source (a rendered file or directory) -> the ConfigMap holding it */
  configMaps?: ReadonlyMap<ConfigBundle, ConfigMapRef>;
  /** volumes that are standalone PVCs shared with other pods (the backup CronJobs), not per-replica claims */
  sharedClaims?: ReadonlySet<string>;
  /** pod template annotations: a hash of the mounted config, so a change rolls the pods */
  podAnnotations?: Record<string, string>;
  /** the pod talks to the Kubernetes API (Prometheus' service discovery) as this ServiceAccount */
  serviceAccount?: string;
}

/** A ConfigMap standing for a config mount: `file` is the key when the mount is one file. */
export interface ConfigMapRef {
  name: string;
  file?: string;
  items: Array<{ key: string; path: string; mode?: number }>;
}

export function workloadObjects(plan: Plan, c: Component, o: WorkloadOptions): K8sObject[] {
  const labels = labelsOf(plan, c.name, c.role);
  const meta = { name: c.name, namespace: o.namespace, labels };
  const stateful = claimNames(c, o).length > 0;
  const out: K8sObject[] = [];
  // the spec's free-form labels are annotations here: Kubernetes labels are for selection and have a stricter value syntax
  const annotations = { ...c.labels, ...o.podAnnotations };
  const pod = {
    metadata: { labels, ...(Object.keys(annotations).length ? { annotations: sortedKeys(annotations) } : {}) },
    spec: podSpec(plan, c, o),
  };
  const { order, parallelism, monitor } = c.update ?? updateFor(c);
  const minReady = Math.max(0, Math.ceil(monitor.toSeconds() - (c.healthcheck ? c.healthcheck.startPeriod.toSeconds() : 0)));
  // an autoscaled workload leaves the count to its HPA (a fixed one would be reset on every apply)
  const count = c.autoscale ? {} : { replicas: c.replicas };
  if (stateful) {
    out.push(
      new StatefulSet({
        metadata: meta,
        spec: {
          serviceName: k8sAddressing.replicas(c.name),
          ...count,
          selector: { matchLabels: selectorOf(c.name) },
          podManagementPolicy: 'OrderedReady',
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: parallelism } },
          minReadySeconds: minReady,
          persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
          template: pod,
          volumeClaimTemplates: claimNames(c, o).map((name): IPersistentVolumeClaim => ({
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name },
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: o.storageClass, resources: { requests: { storage: o.volumeSize } } },
          })),
        },
      }),
    );
  } else if (c.placement?.kind === 'every-node') {
    // one per node (host agents); a node without it reports nothing, so replace in place
    out.push(
      new DaemonSet({
        metadata: meta,
        spec: {
          selector: { matchLabels: selectorOf(c.name) },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: parallelism } },
          minReadySeconds: minReady,
          revisionHistoryLimit: 5,
          template: pod,
        },
      }),
    );
  } else {
    // start-first: one extra pod comes up before an old one goes; stop-first: the reverse.
    const rollingUpdate =
      order === 'start-first' ? { maxSurge: parallelism, maxUnavailable: 0 } : { maxSurge: 0, maxUnavailable: parallelism };
    out.push(
      new Deployment({
        metadata: meta,
        spec: {
          ...count,
          selector: { matchLabels: selectorOf(c.name) },
          strategy: { type: 'RollingUpdate', rollingUpdate },
          minReadySeconds: minReady,
          revisionHistoryLimit: 5,
          template: pod,
        },
      }),
    );
  }
  if (c.port) {
    const ports = servicePorts(c);
    out.push(new Service({ metadata: meta, spec: { type: 'ClusterIP', selector: selectorOf(c.name), ports } }));
    out.push(
      new Service({
        metadata: { ...meta, name: k8sAddressing.replicas(c.name) },
        spec: { clusterIP: 'None', selector: selectorOf(c.name), ports, publishNotReadyAddresses: false },
      }),
    );
  }
  if (c.placement?.kind !== 'every-node') {
    out.push(new PodDisruptionBudget({ metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: selectorOf(c.name) } } }));
  }
  // a StatefulSet scales too: each new replica gets its claims, and a scaled-down one keeps them (Retain)
  if (c.autoscale) out.push(autoscaler(c, meta, stateful ? 'StatefulSet' : 'Deployment'));
  return out;
}

/** CPU-driven HPA (autoscaling/v2): utilisation is a percentage of the pods' CPU request. */
function autoscaler(
  c: Component,
  meta: { name: string; namespace: string; labels: Record<string, string> },
  kind: 'Deployment' | 'StatefulSet',
): K8sObject {
  const a = c.autoscale!;
  return new HorizontalPodAutoscaler({
    metadata: meta,
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind, name: c.name },
      minReplicas: a.min,
      maxReplicas: a.max,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.cpu } } }],
      // scale down slowly: a burst that ends should not drop replicas the next one needs
      behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
    },
  });
}

function servicePorts(c: Component) {
  const ports: IServicePort[] = [{ name: 'main', port: c.port!, targetPort: c.port!, protocol: 'TCP' }];
  if (c.metrics && c.metrics.port !== c.port)
    ports.push({ name: 'metrics', port: c.metrics.port, targetPort: c.metrics.port, protocol: 'TCP' });
  return ports;
}

/** Per-replica PVC names: the plan's volume names (db-data), or the swarm-style name of a project-relative bind. */
function claimNames(c: Component, o: Pick<WorkloadOptions, 'sharedClaims'>): string[] {
  return [
    ...new Set(
      c.mounts
        .filter((m) => (m.type === 'volume' && !o.sharedClaims?.has(m.source)) || (m.type === 'bind' && !posix.isAbsolute(m.source)))
        .map((m) => claimName(c, m)),
    ),
  ].sort(byCodeUnit);
}

function claimName(c: Component, m: Component['mounts'][number]): string {
  return m.type === 'volume' ? m.source : `${c.name}${m.target.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '')}`.toLowerCase();
}

function uidOf(c: Component): number {
  const u = c.user ? Number(c.user.split(':')[0]) : NaN;
  if (Number.isInteger(u) && u > 0) return u;
  return c.role === 'database' || c.role === 'cache' ? DATASTORE_UID : NOBODY;
}

export function podSpec(plan: Plan, c: Component, o: Partial<WorkloadOptions> = {}): IPodSpec {
  const uid = uidOf(c);
  const volumes: IVolume[] = [];
  const mounts: IVolumeMount[] = [];
  for (const m of c.mounts) {
    if (m.type === 'config') {
      const cm = o.configMaps?.get(m.bundle);
      if (!cm) throw new Error(`bug: no ConfigMap for ${c.name}'s config bundle ${m.bundle}`);
      volumes.push({ name: cm.name, configMap: { name: cm.name, defaultMode: 0o444, items: cm.items.map((i) => ({ ...i })) } });
      mounts.push({ name: cm.name, mountPath: m.target, readOnly: true, ...(cm.file ? { subPath: cm.file } : {}) });
      continue;
    }
    if (m.type === 'volume' && o.sharedClaims?.has(m.source)) {
      volumes.push({ name: m.source, persistentVolumeClaim: { claimName: m.source, readOnly: m.readOnly } });
      mounts.push({ name: m.source, mountPath: m.target, readOnly: m.readOnly });
      continue;
    }
    if (m.type === 'bind' && posix.isAbsolute(m.source)) {
      const name = `host${m.target.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '')}`.toLowerCase();
      volumes.push({ name, hostPath: { path: m.source } });
      mounts.push({ name, mountPath: m.target, readOnly: m.readOnly });
      continue;
    }
    mounts.push({ name: claimName(c, m), mountPath: m.target, readOnly: m.readOnly });
  }
  // Secrets keep their Compose paths (/run/secrets/<name>): one projected volume per directory.
  const byDir = new Map<string, Component['secrets']>();
  for (const s of c.secrets) byDir.set(posix.dirname(s.target), [...(byDir.get(posix.dirname(s.target)) ?? []), s]);
  [...byDir.entries()]
    .sort(([a], [b]) => byCodeUnit(a, b))
    .forEach(([dir, list], i) => {
      const name = `secrets-${i}`;
      volumes.push({
        name,
        projected: {
          defaultMode: 0o440,
          sources: list.map((s) => ({ secret: { name: s.secret, items: [{ key: s.secret, path: posix.basename(s.target) }] } })),
        },
      });
      mounts.push({ name, mountPath: dir, readOnly: true });
    });
  // Datastores write sockets and temp files outside their data volume.
  if (c.hardening.readOnlyRoot) {
    volumes.push({ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } });
    mounts.push({ name: 'tmp', mountPath: '/tmp' });
  }
  const container: IContainer = {
    name: c.name,
    image: c.image,
    imagePullPolicy: 'IfNotPresent',
    // the kubelet would expand `$(NAME)` in these three: kubeLiteral keeps the spec's text
    ...(c.entrypoint ? { command: c.entrypoint.map(kubeLiteral) } : {}),
    ...(c.command ? { args: c.command.map(kubeLiteral) } : {}),
    ...(Object.keys(envOf(c)).length
      ? { env: Object.entries(envOf(c)).map(([name, value]) => ({ name, value: kubeLiteral(value) })) }
      : {}),
    ...(c.port
      ? {
          ports: [
            { name: 'main', containerPort: c.port, protocol: 'TCP' as const },
            ...(c.metrics && c.metrics.port !== c.port
              ? [{ name: 'metrics', containerPort: c.metrics.port, protocol: 'TCP' as const }]
              : []),
          ],
        }
      : {}),
    resources: {
      limits: { cpu: cpuQuantity(c.resources.cpus), memory: c.resources.memory.toQuantity() },
      requests: {
        cpu: cpuQuantity(c.resources.reserveCpus ?? c.resources.cpus),
        memory: (c.resources.reserveMemory ?? c.resources.memory).toQuantity(),
      },
    },
    ...probes(plan, c),
    lifecycle: { preStop: { sleep: { seconds: DRAIN_SECONDS } } },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: uid,
      // stricter than the plan asks: no escalation and no capability but those it adds, whatever the image
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: c.hardening.readOnlyRoot,
      privileged: false,
      capabilities: { drop: ['ALL'], ...(c.hardening.addCaps.length ? { add: [...c.hardening.addCaps] } : {}) },
    },
    ...(mounts.length ? { volumeMounts: mounts } : {}),
  };
  return {
    ...placement(c),
    ...(o.serviceAccount ? { serviceAccountName: o.serviceAccount } : {}),
    automountServiceAccountToken: !!o.serviceAccount,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: c.stopGracePeriod.toWholeSeconds() + DRAIN_SECONDS,
    securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [container],
    ...(volumes.length ? { volumes } : {}),
  };
}

/**
 * K3s's local-path volumes are root-owned directories: PostgreSQL running as its own uid
 * cannot chmod the mount point itself, so its data lives one directory down.
 */
function envOf(c: Component): Record<string, string> {
  const data = c.engine === 'postgres' ? c.mounts.find((m) => m.type === 'volume' && !m.readOnly) : undefined;
  return sortedKeys({ ...c.env, ...(data && !c.env.PGDATA ? { PGDATA: posix.join(data.target, 'pgdata') } : {}) });
}

/** The plan's placement as a nodeSelector, node affinity or spread constraint. */
function placement(c: Component): Partial<IPodSpec> {
  const p = c.placement ?? { kind: 'spread' };
  const spread = {
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway' as const,
        labelSelector: { matchLabels: selectorOf(c.name) },
      },
    ],
  };
  switch (p.kind) {
    case 'node-label':
      return { nodeSelector: { [p.label]: 'true' } };
    case 'control-plane':
    case 'every-control-plane-node':
      return {
        nodeSelector: { [CONTROL_PLANE_LABEL]: 'true' },
        tolerations: [{ key: CONTROL_PLANE_LABEL, operator: 'Exists', effect: 'NoSchedule' }],
      };
    // a DaemonSet: one pod on every node, tainted ones included (a node agent reports on all)
    case 'every-node':
      return { tolerations: [{ operator: 'Exists' }] };
    case 'spread':
      return spread;
    case 'constraints': {
      const sel = sortedKeys({
        ...(p.node ? { 'kubernetes.io/hostname': p.node } : {}),
        ...p.labels,
        ...(p.role === 'manager' ? { [CONTROL_PLANE_LABEL]: 'true' } : {}),
      });
      const worker =
        p.role === 'worker'
          ? {
              affinity: {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [{ matchExpressions: [{ key: CONTROL_PLANE_LABEL, operator: 'DoesNotExist' as const }] }],
                  },
                },
              },
            }
          : {};
      return { ...(Object.keys(sel).length ? { nodeSelector: sel } : spread), ...worker };
    }
  }
}

/** The HTTP path the plan probes the service on (its route's health path), if any. */
export function healthPathOf(plan: Plan, c: Component): string | undefined {
  return plan.routes.find((r) => r.service === c.name && r.healthPath)?.healthPath;
}

/**
 * Liveness and readiness from the plan's probe: an HTTP GET when the service's route has a
 * health path or nothing in the image can send one, else the command the container runs to
 * probe itself (as on Compose). The startup probe covers the start
 * period, so liveness never kills a slow starter. Readiness asks the service's ready path
 * (`health.ready`: 200 only while its dependencies answer) when it has one, else the health
 * probe, and fails after one miss so the edge stops sending sooner than liveness restarts.
 */
function probes(plan: Plan, c: Component): Pick<IContainer, 'livenessProbe' | 'readinessProbe' | 'startupProbe'> {
  const h = c.healthcheck;
  if (!h) return {};
  const path = healthPathOf(plan, c);
  const p = h.probe;
  const handler: Partial<IProbe> =
    path && c.port
      ? { httpGet: { path, port: c.port, scheme: 'HTTP' } }
      : p.kind === 'http' && p.client === 'none'
        ? { httpGet: { path: p.path, port: p.port, scheme: 'HTTP' } }
        : { exec: { command: probeCommand(p)! } };
  const ready: Partial<IProbe> = c.readyPath && c.port ? { httpGet: { path: c.readyPath, port: c.port, scheme: 'HTTP' } } : handler;
  const period = h.interval.toWholeSeconds(1);
  const timeout = h.timeout.toWholeSeconds(1);
  return {
    startupProbe: {
      ...handler,
      periodSeconds: period,
      timeoutSeconds: timeout,
      failureThreshold: Math.ceil(h.startPeriod.toSeconds() / period) + h.retries,
    },
    livenessProbe: { ...handler, periodSeconds: period, timeoutSeconds: timeout, failureThreshold: h.retries },
    readinessProbe: { ...ready, periodSeconds: period, timeoutSeconds: timeout, failureThreshold: 1, successThreshold: 1 },
  };
}
