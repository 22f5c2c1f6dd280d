// Point-in-time recovery in the e2e stacks: the WAL archiver's image (the rendered
// pitr/Dockerfile over the substitute PostgreSQL image), a writer that inserts a timestamped
// row every 100 ms, and the check of a recovery to a moment T against what the writer saw.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { renderPitrDockerfile } from '../../../src/render/pitr/index.js';
import { ARCHIVE_TIMEOUT_SECONDS } from '../../../src/plan/pitr.js';

/** The production Dockerfile (pgBackRest and jq from Debian) over this PostgreSQL image, built once per content. */
export async function ensurePitrImage(postgresImage: string): Promise<string> {
  const dockerfile = renderPitrDockerfile();
  const base = (await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', postgresImage])).stdout.trim();
  const ref = `wharf-test/pgbackrest:${createHash('sha256').update(base).update(dockerfile).digest('hex').slice(0, 12)}`;
  if ((await execa('docker', ['image', 'inspect', ref], { reject: false })).exitCode === 0) return ref;
  await execa(
    'docker',
    ['build', '-q', '--build-arg', `POSTGRES_IMAGE=${postgresImage}`, '--label', 'org.wharf.test.image=pgbackrest', '-t', ref, '-'],
    {
      input: dockerfile,
      env: { DOCKER_BUILDKIT: '0' },
    },
  );
  return ref;
}

export interface Tick {
  id: number;
  /** epoch ms of clock_timestamp() in the row */
  at: number;
}

export const TICKS_TABLE = 'CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())';

/**
 * One psql session (the command given, e.g. `docker compose exec -T db psql …`) fed an INSERT
 * every 100 ms; each row it prints back (id, time) is a commit the database acknowledged.
 */
export function startWriter(cmd: string, args: string[], cwd?: string, everyMs = 100) {
  const p = spawn(cmd, [...args, '-XAtq', '-F', ' '], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const acked: Tick[] = [];
  let rest = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      const [id, at] = l.trim().split(' ');
      if (id && at) acked.push({ id: Number(id), at: Math.round(Number(at) * 1000) });
    }
  });
  p.stderr.resume();
  p.stdin.on('error', () => undefined);
  const exited = new Promise<void>((r) => p.once('close', () => r()));
  const timer = setInterval(() => {
    if (p.stdin.writable) p.stdin.write('INSERT INTO ticks DEFAULT VALUES RETURNING id, extract(epoch FROM at);\n');
  }, everyMs);
  return {
    acked,
    /** stops writing, waits for the session's last answers */
    async stop(): Promise<Tick[]> {
      clearInterval(timer);
      p.stdin.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      p.kill();
      return acked;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type WindowStart = () => Promise<{ earliest?: string; detail: string }>;

/** Until the recoverable window opens (the archiver's first base backup), at most 120 s. */
export async function waitForWindow(windowStart: WindowStart): Promise<string> {
  for (let i = 0; ; i++) {
    const w = await windowStart();
    if (w.earliest) return w.earliest;
    assert.ok(i < 120, `no base backup after 120 s: ${w.detail}`);
    await sleep(1000);
  }
}

/**
 * The writing half of the Must-show, the same on every destination: waits until the window
 * opens (the archiver's first base backup), creates the ticks table, writes for 3 s, notes T,
 * writes 1 s more, drops the table and stops the writer. `windowStart` returns the window's
 * earliest moment (falsy while there is none) and anything worth showing on a timeout.
 */
export async function writeTicksThenDrop(o: {
  sql: (q: string) => Promise<string>;
  /** the psql session's command: [command, args, cwd] */
  writer: [string, string[], string?];
  windowStart: WindowStart;
}): Promise<{ acked: Tick[]; t: Date }> {
  await waitForWindow(o.windowStart);
  await o.sql(TICKS_TABLE);
  const writer = startWriter(...o.writer);
  await sleep(3000);
  const t = new Date();
  await sleep(1000);
  await o.sql('DROP TABLE ticks');
  return { acked: await writer.stop(), t };
}

/** Rows the restore lost (acknowledged at or before T, not back) and rows it brought back from after T. */
export function compareRecovery(acked: Tick[], restoredIds: number[], t: Date) {
  const back = new Set(restoredIds);
  const upToT = acked.filter((x) => x.at <= t.getTime());
  const lost = upToT.filter((x) => !back.has(x.id));
  const afterT = acked.filter((x) => x.at > t.getTime() && back.has(x.id));
  const unknown = restoredIds.filter((id) => !acked.some((x) => x.id === id));
  return { upToT: upToT.length, lost, afterT, unknown };
}

/**
 * The Must-show of issue 27: every row written up to T is back but those of at most the
 * configured archive interval (archive_timeout) before T, and nothing written after T is.
 */
export function assertRecoveredTo(acked: Tick[], restoredIds: number[], t: Date): { lost: number; upToT: number } {
  const c = compareRecovery(acked, restoredIds, t);
  assert.ok(c.upToT >= 20, `the writer had ${c.upToT} rows acknowledged by T`);
  assert.deepEqual(c.afterT, [], 'no row written after T is back');
  assert.deepEqual(c.unknown, [], 'no row the writer never saw acknowledged');
  const oldestLost = Math.min(...c.lost.map((x) => x.at));
  assert.ok(
    !c.lost.length || t.getTime() - oldestLost <= ARCHIVE_TIMEOUT_SECONDS * 1000,
    `lost rows from ${t.getTime() - oldestLost} ms before T`,
  );
  return { lost: c.lost.length, upToT: c.upToT };
}
