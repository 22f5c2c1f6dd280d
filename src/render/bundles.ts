// Where each config bundle of the plan is rendered, relative to the output directory. Compose
// bind-mounts these files, Swarm turns each into a config, Kubernetes into a ConfigMap.
import type { ConfigBundle } from '../plan/model.js';

const paths: Record<ConfigBundle, string> = {
  'prometheus-config': 'prometheus/prometheus.yml',
  'prometheus-rules': 'prometheus/rules',
  'alertmanager-config': 'alertmanager/alertmanager.yml',
  'grafana-provisioning': 'grafana/provisioning',
  'grafana-dashboards': 'grafana/dashboards',
  'traefik-static': 'traefik/traefik.yml',
  // directories, not files: a file replaced by rename is never seen through a file mount
  'traefik-dynamic': 'traefik/dynamic',
  'haproxy-config': 'haproxy',
  'backup-scripts': 'backup',
  'acme-scripts': 'acme',
  'pitr-scripts': 'pitr',
  'notify-relay': 'notify-relay',
};

/** The rendered file, or the directory of rendered files, of a bundle. */
export const bundlePath = (b: ConfigBundle): string => paths[b];

/** Whether a rendered file belongs to the bundle at `path`. */
export const inBundle = (file: string, path: string): boolean => file === path || file.startsWith(`${path}/`);
