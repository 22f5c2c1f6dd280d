// Proof of faithfulness: the imported spec, rendered for Compose (by the caller, after writing), against the project as Compose
// resolved it, service by service: image, command, entrypoint, environment keys, volume targets and
// the services each one can reach. A difference the account already explains is not repeated.
import { parse } from 'yaml';
import type { Field } from './account.js';
import type { ComposeProject } from './compose-schema.js';

export interface Difference {
  /** the Compose service */
  service: string;
  aspect: 'missing' | 'image' | 'command' | 'entrypoint' | 'env' | 'volume' | 'reach';
  compose: string;
  wharf: string;
}

type Rendered = Record<
  string,
  {
    image?: string;
    command?: string[];
    entrypoint?: string[];
    environment?: Record<string, string>;
    volumes?: unknown[];
    networks?: unknown;
  }
>;

const networksOf = (n: unknown): string[] => (Array.isArray(n) ? n.map(String) : Object.keys((n as object | null) ?? { default: null }));
const targetOf = (v: unknown): string => (typeof v === 'string' ? (v.split(':')[1] ?? v) : String((v as { target?: string }).target));
const show = (a: readonly string[] | undefined) => (a?.length ? JSON.stringify(a) : '(image default)');

/** Who can reach whom: services sharing a network. */
function reach(services: Record<string, { networks?: unknown }>): Map<string, Set<string>> {
  const nets = new Map(Object.entries(services).map(([n, s]) => [n, new Set(networksOf(s.networks))]));
  const out = new Map<string, Set<string>>();
  for (const [a, an] of nets) out.set(a, new Set([...nets].filter(([b, bn]) => b !== a && [...bn].some((x) => an.has(x))).map(([b]) => b)));
  return out;
}

export function compareImport(
  project: ComposeProject,
  components: Record<string, string | null>,
  fields: readonly Field[],
  renderedCompose: string,
): Difference[] {
  const rendered = ((parse(renderedCompose) as { services?: Rendered }).services ?? {}) as Rendered;
  const explained = (src: string, ...keys: string[]) =>
    fields.some(
      (f) =>
        f.outcome !== 'kept' &&
        (f.path === `services.${src}` || keys.some((k) => f.path === `services.${src}.${k}` || f.path.startsWith(`services.${src}.${k}`))),
    );
  const out: Difference[] = [];
  const add = (d: Difference) => out.push(d);
  const composeReach = reach(project.services);
  const wharfReach = reach(rendered);
  for (const [src, svc] of Object.entries(project.services)) {
    const n = components[src];
    if (n === null) continue; // replaced by the edge, in the account
    const r = n ? rendered[n] : undefined;
    if (!r) {
      add({ service: src, aspect: 'missing', compose: src, wharf: '(no service)' });
      continue;
    }
    if (svc.image && r.image !== svc.image && !explained(src, 'image', 'build'))
      add({ service: src, aspect: 'image', compose: svc.image, wharf: String(r.image) });
    const sameArgv = (a?: string[] | null, b?: string[]) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
    if (!sameArgv(svc.command, r.command) && !explained(src, 'command', 'entrypoint', 'environment'))
      add({ service: src, aspect: 'command', compose: show(svc.command ?? undefined), wharf: show(r.command) });
    if (!sameArgv(svc.entrypoint, r.entrypoint) && !explained(src, 'entrypoint', 'environment'))
      add({ service: src, aspect: 'entrypoint', compose: show(svc.entrypoint ?? undefined), wharf: show(r.entrypoint) });
    const env = r.environment ?? {};
    for (const k of Object.keys(svc.environment ?? {}))
      if (!(k in env) && !(`${k}_FILE` in env) && !explained(src, `environment.${k}`, 'environment'))
        add({ service: src, aspect: 'env', compose: k, wharf: '(not set)' });
    const targets = new Set((r.volumes ?? []).map(targetOf));
    for (const [i, v] of (svc.volumes ?? []).entries())
      if (!targets.has(v.target) && !explained(src, `volumes[${i}]`))
        add({ service: src, aspect: 'volume', compose: v.target, wharf: '(not mounted)' });
    for (const peer of composeReach.get(src) ?? []) {
      const pn = components[peer];
      if (pn === null || !pn || wharfReach.get(n!)?.has(pn)) continue;
      if (explained(src, `depends_on.${peer}`) || explained(peer, 'ports', 'expose')) continue;
      add({ service: src, aspect: 'reach', compose: peer, wharf: `${n} cannot reach ${pn}` });
    }
  }
  return out;
}
