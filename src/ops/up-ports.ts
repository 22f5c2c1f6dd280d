// Before deploying on one host: every port the stack publishes is free, or ours already.
import type { Plan } from '../plan/model.js';
import type { ContainerState } from '../engine/live.js';
import { portFree } from './health.js';
import { OperationError } from '../errors.js';

export class PortInUseError extends OperationError {
  constructor(readonly busy: Array<{ service: string; address: string; error: string }>) {
    super(
      busy
        .map(
          (b) =>
            `${b.address} (published by ${b.service}) is in use by another process (${b.error}): stop it (ss -ltnp 'sport = :${b.address.split(':').pop()}') ` +
            `or change the port in wharf.yaml (proxy.httpPort, proxy.httpsPort)`,
        )
        .join('\n'),
    );
    this.name = 'PortInUseError';
  }
}

/** Before deploying: a published port held by something else would fail half-way through `compose up`. */
export async function ensurePortsFree(plan: Plan, ours: ContainerState[]): Promise<void> {
  const busy: PortInUseError['busy'] = [];
  for (const c of plan.components) {
    // Our own running container holds its port: that is the rerun case, not a conflict.
    if (ours.some((x) => x.service === c.name && x.state === 'running')) continue;
    for (const p of c.ports) {
      const r = await portFree(p.hostIp, p.host);
      if (!r.free) busy.push({ service: c.name, address: `${p.hostIp}:${p.host}`, error: r.error ?? 'in use' });
    }
  }
  if (busy.length) throw new PortInUseError(busy);
}
