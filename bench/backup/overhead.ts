// bench/backup/overhead.ts: the fixed overhead of a backup and of an in-place restore of a small
// PostgreSQL database, this branch's scripts side by side with a baseline's (BENCH_BASE, a git
// ref, default main) in the same run, rounds interleaved so both see the same host load.
// Floors: raw `pg_dump -Fc` and raw `pg_restore --clean --single-transaction` of the same data.
// Runs the rendered scripts on this host (test/unit/backup-harness.ts) against PostgreSQL on
// loopback and restic >= 0.17; no Docker stack (the stop/start of the app is bench/backup/rto.ts).
// restic with its real key derivation (as in production), wrapped to count its processes per run.
// Usage: npx tsx bench/backup/overhead.ts   (BENCH_ROUNDS=5, BENCH_KB=50, BENCH_BASE=main)
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PG_BIN, startPostgres } from '../../test/support/servers.js';
import { makeSandbox, planFromYaml, postgresSpec, resticBinary, type Sandbox } from '../../test/unit/backup-harness.js';
import { median, pct } from '../stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '5');
const KB = Number(process.env.BENCH_KB ?? '50');
const BASE = process.env.BENCH_BASE ?? 'main';
const restic = resticBinary({ realKey: true });
if (!restic) {
  console.error('restic >= 0.17 not found (set WHARF_RESTIC or build the e2e images)');
  process.exit(2);
}

const db = await startPostgres();
const env = { ...process.env, PGPASSWORD: db.password, PGHOST: '127.0.0.1', PGPORT: String(db.port), PGUSER: db.user };
const psql = (sql: string) =>
  execFileSync(join(PG_BIN, 'psql'), ['-X', '-q', '-At', '-d', db.database, '-c', sql], { env, encoding: 'utf8' }).trim();
const timed = (f: () => void) => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};

/** the phases of a script run from its progress lines: [name, ms] from one line to the next */
function phases(stderr: string, totalMs: number): Map<string, number> {
  const out = new Map<string, number>();
  // the sandbox does not timestamp lines: the bench's own scripts print them with a clock
  const marks = stderr.split('\n').flatMap((l) => {
    const m = /^(\d+\.\d+) progress (\S+)/.exec(l);
    return m ? [{ at: Number(m[1]) * 1000, name: m[2]! }] : [];
  });
  if (!marks.length) return out;
  const end = marks[0]!.at + totalMs;
  marks.forEach((m, i) => {
    if (m.name === 'done') return;
    const next = marks.slice(i + 1).find((x) => x.name !== 'done');
    out.set(m.name, (out.get(m.name) ?? 0) + ((next?.at ?? end) - m.at));
  });
  return out;
}

try {
  psql('CREATE TABLE items (id bigserial PRIMARY KEY, name text, body text, at timestamptz DEFAULT now())');
  psql(
    `INSERT INTO items (name, body) SELECT 'item ' || g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, ${Math.max(1, Math.round((KB * 1024) / 110))}) g`,
  );
  const dbKb = Math.round(Number(psql("SELECT pg_total_relation_size('items')")) / 1024);

  // floors: raw dump and raw in-place restore of the same data
  const file = join(db.dir, 'raw.dump');
  const rawDump: number[] = [];
  const rawRestore: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    rawDump.push(timed(() => execFileSync(join(PG_BIN, 'pg_dump'), ['-Fc', '--no-owner', '-d', db.database, '-f', file], { env })));
    rawRestore.push(
      timed(() =>
        execFileSync(
          join(PG_BIN, 'pg_restore'),
          ['--clean', '--if-exists', '--no-owner', '--single-transaction', '--exit-on-error', '-d', db.database, file],
          {
            env,
          },
        ),
      ),
    );
  }

  const plan = planFromYaml(postgresSpec({ keepLast: 3 }));
  const box = (name: string, ref?: string): { name: string; sb: Sandbox; calls: string } => {
    const sb = makeSandbox(plan, {
      restic: restic!,
      secrets: { 'db-password': db.password },
      env: { WHARF_DB_HOST: '127.0.0.1', WHARF_DB_PORT: String(db.port) },
    });
    // every restic process of a run, by subcommand (the wrapper's own cost is the same for both)
    const calls = join(sb.dir, 'restic.calls');
    writeFileSync(join(sb.dir, 'restic'), `#!/bin/sh\necho "$*" | tr ' ' '\\n' | grep -m1 -v '^-' >> ${calls}\nexec ${restic} "$@"\n`, {
      mode: 0o755,
    });
    sb.env.RESTIC = join(sb.dir, 'restic');
    const bin = join(sb.home, 'bin');
    for (const f of readdirSync(bin).filter((x) => x.endsWith('.sh'))) {
      if (ref)
        writeFileSync(join(bin, f), execFileSync('git', ['show', `${ref}:src/render/backup/sh/${f}`], { encoding: 'utf8' }), {
          mode: 0o755,
        });
    }
    // progress lines with a clock, so phases can be timed from stderr afterwards
    writeFileSync(
      join(bin, 'lib.sh'),
      execFileSync('cat', [join(bin, 'lib.sh')], { encoding: 'utf8' }).replace(
        /^progress\(\) \{ (.*)printf 'progress /m,
        (_m, pre: string) => `progress() { ${pre}printf '%s ' "$(date +%s.%N)" >&2; printf 'progress `,
      ),
      { mode: 0o644 },
    );
    return { name, sb, calls };
  };
  const takeCalls = (b: { calls: string }) => {
    const list = readFileSync(b.calls, 'utf8').trim().split('\n').filter(Boolean);
    writeFileSync(b.calls, '');
    return list;
  };
  const boxes = [box(`base (${BASE})`, BASE), box('this branch')];
  const runs = new Map<
    string,
    {
      backup: number[];
      restore: number[];
      bPhases: Array<Map<string, number>>;
      rPhases: Array<Map<string, number>>;
      bCalls: string[][];
    }
  >();
  for (const b of boxes) runs.set(b.name, { backup: [], restore: [], bPhases: [], rPhases: [], bCalls: [] });
  // a first backup creates each repository (restic init): not part of the steady state
  for (const b of boxes) if ((await b.sb.run('backup', ['db'])).code !== 0) throw new Error(`${b.name}: first backup failed`);
  for (const b of boxes) takeCalls(b);
  for (let i = 0; i < ROUNDS; i++) {
    for (const b of i % 2 ? [...boxes].reverse() : boxes) {
      const r = runs.get(b.name)!;
      const bk = await b.sb.run('backup', ['db']);
      if (bk.code !== 0) throw new Error(`${b.name}: backup failed: ${bk.stderr}`);
      r.backup.push(bk.ms);
      r.bPhases.push(phases(bk.stderr, bk.ms));
      r.bCalls.push(takeCalls(b));
      const rs = await b.sb.run('restore', ['db', 'latest']);
      if (rs.code !== 0 || !/"verified":true/.test(rs.stdout)) throw new Error(`${b.name}: restore failed: ${rs.stderr}`);
      r.restore.push(rs.ms);
      r.rPhases.push(phases(rs.stderr, rs.ms));
      takeCalls(b);
    }
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const phaseMedians = (ps: Array<Map<string, number>>) =>
    [...new Set(ps.flatMap((p) => [...p.keys()]))].map((k) => `${k} ${s(median(ps.map((p) => p.get(k) ?? 0)))}`).join(', ');
  console.log(
    `PostgreSQL table of ${dbKb} KiB, ${ROUNDS} rounds interleaved, medians (restic ${execFileSync(restic, ['version'], { encoding: 'utf8' }).split(' ')[1]})`,
  );
  console.log(`floor: raw pg_dump -Fc ${s(median(rawDump))}, raw pg_restore --clean --single-transaction ${s(median(rawRestore))}`);
  for (const b of boxes) {
    const r = runs.get(b.name)!;
    const last = r.bCalls[r.bCalls.length - 1] ?? [];
    console.log(
      `${b.name.padEnd(16)} backup p50 ${s(median(r.backup))}, p95 ${s(pct(r.backup, 95))} (${phaseMedians(r.bPhases)}); ` +
        `${last.length} restic processes (${last.join(', ')})`,
    );
    console.log(
      `${''.padEnd(16)} restore in place, safety snapshot and manifest check ${s(median(r.restore))} (${phaseMedians(r.rPhases)})`,
    );
  }
  const [base, mine] = boxes.map((b) => runs.get(b.name)!);
  console.log(
    `speed-up: backup ${(median(base!.backup) / median(mine!.backup)).toFixed(1)}x (p95 ${(pct(base!.backup, 95) / pct(mine!.backup, 95)).toFixed(1)}x), ` +
      `backup vs raw pg_dump: ${(median(mine!.backup) / median(rawDump)).toFixed(1)}x, restore ${(median(base!.restore) / median(mine!.restore)).toFixed(1)}x; ` +
      `restore vs raw pg_restore: ${(median(mine!.restore) / median(rawRestore)).toFixed(1)}x`,
  );
  for (const b of boxes) b.sb.cleanup();
} finally {
  await db.stop();
}
