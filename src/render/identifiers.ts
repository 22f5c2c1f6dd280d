// Names are identifiers, not text: they become Compose keys, network and volume names, DNS
// names, file names and HAProxy/PromQL words. The schema only lets identifiers through; this
// is the renderers' own guard, so a plan built any other way cannot smuggle text into them.
import type { Plan } from '../plan/model.js';

const identifier = /^[a-z0-9](?:[a-z0-9_.-]{0,62}[a-z0-9])?$/;

/** Every plan field used as a name, with where it sits (for the error). */
function names(plan: Plan): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ['name', plan.name],
    ['proxy.component', plan.proxy.component],
    ['proxy.authSecret', plan.proxy.authSecret],
  ];
  plan.components.forEach((c, i) => {
    out.push([`components.${i}.name`, c.name]);
    c.dependsOn.forEach((d, j) => out.push([`components.${i}.dependsOn.${j}.name`, d.name]));
    c.networks.forEach((n, j) => out.push([`components.${i}.networks.${j}`, n]));
    c.secrets.forEach((s, j) => out.push([`components.${i}.secrets.${j}.secret`, s.secret]));
    c.mounts.forEach((m, j) => {
      if (m.type === 'volume') out.push([`components.${i}.mounts.${j}.source`, m.source]);
    });
    if (c.metrics) out.push([`components.${i}.metrics.job`, c.metrics.job]);
  });
  plan.networks.forEach((n, i) => out.push([`networks.${i}.name`, n.name]));
  plan.volumes.forEach((v, i) => {
    out.push([`volumes.${i}.name`, v.name], [`volumes.${i}.component`, v.component]);
  });
  plan.secrets.forEach((s, i) => out.push([`secrets.${i}.name`, s.name]));
  plan.routes.forEach((r, i) => {
    out.push([`routes.${i}.name`, r.name], [`routes.${i}.service`, r.service]);
  });
  plan.monitoring.scrapeJobs.forEach((j, i) => {
    out.push([`monitoring.scrapeJobs.${i}.job`, j.job], [`monitoring.scrapeJobs.${i}.component`, j.component]);
  });
  plan.monitoring.receivers.forEach((r, i) => out.push([`monitoring.receivers.${i}.name`, r.name]));
  plan.backups.forEach((b, i) => {
    out.push([`backups.${i}.name`, b.name], [`backups.${i}.target`, b.target]);
  });
  for (const k of ['certSecret', 'keySecret', 'pemSecret'] as const) {
    const v = plan.tls[k];
    if (v !== undefined) out.push([`tls.${k}`, v]);
  }
  return out;
}

/** Throws (a bug, not user input: the spec refuses such names first) when a name is not an identifier. */
export function assertIdentifiers(plan: Plan): void {
  const bad = names(plan).filter(([, v]) => !identifier.test(v));
  if (bad.length)
    throw new Error(
      `plan names must be identifiers (${identifier.source}): ${bad.map(([p, v]) => `${p} = ${JSON.stringify(v)}`).join(', ')}`,
    );
}
