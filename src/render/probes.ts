// A plan probe as the container runs it itself (Compose and Swarm healthchecks; the exec
// probes Kubernetes falls back to). Every value travels as an argument ($1, process.argv[1])
// of a fixed script, never as shell text.
import type { Healthcheck, Probe } from '../plan/model.js';

/** wget, curl or node: whichever the image has (the slim images of each ecosystem carry one). */
const ANY_HTTP_CLIENT =
  'wget -q -O /dev/null "$1" 2>/dev/null || curl -fsS -o /dev/null "$1" 2>/dev/null || ' +
  'node -e "fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" "$1"';
/** Listening on the port, read from the kernel's socket table: no client needed, only sh and grep. */
const PROC_LISTEN = 'grep -qE "^ *[0-9]+: [0-9A-F]+:$(printf %04X "$1") [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6';

/** The argv that probes the container from inside it, or undefined when nothing inside can. */
export function probeCommand(p: Probe): string[] | undefined {
  switch (p.kind) {
    case 'exec':
      return [...p.command];
    case 'http': {
      const url = `http://127.0.0.1:${p.port}${p.path}`;
      if (p.client === 'wget') return ['wget', '-q', '-O', '/dev/null', url];
      if (p.client === 'any') return ['sh', '-c', ANY_HTTP_CLIENT, 'probe', url];
      return undefined;
    }
    case 'tcp':
      return p.client === 'proc'
        ? ['sh', '-c', PROC_LISTEN, 'probe', String(p.port)]
        : ['bash', '-c', '</dev/tcp/127.0.0.1/"$1"', 'probe', String(p.port)];
  }
}

/** The Compose Specification healthcheck (Compose and Swarm), or undefined when the container cannot probe itself. */
export function dockerHealthcheck(h: Healthcheck | undefined): Record<string, unknown> | undefined {
  const command = h && probeCommand(h.probe);
  if (!h || !command) return undefined;
  return { test: ['CMD', ...command], interval: h.interval, timeout: h.timeout, retries: h.retries, start_period: h.startPeriod };
}
