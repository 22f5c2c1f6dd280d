// `wharf check`: policy lint over the spec and the plan. Each rule has a
// stable id, a severity and a fix hint; findings are collected, never thrown.
import type { Component, Plan } from '../plan/model.js';
import type { Stack } from '../spec/schema.js';
import { acmeHostsProvable } from '../spec/rules.js';
import { runRules, type Finding, type PolicyContext, type PolicyRule } from './rule.js';

// The rule files import the rule's shape from rule.ts, never from here: this file loads them.
export type { Finding, PolicyContext, PolicyRule } from './rule.js';

const SECRET_NAME = /(PASS(WORD)?|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;
const DEFAULT_CREDS = new Set([
  'admin',
  'password',
  'changeme',
  'secret',
  'root',
  'postgres',
  'apppassword',
  'appuser:apppassword',
  'admin:admin',
  '123456',
  'letmein',
  'grafana',
]);

const componentPath = (c: Component) =>
  c.role === 'app'
    ? `services.${c.name}`
    : c.role === 'database'
      ? `databases.${c.name}`
      : c.role === 'cache'
        ? `caches.${c.name}`
        : `components.${c.name}`;

export const policyRules: PolicyRule[] = [
  {
    id: 'WH001',
    title: 'database or cache on the edge network',
    severity: 'error',
    check: ({ plan }) =>
      plan.components
        .filter((c) => (c.role === 'database' || c.role === 'cache') && c.networks.includes('edge'))
        .map((c) => ({
          path: `${componentPath(c)}.networks`,
          message: `${c.name} is attached to the edge network`,
          hint: 'databases and caches belong on the internal backend network only',
        })),
  },
  {
    id: 'WH002',
    title: 'plaintext secret in environment',
    severity: 'error',
    check: ({ stack }) =>
      Object.entries(stack.services).flatMap(([n, s]) =>
        Object.entries(s.env)
          .filter(([k, v]) => typeof v === 'string' && SECRET_NAME.test(k) && v !== '' && !k.endsWith('_FILE'))
          .map(([k]) => ({
            path: `services.${n}.env.${k}`,
            message: `${k} holds a secret as plain text`,
            hint: `declare it under secrets: and write env.${k}: { secret: NAME } (the value is read from the file at start), or ${k}_FILE: { secret: NAME }`,
          })),
      ),
  },
  {
    id: 'WH003',
    title: 'unpinned image',
    severity: 'warning',
    check: ({ plan }) =>
      plan.components
        .filter((c) => !c.build && isUnpinned(c.image))
        .map((c) => ({
          path: c.imageKey ? `images.${c.imageKey}` : `${componentPath(c)}.image`,
          message: `${c.name} uses ${c.image}, which is not pinned`,
          hint: 'pin a version tag (image:1.2.3) or a digest (@sha256:...)',
          severity: c.image.endsWith(':latest') ? ('error' as const) : ('warning' as const),
        })),
  },
  {
    id: 'WH004',
    title: 'writable Docker socket',
    severity: 'error',
    check: ({ plan }) =>
      plan.components.flatMap((c) =>
        c.mounts
          .filter((m) => m.type !== 'config' && m.source.endsWith('docker.sock') && !m.readOnly)
          .map(() => ({
            path: `${componentPath(c)}.dockerSocket`,
            message: `${c.name} mounts the Docker socket writable (root on the host)`,
            hint: 'use dockerSocket: read-only, or drop the socket',
          })),
      ),
  },
  {
    id: 'WH005',
    title: 'metrics path routed publicly',
    severity: 'error',
    check: ({ plan }) =>
      plan.routes.flatMap((r) => {
        const c = plan.components.find((x) => x.name === r.service);
        if (!c?.metrics || r.internal) return [];
        const exposed = routeCovers(r.path, c.metrics.path) && !r.denyPaths.includes(c.metrics.path);
        return exposed
          ? [
              {
                path: `services.${r.service}.routes`,
                message: `${r.host}${c.metrics.path} would serve metrics to the internet`,
                hint: 'wharf denies metrics paths at the edge; keep metrics.path distinct from routed prefixes',
              },
            ]
          : [];
      }),
  },
  {
    id: 'WH006',
    title: 'default credentials',
    severity: 'error',
    check: ({ stack }) =>
      Object.entries(stack.services).flatMap(([n, s]) =>
        Object.entries(s.env)
          .filter(([k, v]) => typeof v === 'string' && SECRET_NAME.test(k) && DEFAULT_CREDS.has(v.toLowerCase()))
          .map(([k]) => ({
            path: `services.${n}.env.${k}`,
            message: `${k} is set to a well-known default password`,
            hint: 'remove it: wharf generates a random secret per stack',
          })),
      ),
  },
  {
    id: 'WH007',
    title: 'missing healthcheck',
    severity: 'warning',
    // The plan states a reason when an image cannot be probed (scratch images) or the user opted out.
    check: ({ plan }) =>
      plan.components
        .filter((c) => !c.healthcheck && !c.healthWaiver)
        .map((c) => ({
          path: c.role === 'app' ? `services.${c.name}.health` : componentPath(c),
          message: `${c.name} has no healthcheck: dependants start before it is ready and the edge cannot skip it when it fails`,
          hint: 'give the service a health path, or an image with a health command',
        })),
  },
  {
    id: 'WH008',
    title: 'no resource limits',
    severity: 'warning',
    check: ({ plan }) =>
      plan.components
        .filter((c) => !(c.resources.cpus > 0) || !c.resources.memory.toBytes())
        .map((c) => ({
          path: `${componentPath(c)}.resources`,
          message: `${c.name} has no CPU or memory limit`,
          hint: 'set resources.cpus and resources.memory',
        })),
  },
  {
    id: 'WH009',
    title: 'dashboard without auth',
    severity: 'error',
    check: ({ plan }) =>
      plan.routes
        .filter((r) => r.internal && !r.auth && r.service !== 'grafana')
        .map((r) => ({
          path: 'proxy.dashboard',
          message: `${r.host} serves ${r.service}'s dashboard without authentication`,
          hint: 'internal dashboards are always behind basic auth',
        })),
  },
  {
    id: 'WH010',
    title: 'database port published',
    severity: 'error',
    check: ({ plan }) =>
      plan.components
        .filter((c) => ['database', 'cache', 'exporter', 'prometheus', 'alertmanager'].includes(c.role) && c.ports.length)
        .map((c) => ({
          path: componentPath(c),
          message: `${c.name} publishes port ${c.ports.map((p) => p.host).join(', ')} on the host`,
          hint: 'reach it through the backend network, or `docker exec` for maintenance',
        })),
  },
  {
    id: 'WH011',
    title: 'container runs privileged or without no-new-privileges',
    severity: 'error',
    check: ({ plan }) =>
      plan.components
        .filter((c) => !c.hardening.noNewPrivileges || c.hardening.addCaps.includes('ALL') || c.hardening.addCaps.includes('SYS_ADMIN'))
        .map((c) => ({
          path: componentPath(c),
          message: `${c.name} can gain privileges (no-new-privileges off or broad capabilities)`,
          hint: 'keep no-new-privileges and drop capabilities the image does not need',
        })),
  },
  {
    id: 'WH012',
    title: 'edge published on every interface',
    severity: 'warning',
    check: ({ plan }) =>
      plan.proxy.bind === '0.0.0.0' && plan.tls.mode === 'self-signed' && !plan.domain.endsWith('.localhost')
        ? [
            {
              path: 'tls.mode',
              message: `${plan.domain} is served on all interfaces with a self-signed certificate`,
              hint: 'use tls.mode: acme with an email for a public domain, or proxy.bind: 127.0.0.1',
            },
          ]
        : [],
  },
  {
    id: 'WH013',
    title: 'route host the ACME certificate cannot name',
    severity: 'warning',
    // the edge serves its self-signed certificate for it: said now, not found when a browser warns
    check: ({ stack }) => acmeHostsProvable(stack).map(({ path, message, hint }) => ({ path, message, hint })),
  },
];

function isUnpinned(image: string): boolean {
  if (image.includes('@sha256:')) return false;
  const last = image.split('/').pop() ?? image;
  return !last.includes(':') || last.endsWith(':latest');
}

function routeCovers(prefix: string, path: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

/** The policy rules, plus those of the target the platform runs on. */
export async function rulesFor(target: string): Promise<PolicyRule[]> {
  if (target === 'k8s') return [...policyRules, ...(await import('./k8s-rules.js')).k8sRules];
  const { messagingTargetRule } = await import('./messaging-rules.js');
  if (target === 'swarm') return [...policyRules, ...(await import('./swarm-rules.js')).swarmRules, messagingTargetRule];
  return [...policyRules, messagingTargetRule];
}

/** Runs the rules (the policy rules unless told) over the spec and its plan, sorted by rule and path. */
export function lint(
  stack: Stack,
  plan: Plan,
  rules: PolicyRule[] = policyRules,
  extra: Omit<PolicyContext, 'stack' | 'plan'> = {},
): Finding[] {
  return runRules(stack, plan, rules, extra);
}

/** The target's own rules that make a deploy impossible: refused before anything runs. */
export async function targetErrors(target: string, stack: Stack, plan: Plan): Promise<Finding[]> {
  const all = await rulesFor(target);
  return lint(
    stack,
    plan,
    all.filter((r) => !policyRules.includes(r)),
  ).filter((f) => f.severity === 'error');
}
