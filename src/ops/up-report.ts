// What up reports besides health: which services it changed, the URLs of the routes, and the
// files holding the credentials a user logs in with.
import { join, relative } from 'node:path';
import type { Plan } from '../plan/model.js';
import type { OpsContext } from '../engine/context.js';
import type { ContainerState } from '../engine/live.js';

export interface RouteUrl {
  route: string;
  url: string;
  service: string;
  auth: boolean;
}

export interface CredentialFile {
  what: string;
  file: string;
}

const fingerprint = (cs: ContainerState[]) => new Map(cs.map((c) => [c.id, `${c.service}@${c.startedAt}`]));

export function changedServices(before: ContainerState[], after: ContainerState[]): string[] {
  const b = fingerprint(before);
  const a = fingerprint(after);
  const out = new Set<string>();
  for (const c of after) if (b.get(c.id) !== a.get(c.id)) out.add(c.service);
  for (const c of before) if (!a.has(c.id)) out.add(c.service);
  return [...out].sort();
}

export function routeUrls(plan: Plan): RouteUrl[] {
  const port = plan.proxy.httpsPort === 443 ? '' : `:${plan.proxy.httpsPort}`;
  return plan.routes.map((r) => ({ route: r.name, service: r.service, auth: r.auth, url: `https://${r.host}${port}${r.path}` }));
}

export function credentialFiles(ctx: OpsContext): CredentialFile[] {
  const dir = ctx.secretsDir ?? join(ctx.outDir, ctx.plan.paths.secretsDir);
  const show = (f: string) => relative(process.cwd(), join(dir, f)) || f;
  const out: CredentialFile[] = [];
  const has = (n: string) => ctx.plan.secrets.some((s) => s.name === n);
  if (ctx.plan.proxy.dashboardHost && has('edge-admin-password')) {
    out.push({
      what: `${ctx.plan.proxy.kind === 'haproxy' ? 'HAProxy stats' : 'Traefik dashboard'} (user ${ctx.plan.proxy.authUser})`,
      file: show('edge-admin-password'),
    });
  }
  if (has('grafana-admin-password')) out.push({ what: 'Grafana (user admin)', file: show('grafana-admin-password') });
  for (const c of ctx.plan.components.filter((x) => x.role === 'database')) {
    if (has(`${c.name}-password`)) out.push({ what: `${c.name} database password`, file: show(`${c.name}-password`) });
  }
  return out;
}
