// How a config file names "every replica of service X": each target implements it with
// its own primitive, so HAProxy and Prometheus renderers stay target-neutral.
//   compose: the service name (Docker DNS answers one A record per container)
//   swarm:   tasks.<service> (one A record per running task, VIP or dnsrr alike)
//   k8s:     <service>-headless, a headless Service (one A record per ready pod)

export interface Addressing {
  /** DNS name resolving to the address of every running replica of a service */
  replicas(service: string): string;
  /**
   * A replica can vanish without a word: its node died, so connects to it hang instead of
   * being refused. Proxies then need short connect timeouts and must stop using a server
   * on its first failed connection. On one host a dead container's address refuses at once.
   */
  silentLoss: boolean;
}

export const composeAddressing: Addressing = { replicas: (service) => service, silentLoss: false };
export const swarmAddressing: Addressing = { replicas: (service) => `tasks.${service}`, silentLoss: true };
export const k8sAddressing: Addressing = { replicas: (service) => `${service}-headless`, silentLoss: true };
