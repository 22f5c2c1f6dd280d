// bench/backup: wharf's backup and restore (the rendered scripts: restic + pg_dump -Fc with the
// manifest and read-back checks) against raw `pg_dump -Fc` / `pg_restore` on the same data,
// and the time to restore a database of BENCH_GB (default 1) GB.
// Runs on this host: PostgreSQL 15 started on loopback by the bench (outside Docker), restic
// >= 0.17 (WHARF_RESTIC, or copied out of the e2e suite's restic image: Debian's 0.14 lacks
// --stdin-from-command). Usage: npx tsx bench/backup/run.ts
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PG_BIN, startPostgres } from '../../test/support/servers.js';
import { makeSandbox, planFromYaml, postgresSpec, resticBinary } from '../../test/unit/backup-harness.js';

const GB = Number(process.env.BENCH_GB ?? '1');
const restic = resticBinary({ realKey: true }); // the real key derivation: part of what a backup costs
if (!restic) {
  console.error('restic >= 0.17 not found (set WHARF_RESTIC or build the e2e images)');
  process.exit(2);
}

const db = await startPostgres();
const env = { ...process.env, PGPASSWORD: db.password, PGHOST: '127.0.0.1', PGPORT: String(db.port), PGUSER: db.user };
const psql = (sql: string, d = db.database) =>
  execFileSync(join(PG_BIN, 'psql'), ['-X', '-q', '-At', '-d', d, '-c', sql], { env, encoding: 'utf8' }).trim();
const t = (f: () => void) => {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
};
try {
  const rows = Math.round((GB * 1024 ** 3) / 250);
  console.error(`generating ~${GB} GB (${rows} rows)...`);
  const gen = t(() => {
    psql('CREATE TABLE items (id bigserial PRIMARY KEY, name text, price numeric(12,2), body text, at timestamptz DEFAULT now())');
    psql(
      `INSERT INTO items (name, price, body) SELECT 'item ' || g, (g % 10000) / 7.0, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) || repeat(chr(65 + g % 26), 60) FROM generate_series(1, ${rows}) g`,
    );
    psql('VACUUM ANALYZE items');
  });
  const dbBytes = Number(psql(`SELECT pg_database_size('${db.database}')`));
  console.error(`generated ${(dbBytes / 1024 ** 3).toFixed(2)} GB in ${gen.toFixed(0)} s`);

  // raw baseline
  const file = join(db.dir, 'raw.dump');
  const rawDump = t(() => execFileSync(join(PG_BIN, 'pg_dump'), ['-Fc', '-Z', '6', '--no-owner', '-d', db.database, '-f', file], { env }));
  const dumpBytes = statSync(file).size;
  psql('CREATE DATABASE raw_restore', 'postgres');
  const rawRestore = t(() =>
    execFileSync(join(PG_BIN, 'pg_restore'), ['--no-owner', '--exit-on-error', '-d', 'raw_restore', file], { env }),
  );
  psql('DROP DATABASE raw_restore', 'postgres');
  rmSync(file);

  // wharf: the rendered scripts
  const sb = makeSandbox(planFromYaml(postgresSpec()), {
    restic,
    secrets: { 'db-password': db.password },
    env: { WHARF_DB_HOST: '127.0.0.1', WHARF_DB_PORT: String(db.port) },
  });
  // run a script, timing each progress phase as its lines arrive
  const timed = (script: string, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string; seconds: number; phases: Array<[string, number]> }>((resolve) => {
      const t0 = performance.now();
      const phases: Array<[string, number]> = [];
      let last = t0;
      let lastName = 'start';
      let stdout = '';
      let stderr = '';
      let pending = '';
      const child = spawn(join(sb.home, 'bin', `${script}.sh`), args, { env: { ...process.env, ...sb.env } });
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) {
          const m = /^progress (\S+)/.exec(l);
          if (!m) continue;
          const now = performance.now();
          phases.push([lastName, (now - last) / 1000]);
          last = now;
          lastName = m[1]!;
        }
      });
      child.on('close', (code) =>
        resolve({
          code: code ?? 1,
          stdout,
          stderr,
          seconds: (performance.now() - t0) / 1000,
          phases: phases.filter(([n]) => n !== 'start'),
        }),
      );
    });
  const b = await timed('backup', ['db']);
  if (b.code !== 0) throw new Error(`wharf backup failed: ${b.stderr}`);
  // a second backup of the same data: restic's deduplication (pg_dump -Z 0, restic compresses)
  const b2 = await timed('backup', ['db']);
  if (b2.code !== 0) throw new Error(`second wharf backup failed: ${b2.stderr}`);
  const added2 = Number(/"added":(\d+)/.exec(b2.stdout)?.[1] ?? NaN);
  const r = await timed('restore', ['db', 'latest', '--to-scratch', 'wharf_restore']);
  const wharfRestore = r.seconds;
  if (r.code !== 0) throw new Error(`wharf restore failed: ${r.stderr}`);
  const bt = b.seconds;
  const repoBytes = Number(execFileSync('du', ['-sb', sb.repoDir], { encoding: 'utf8' }).split('\t')[0]);
  const verified = /"verified":true/.test(r.stdout);
  sb.cleanup();

  const mbps = (s: number) => (dbBytes / 1024 ** 2 / s).toFixed(1);
  const rowsOut = [
    ['', 'seconds', 'MB/s (db size)', 'ratio vs raw'],
    ['raw pg_dump -Fc', rawDump.toFixed(1), mbps(rawDump), '1.00'],
    ['wharf backup', bt.toFixed(1), mbps(bt), (bt / rawDump).toFixed(2)],
    ['raw pg_restore', rawRestore.toFixed(1), mbps(rawRestore), '1.00'],
    ['wharf restore (to scratch, checked)', wharfRestore.toFixed(1), mbps(wharfRestore), (wharfRestore / rawRestore).toFixed(2)],
  ];
  console.log(
    `database ${(dbBytes / 1024 ** 3).toFixed(2)} GB, raw dump ${(dumpBytes / 1024 ** 2).toFixed(0)} MB, restic repo ${(repoBytes / 1024 ** 2).toFixed(0)} MB, restore verified against manifest: ${verified}`,
  );
  for (const row of rowsOut) console.log(row.map((c, i) => (i === 0 ? c.padEnd(38) : c.padStart(16))).join(''));
  console.log(`time to restore the ${(dbBytes / 1024 ** 3).toFixed(2)} GB database with wharf: ${wharfRestore.toFixed(1)} s`);
  console.log(
    `dump+upload phase alone vs raw pg_dump: ${(b.phases.find(([n]) => n === 'dump')![1] / rawDump).toFixed(2)}x; second backup of unchanged data: ${b2.seconds.toFixed(1)} s, added ${(added2 / 1024 ** 2).toFixed(1)} MB to the repository`,
  );
  console.log(`wharf backup phases:  ${b.phases.map(([n, x]) => `${n} ${x.toFixed(1)}s`).join(', ')}`);
  console.log(`wharf restore phases: ${r.phases.map(([n, x]) => `${n} ${x.toFixed(1)}s`).join(', ')}`);
} finally {
  await db.stop();
}
