// `wharf import compose --adopt`: what taking over the running Compose project means for the
// imported spec. Pure. Every host port the old project publishes must be one wharf's edge
// publishes (proxy.httpPort/httpsPort, on the same address), and every named volume must stay
// the same Docker volume; anything else is refused before anything is written or stopped.
import type { Field } from './account.js';
import type { ComposeProject } from './compose-schema.js';

/** One host port the old project publishes, and what answers on it after the take-over. */
export interface AdoptedPort {
  /** the Compose service publishing it now */
  service: string;
  hostIp: string;
  port: number;
  /** what publishes it in wharf's stack */
  to: 'proxy.httpPort' | 'proxy.httpsPort';
}

/** Written to .wharf/adopt.json by the import: the next `wharf up` takes the project over. */
export interface AdoptRecord {
  project: string;
  /** the old project's working directory (Compose's label on its containers) */
  workingDir: string;
  ports: AdoptedPort[];
}

export interface AdoptPlan {
  record: AdoptRecord;
  /** merged into the spec's proxy: section */
  proxy: Record<string, unknown>;
  /** why the project cannot be adopted safely (empty: it can) */
  refusals: Array<{ path: string; message: string }>;
}

const HTTPS_TARGETS = new Set([443, 8443]);

/** Host ports of one published port entry ("8080", "8080-8081", 8080). */
function hostPorts(published: string | number | null | undefined): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(String(published ?? ''));
  if (!m) return [];
  const a = Number(m[1]);
  const b = Number(m[2] ?? m[1]);
  return Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);
}

/**
 * `components`: Compose service -> wharf component (null: replaced by wharf's edge), as the import
 * decided; `routed`: the wharf services with a route. `workingDir`: where the project runs from.
 */
export function adoptPlan(
  project: ComposeProject,
  r: { fields: Field[]; components: Record<string, string | null>; spec: Record<string, unknown> },
  workingDir: string,
): AdoptPlan {
  const refusals: AdoptPlan['refusals'] = [];
  const ports: AdoptedPort[] = [];
  const services = (r.spec.services ?? {}) as Record<string, { routes?: unknown[] }>;
  const routed = (src: string) => {
    const n = r.components[src];
    return n === null || (n !== undefined && Boolean(services[n]?.routes?.length));
  };
  for (const [src, svc] of Object.entries(project.services)) {
    for (const [i, p] of (svc.ports ?? []).entries()) {
      const hosts = hostPorts(p.published);
      if (!hosts.length) continue;
      const path = `services.${src}.ports[${i}]`;
      const hostIp = p.host_ip || '0.0.0.0';
      if (!routed(src) || (p.protocol ?? 'tcp') !== 'tcp') {
        refusals.push({
          path,
          message:
            `${hostIp}:${p.published} would close: wharf publishes only its edge (HTTP and HTTPS routes), ` +
            `not ${src}'s port ${p.target}. Remove the port from the Compose file and \`docker compose up -d\` first, or do not adopt`,
        });
        continue;
      }
      for (const port of hosts) {
        const to = HTTPS_TARGETS.has(p.target) ? 'proxy.httpsPort' : 'proxy.httpPort';
        const taken = ports.find((x) => x.to === to);
        if (taken)
          refusals.push({
            path,
            message: `${hostIp}:${port} would close: wharf's edge publishes one ${to === 'proxy.httpPort' ? 'HTTP' : 'HTTPS'} port, already ${taken.hostIp}:${taken.port} (${taken.service})`,
          });
        else ports.push({ service: src, hostIp, port, to });
      }
    }
  }
  // the old server must be found and stopped before wharf's starts on the same data: same name
  const stores = { ...((r.spec.databases ?? {}) as object), ...((r.spec.caches ?? {}) as object) };
  for (const [src, n] of Object.entries(r.components))
    if (n && n !== src && n in stores)
      refusals.push({
        path: `services.${src}`,
        message: `it would be named ${n} in wharf.yaml: rename the Compose service ${src} to ${n} first`,
      });
  const addresses = [...new Set(ports.map((p) => p.hostIp))];
  if (addresses.length > 1)
    refusals.push({
      path: 'services',
      message: `the published ports are bound on ${addresses.join(' and ')}: wharf's edge binds one address (proxy.bind)`,
    });
  for (const f of r.fields)
    // the account says so wherever data would not be the same Docker volume (renamed, external, a bind mount)
    if (f.outcome === 'changed' && /copy the data over/.test(f.why))
      refusals.push({ path: f.path, message: `${f.why}: adopting would leave its data behind` });
  const proxy: Record<string, unknown> = {};
  if (ports.length) proxy.bind = ports[0]!.hostIp;
  for (const p of ports) proxy[p.to === 'proxy.httpPort' ? 'httpPort' : 'httpsPort'] = p.port;
  return { record: { project: project.name, workingDir, ports }, proxy, refusals };
}
