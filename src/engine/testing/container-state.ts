// One running, healthy replica as the live read reports it, for tests of ops that read live state.
import type { ContainerState } from '../live.js';

export function runningReplica(o: {
  name: string;
  service: string;
  node: string;
  networks: string[];
  ip?: string;
  host?: string;
}): ContainerState {
  return {
    id: o.name,
    name: o.name,
    service: o.service,
    state: 'running',
    health: 'healthy',
    startedAt: '',
    restartCount: 0,
    exitCode: 0,
    image: 'x',
    imageId: 'sha256:x',
    networks: o.networks.map((n) => ({ name: n, aliases: [], ip: o.ip ?? '10.0.0.2' })),
    env: {},
    labels: {},
    ports: [],
    host: o.host ?? `tcp://${o.node}:2375`,
    node: o.node,
  };
}
