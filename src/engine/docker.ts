// Plain `docker` commands the ops use to look at live state. Builders only.
import { cmd, type Cmd } from './command.js';

/** A container and the engine that runs it (on a multi-node target each node has its own). */
export interface ContainerRef {
  id: string;
  name?: string;
  /** DOCKER_HOST of the node running it; undefined: the environment's engine */
  host?: string;
}

/** The same command aimed at another engine (DOCKER_HOST travels in the environment, not argv). */
export function onHost(c: Cmd, host: string | undefined): Cmd {
  return host ? { ...c, env: { ...c.env, DOCKER_HOST: host } } : c;
}

export const docker = {
  version(): Cmd {
    return cmd(['docker', 'version', '--format', '{{json .}}'], 'ask the Docker Engine for its version', { timeoutMs: 20_000 });
  },
  info(): Cmd {
    return cmd(['docker', 'info', '--format', '{{json .}}'], 'read Docker Engine info', { timeoutMs: 20_000 });
  },
  psIds(filters: string[], all = true): Cmd {
    return cmd(
      ['docker', 'ps', ...(all ? ['-a'] : []), '-q', '--no-trunc', ...filters.flatMap((f) => ['--filter', f])],
      'list containers',
      { timeoutMs: 20_000 },
    );
  },
  inspect(ids: string[]): Cmd {
    return cmd(['docker', 'inspect', ...ids], 'inspect containers', { timeoutMs: 30_000 });
  },
  imageId(ref: string): Cmd {
    return cmd(['docker', 'image', 'inspect', '--format', '{{.Id}}', ref], `look up image ${ref}`, { timeoutMs: 20_000 });
  },
  /** every image: `repository:tag id` per line */
  images(): Cmd {
    return cmd(['docker', 'image', 'ls', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'], 'list images', {
      timeoutMs: 20_000,
    });
  },
  pull(ref: string): Cmd {
    return cmd(['docker', 'pull', '--quiet', ref], `pull ${ref}`, { timeoutMs: 10 * 60_000 });
  },
  logs(c: ContainerRef, tail: number | 'all', o: { since?: string; follow?: boolean; timestamps?: boolean } = {}): Cmd {
    const flags = [...(o.timestamps ? ['--timestamps'] : []), ...(o.since ? ['--since', o.since] : []), ...(o.follow ? ['--follow'] : [])];
    return onHost(
      cmd(
        ['docker', 'logs', '--tail', String(tail), ...flags, c.id],
        `read the last ${tail} log lines of ${c.name ?? c.id}`,
        o.follow ? {} : { timeoutMs: 20_000 },
      ),
      c.host,
    );
  },
  /** attached: stdin passed (-i), a terminal (-t) when asked, no timeout (the user ends it) */
  exec(c: ContainerRef, argv: string[], describe: string, timeoutMs = 15_000, attach?: { stdin: boolean; tty: boolean }): Cmd {
    const flags = attach ? [...(attach.stdin ? ['--interactive'] : []), ...(attach.tty ? ['--tty'] : [])] : [];
    return onHost(cmd(['docker', 'exec', ...flags, c.id, ...argv], describe, attach ? {} : { timeoutMs }), c.host);
  },
  /** SIGTERM, then SIGKILL after `graceSeconds` */
  stop(ids: string[], graceSeconds: number): Cmd {
    return cmd(
      ['docker', 'stop', '--time', String(Math.ceil(graceSeconds)), ...ids],
      `stop ${ids.length} container${ids.length === 1 ? '' : 's'}`,
      { timeoutMs: (Math.ceil(graceSeconds) + 60) * 1000 },
    );
  },
  removeContainers(ids: string[]): Cmd {
    return cmd(['docker', 'rm', '--force', ...ids], `remove ${ids.length} container${ids.length === 1 ? '' : 's'}`, { timeoutMs: 120_000 });
  },
  /** a signal to the container's PID 1 */
  signal(c: ContainerRef, signal: string, describe: string): Cmd {
    return onHost(cmd(['docker', 'kill', '--signal', signal, c.id], describe, { timeoutMs: 15_000 }), c.host);
  },
  networkInspect(...names: string[]): Cmd {
    return cmd(['docker', 'network', 'inspect', '--verbose', ...names], `inspect network ${names.join(', ')}`, { timeoutMs: 20_000 });
  },
  networkIds(filters: string[]): Cmd {
    return cmd(['docker', 'network', 'ls', '-q', ...filters.flatMap((f) => ['--filter', f])], 'list networks', { timeoutMs: 20_000 });
  },
  networkRemove(names: string[]): Cmd {
    return cmd(['docker', 'network', 'rm', ...names], `remove networks ${names.join(', ')}`, { timeoutMs: 60_000 });
  },
  volumeRemove(names: string[]): Cmd {
    return cmd(['docker', 'volume', 'rm', ...names], `remove volumes ${names.join(', ')}`, { timeoutMs: 60_000 });
  },
  volumeNames(filters: string[]): Cmd {
    return cmd(['docker', 'volume', 'ls', '-q', ...filters.flatMap((f) => ['--filter', f])], 'list volumes', { timeoutMs: 20_000 });
  },
};

// Probes run inside containers with whatever tools the image has. The script text is fixed;
// the URL, name, host and port travel as positional arguments ($1, $2), never inside it.

/** An HTTP POST of a JSON body inside a container (wget or curl), url and body as arguments. */
export function httpPostJsonScript(url: string, body: string): string[] {
  return [
    'sh',
    '-c',
    'if command -v wget >/dev/null 2>&1; then wget -q -T 10 -O - --header "Content-Type: application/json" --post-data "$2" "$1"; ' +
      'elif command -v curl >/dev/null 2>&1; then curl -fsS -m 10 -H "Content-Type: application/json" --data-binary "$2" -- "$1"; ' +
      "else echo 'no http client (wget or curl) in this container' >&2; exit 127; fi",
    'wharf-post',
    url,
    body,
  ];
}

/** An HTTP GET inside a container with whatever client it has
 *  (wget in busybox/Debian images, curl elsewhere, node in the API image). */
export function httpGetScript(url: string): string[] {
  return [
    'sh',
    '-c',
    'if command -v wget >/dev/null 2>&1; then wget -q -T 5 -O - "$1"; ' +
      'elif command -v curl >/dev/null 2>&1; then curl -fsS -m 5 -- "$1"; ' +
      'elif command -v node >/dev/null 2>&1; then ' +
      'node -e "fetch(process.argv[1]).then(async r=>{process.stdout.write(await r.text());process.exit(r.ok?0:1)},' +
      'e=>{console.error(String(e));process.exit(1)})" "$1"; ' +
      "else echo 'no http client (wget, curl or node) in this container' >&2; exit 127; fi",
    'wharf-probe',
    url,
  ];
}

/** Name resolution inside a container. Exit 0 and "ip name" lines when it resolves. */
export function resolveScript(name: string): string[] {
  return [
    'sh',
    '-c',
    'if command -v getent >/dev/null 2>&1; then getent hosts "$1"; ' +
      'elif command -v nslookup >/dev/null 2>&1; then nslookup "$1" 2>/dev/null | awk \'/^Address/ && NR>2 {print $NF}\' | grep . ; ' +
      'elif command -v node >/dev/null 2>&1; then ' +
      'node -e "require(\'dns\').lookup(process.argv[1],{all:true},(e,a)=>{if(e)process.exit(2);for(const x of a)console.log(x.address);})" "$1"; ' +
      "else echo 'no resolver tool (getent, nslookup or node) in this container' >&2; exit 127; fi",
    'wharf-probe',
    name,
  ];
}

/** TCP connect inside a container. Exit 0 when connected; stderr says why not. */
export function tcpConnectScript(host: string, port: number): string[] {
  return [
    'sh',
    '-c',
    'if command -v bash >/dev/null 2>&1; then timeout 5 bash -c \'exec 3<>"/dev/tcp/$1/$2"\' wharf-probe "$1" "$2"; ' +
      'elif command -v nc >/dev/null 2>&1; then nc -z -w 5 "$1" "$2"; ' +
      'elif command -v node >/dev/null 2>&1; then ' +
      "node -e \"const s=require('net').connect(+process.argv[2],process.argv[1]);s.setTimeout(5000,()=>{console.error('timeout');process.exit(1)});" +
      's.on(\'connect\',()=>process.exit(0));s.on(\'error\',e=>{console.error(e.code||String(e));process.exit(1)})" "$1" "$2"; ' +
      "else echo 'no tcp tool (bash, nc or node) in this container' >&2; exit 127; fi",
    'wharf-probe',
    host,
    String(Math.trunc(port)),
  ];
}

/** How `docker image ls` names a reference: Docker Hub's prefixes dropped, `:latest` when untagged. */
export function listedName(ref: string): string {
  const r = ref.replace(/^(docker\.io\/library\/|index\.docker\.io\/library\/|docker\.io\/)/, '');
  return /:[^/]+$/.test(r) ? r : `${r}:latest`;
}
