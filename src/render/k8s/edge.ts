// The edge on K3s is its bundled Traefik (kube-system): routes become IngressRoutes with the
// same middlewares as the Compose edge (security headers, IP allow-list, basic auth, HTTPS
// redirect) and the same refusal of metrics paths; certificates come from cert-manager.
import { Certificate, ClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { IngressRoute, Middleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1';
import type { Plan, Route } from '../../plan/model.js';
import { byCodeUnit } from '../../plan/sort.js';
import { denyRouterPriority, denyRule, routeRule, traefikMiddlewares } from '../traefik/index.js';
import type { K8sObject } from './objects.js';

export const ENTRY = { web: 'web', websecure: 'websecure' } as const;
const mw = { headers: 'security-headers', auth: 'edge-auth', deny: 'deny-all', redirect: 'https-redirect' } as const;

export const tlsSecretName = (plan: Plan) => `${plan.name}-tls`;

/** The ClusterIssuer the plan's TLS mode asks for: Let's Encrypt (staging or production, HTTP-01) or self-signed. */
export function issuerName(plan: Plan): string {
  if (plan.tls.mode !== 'acme') return 'selfsigned';
  return plan.tls.staging ? 'letsencrypt-staging' : 'letsencrypt-production';
}

export function clusterIssuers(plan: Plan): K8sObject[] {
  if (plan.tls.mode === 'files') return [];
  if (plan.tls.mode !== 'acme') return [new ClusterIssuer({ metadata: { name: 'selfsigned' }, spec: { selfSigned: {} } })];
  const acme = (name: string, server: string) =>
    new ClusterIssuer({
      metadata: { name },
      spec: {
        acme: {
          server,
          ...(plan.tls.email ? { email: plan.tls.email } : {}),
          privateKeySecretRef: { name: `${name}-account-key` },
          solvers: [{ http01: { ingress: { ingressClassName: 'traefik' } } }],
        },
      },
    });
  return [
    acme('letsencrypt-production', 'https://acme-v02.api.letsencrypt.org/directory'),
    acme('letsencrypt-staging', 'https://acme-staging-v02.api.letsencrypt.org/directory'),
  ];
}

/** Hosts the edge serves for routes that exist on this target; HTTP-01 cannot issue wildcards. */
function certificateHosts(plan: Plan, routes: Route[]): string[] {
  const hosts = [...new Set(routes.map((r) => r.host))];
  return (plan.tls.mode === 'acme' ? hosts.filter((h) => !h.startsWith('*.')) : hosts).sort(byCodeUnit);
}

export function edgeObjects(plan: Plan, namespace: string, routes: Route[]): K8sObject[] {
  if (!routes.length) return [];
  const out: K8sObject[] = [];
  const hosts = certificateHosts(plan, routes);
  if (plan.tls.mode !== 'files' && hosts.length) {
    out.push(
      new Certificate({
        metadata: { name: plan.name, namespace },
        spec: {
          secretName: tlsSecretName(plan),
          dnsNames: hosts,
          issuerRef: { kind: 'ClusterIssuer', name: issuerName(plan) },
          privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        },
      }),
    );
  }
  const compose = (traefikMiddlewares(plan) as { http: { middlewares: Record<string, Record<string, unknown>> } }).http.middlewares;
  const middleware = (name: string, spec: Record<string, unknown>) => new Middleware({ metadata: { name, namespace }, spec });
  out.push(middleware(mw.headers, compose[mw.headers]!));
  out.push(middleware(mw.deny, compose[mw.deny]!));
  out.push(middleware(mw.redirect, { redirectScheme: { scheme: 'https', permanent: true } }));
  // Traefik reads the users from the Secret's `users` key.
  if (routes.some((r) => r.auth))
    out.push(middleware(mw.auth, { basicAuth: { secret: plan.proxy.authSecret, realm: plan.name, removeHeader: true } }));
  for (const r of routes) if (r.allow?.length) out.push(middleware(`${r.name}-allow`, { ipAllowList: { sourceRange: [...r.allow] } }));
  const ref = (name: string) => ({ name, namespace });
  for (const r of routes) {
    const middlewares = [mw.headers, ...(r.allow?.length ? [`${r.name}-allow`] : []), ...(r.auth ? [mw.auth] : [])].map(ref);
    out.push(
      new IngressRoute({
        metadata: { name: r.name, namespace },
        spec: {
          entryPoints: [ENTRY.websecure],
          routes: [
            {
              kind: 'Rule',
              match: routeRule(r),
              ...(r.host.startsWith('*.') ? { priority: Math.max(1, r.path.length) } : {}),
              middlewares,
              services: [{ kind: 'Service', name: r.service, port: r.port, passHostHeader: true }],
            },
            ...r.denyPaths.map((p) => ({
              kind: 'Rule' as const,
              match: denyRule(r, p),
              priority: denyRouterPriority,
              middlewares: [ref(mw.headers), ref(mw.deny)],
              services: [{ kind: 'TraefikService' as const, name: 'noop@internal' }],
            })),
          ],
          tls: { secretName: tlsSecretName(plan) },
        },
      }),
    );
    out.push(
      new IngressRoute({
        metadata: { name: `${r.name}-http`, namespace },
        spec: {
          entryPoints: [ENTRY.web],
          routes: [
            {
              kind: 'Rule',
              match: routeRule(r),
              middlewares: [ref(mw.redirect)],
              services: [{ kind: 'TraefikService', name: 'noop@internal' }],
            },
          ],
        },
      }),
    );
  }
  return out;
}
