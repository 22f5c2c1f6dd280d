// A reconnect storm against the published edge (loopback only), and the kernel's view of a
// container's memory (its cgroup), for tests that must prove the edge is never OOM-killed.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';

export interface StormOptions {
  port: number;
  /** Host header and SNI of the route to hammer */
  host: string;
  durationMs: number;
  /** clients that open a new TLS connection per request and give up after timeoutMs (then reconnect) */
  reconnecting: number;
  timeoutMs: number;
  /** connections that send half a request and hold it (clients stuck mid-request), kept to the end */
  holders: number;
  /** HTTP/2 sessions, each keeping `streams` requests in flight */
  h2Sessions: number;
  streams: number;
}

export interface StormResult {
  requests: number;
  ok: number;
  failed: number;
  timedOut: number;
  /** TLS handshakes completed (new connections the edge admitted) */
  handshakes: number;
  /** holders whose handshake completed: the edge admitted them */
  holdersAdmitted: number;
  h2Ok: number;
  h2Failed: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bounded in count and time: every loop stops at the deadline, every socket is destroyed. */
export async function storm(o: StormOptions): Promise<StormResult> {
  const deadline = Date.now() + o.durationMs;
  const r: StormResult = { requests: 0, ok: 0, failed: 0, timedOut: 0, handshakes: 0, holdersAdmitted: 0, h2Ok: 0, h2Failed: 0 };
  const tls = { host: '127.0.0.1', port: o.port, servername: o.host, rejectUnauthorized: false };

  const once = () =>
    new Promise<void>((resolve) => {
      r.requests++;
      const req = request(
        { ...tls, path: '/', headers: { host: o.host, connection: 'close' }, agent: false, timeout: o.timeoutMs },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) r.ok++;
            else r.failed++;
            resolve();
          });
          res.on('error', () => {
            r.failed++;
            resolve();
          });
        },
      );
      req.on('socket', (s) => s.once('secureConnect', () => r.handshakes++));
      req.on('timeout', () => {
        r.timedOut++;
        req.destroy();
      });
      req.on('error', () => {
        r.failed++;
        resolve();
      });
      req.end();
    });
  const reconnecting = Array.from({ length: o.reconnecting }, async () => {
    while (Date.now() < deadline) {
      await once();
      await sleep(5);
    }
  });

  const held: TLSSocket[] = [];
  const holders = (async () => {
    // Opened in waves so the client's own CPU does not decide how many the edge sees.
    for (let i = 0; i < o.holders && Date.now() < deadline; i += 50) {
      for (let j = i; j < Math.min(o.holders, i + 50); j++) {
        const s = connect({ ...tls, ALPNProtocols: ['http/1.1'] }, () => {
          r.holdersAdmitted++;
          s.write(`GET / HTTP/1.1\r\nHost: ${o.host}\r\nX-Storm: `);
        });
        s.on('error', () => {});
        held.push(s);
      }
      await sleep(100);
    }
  })();

  const sessions: ClientHttp2Session[] = [];
  const h2 = Array.from({ length: o.h2Sessions }, async () => {
    while (Date.now() < deadline) {
      const session = h2connect(`https://${o.host}:${o.port}`, { ...tls, ALPNProtocols: ['h2'] });
      session.on('error', () => {});
      sessions.push(session);
      const stream = async () => {
        while (Date.now() < deadline && !session.destroyed) {
          await new Promise<void>((resolve) => {
            let q: ReturnType<ClientHttp2Session['request']>;
            // A reloading edge sends GOAWAY: the session takes no new stream, a new one is opened.
            try {
              q = session.request({ ':path': '/', ':authority': o.host });
            } catch {
              r.h2Failed++;
              session.destroy();
              resolve();
              return;
            }
            const t = setTimeout(() => {
              q.close();
              r.h2Failed++;
              resolve();
            }, o.timeoutMs);
            q.on('response', (h) => {
              if (h[':status'] === 200) r.h2Ok++;
              else r.h2Failed++;
            });
            q.on('data', () => {});
            q.on('close', () => {
              clearTimeout(t);
              resolve();
            });
            q.on('error', () => {});
            q.end();
          });
        }
      };
      await Promise.all(Array.from({ length: o.streams }, stream));
      session.destroy();
    }
  });

  await Promise.all([...reconnecting, holders, ...h2]);
  for (const s of held) s.destroy();
  for (const s of sessions) s.destroy();
  return r;
}

/** A container's memory cgroup, cgroup v1 or v2, found from its PID 1. */
export interface MemoryCgroup {
  limit(): number;
  usage(): number;
  /** anonymous memory (process heap: what connections cost) */
  anon(): number;
  /** highest usage the kernel saw (v1 max_usage_in_bytes, v2 memory.peak), or undefined */
  peak(): number | undefined;
  /** the kernel's OOM-kill count for this cgroup */
  oomKills(): number;
}

export function memoryCgroup(container: string): MemoryCgroup {
  const pid = execFileSync('docker', ['inspect', '--format', '{{.State.Pid}}', container]).toString().trim();
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.map((l) => l.split(':')).find(([, ctrl]) => ctrl!.split(',').includes('memory'));
  const root = v1 ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup';
  const path = v1 ? v1[2]! : lines.find((l) => l.startsWith('0::'))!.slice(3);
  // Inside a container (Docker-in-Docker, as on a fresh CI machine) /proc shows the host's whole
  // cgroup path while the hierarchy is mounted from the container's own cgroup: try its suffixes.
  const parts = path.split('/').filter(Boolean);
  const dir = parts.map((_, i) => `${root}/${parts.slice(i).join('/')}`).find((d) => existsSync(d)) ?? `${root}${path}`;
  if (!existsSync(dir)) throw new Error(`no memory cgroup at ${root}${path} (or any suffix of it) for ${container}`);
  const num = (f: string) => Number(readFileSync(`${dir}/${f}`, 'utf8').trim());
  const stat = () =>
    Object.fromEntries(
      readFileSync(`${dir}/memory.stat`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([k, v]) => [k, Number(v)]),
    );
  if (v1) {
    return {
      limit: () => num('memory.limit_in_bytes'),
      usage: () => num('memory.usage_in_bytes'),
      anon: () => stat().total_rss ?? NaN,
      peak: () => num('memory.max_usage_in_bytes'),
      oomKills: () => Number(/oom_kill (\d+)/.exec(readFileSync(`${dir}/memory.oom_control`, 'utf8'))?.[1] ?? NaN),
    };
  }
  return {
    limit: () => num('memory.max'),
    usage: () => num('memory.current'),
    anon: () => stat().anon ?? NaN,
    peak: () => (existsSync(`${dir}/memory.peak`) ? num('memory.peak') : undefined),
    oomKills: () => Number(/oom_kill (\d+)/.exec(readFileSync(`${dir}/memory.events`, 'utf8'))?.[1] ?? NaN),
  };
}

/** Samples usage and anon every intervalMs until stopped; the maxima it saw. */
export function sampleMemory(cg: MemoryCgroup, intervalMs = 200): { stop(): { maxUsage: number; maxAnon: number; samples: number } } {
  let maxUsage = 0;
  let maxAnon = 0;
  let samples = 0;
  const t = setInterval(() => {
    try {
      maxUsage = Math.max(maxUsage, cg.usage());
      maxAnon = Math.max(maxAnon, cg.anon());
      samples++;
    } catch {
      /* the cgroup went away: a restart, which the test catches */
    }
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(t);
      return { maxUsage, maxAnon, samples };
    },
  };
}

/**
 * The kernel log's OOM-kill records naming this container's cgroup (`oom_memcg=.../<id>`):
 * the one record that survives the container's restart (a restarted container gets a new
 * cgroup, and with it a zeroed oom_kill counter). undefined when the log cannot be read.
 */
export function kernelOomKills(containerId: string): string[] | undefined {
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  const out: string[] = [];
  const buf = Buffer.alloc(8192);
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue; // records overwritten while reading: go on from the next
        if (code === 'EAGAIN') break;
        throw e;
      }
      const line = buf.subarray(0, n).toString('utf8');
      if (line.includes('oom-kill:') && line.includes(containerId)) out.push(line.trim());
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
