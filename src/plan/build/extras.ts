// What is not a concern of its own: Portainer (extras.portainer) and the networks in use.
import type { Stack } from '../../spec/schema.js';
import { Size } from '../../spec/units.js';
import { mtus } from '../cluster.js';
import { pickImage } from '../images.js';
import type { Component, Network, Route, Volume } from '../model.js';
import { componentDefaults } from './common.js';

export function planPortainer(stack: Stack, volumes: Volume[], routes: Route[]): Component | undefined {
  if (!stack.extras.portainer) return undefined;
  const host = stack.extras.portainer.host ?? `portainer.${stack.domain}`;
  volumes.push({ name: 'portainer-data', component: 'portainer', purpose: 'Portainer database' });
  // Behind basic auth too: whoever reaches a fresh Portainer first becomes its administrator.
  routes.push({
    name: 'portainer',
    service: 'portainer',
    host,
    path: '/',
    port: 9000,
    replicas: 1,
    denyPaths: [],
    auth: true,
    internal: true,
    healthPath: '/api/system/status',
  });
  return {
    ...componentDefaults(),
    name: 'portainer',
    role: 'portainer',
    image: pickImage('portainer', stack.images),
    imageKey: 'portainer',
    networks: ['edge'],
    port: 9000,
    mounts: [
      { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: true },
      { type: 'volume', source: 'portainer-data', target: '/data', readOnly: false },
    ],
    resources: { cpus: 0.25, memory: Size.parse('128M') },
    healthWaiver: 'the Portainer image has no shell or HTTP client to probe with; the edge health-checks it',
  };
}

export function networksOf(stack: Stack, components: Component[]): Network[] {
  const used = new Set(components.flatMap((c) => c.networks));
  // The edge carries what the proxy already decrypted for the public; the internal networks
  // carry data and credentials, so they are the ones encrypted between nodes.
  const encrypt = stack.cluster.encryptNetworks;
  return (
    (
      [
        { name: 'edge', internal: false, encrypted: false, purpose: 'edge proxy and the services it routes to' },
        {
          name: 'backend',
          internal: true,
          encrypted: encrypt,
          purpose: 'services and the databases and caches they use; no outside access',
        },
        {
          name: 'monitoring',
          internal: true,
          encrypted: encrypt,
          purpose: 'Prometheus, exporters and scraped services; no outside access',
        },
      ] satisfies Network[]
    )
      .filter((n) => used.has(n.name))
      // nodes declared: they may run over wharf's WireGuard mesh, where a 1500-byte overlay would
      // fragment every full-size VXLAN packet; a smaller MTU costs little on any other network
      .map((n) => (stack.cluster.nodes.length ? { ...n, mtu: mtus(stack.cluster.wireguard.underlayMtu).overlayMtu } : n))
  );
}
