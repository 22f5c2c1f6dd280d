// bench/backup/rpo.ts: recovery point of point-in-time recovery when the database's host is
// lost. A writer inserts a timestamped row every 100 ms; at a random moment the database and
// its WAL archiver are killed (SIGKILL) and the segments still waiting in the spool are
// deleted (they were on the lost host); the archiver then restores to the end of the archive
// (`pitr.sh restore latest`) and the rows the writer had acknowledged but are not back are
// counted. Target: archive_timeout (plan/pitr.ts) of writes, plus the archiver's push interval.
// Each round is a new stack (a new cluster and repository): the host is lost once. Rounds on
// the database a `restore latest` had brought back lost every row (the restored server closed
// no segment in 45 s, archive_timeout or not): see the README, not measured here.
// Usage: flock /tmp/wharf-docker.lock npx tsx bench/backup/rpo.ts   (BENCH_ROUNDS=5)
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBackupDirs } from '../../src/ops/backup.js';
import { ARCHIVE_TIMEOUT_SECONDS, PUSH_INTERVAL_SECONDS, SPOOL_DIR } from '../../src/plan/pitr.js';
import { renderCompose } from '../../src/render/compose/index.js';
import { renderPitr } from '../../src/render/pitr/index.js';
import { ensureSecrets } from '../../src/secrets/generate.js';
import { ensureTestImages } from '../../test/e2e/support/images.js';
import { ensurePitrImage, startWriter, TICKS_TABLE } from '../../test/e2e/support/pitr.js';
import { planFromYaml, postgresSpec } from '../../test/unit/backup-harness.js';
import { median } from '../stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '5');
const images = await ensureTestImages({ only: ['postgres'] });
const pitrImage = await ensurePitrImage(images.postgres!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Round {
  lostRows: number;
  lostSeconds: number;
  killedAfter: number;
  acked: number;
  restoreMs: number;
}

async function round(n: number): Promise<Round> {
  const project = `pitr-rpo${process.pid}-${n}`;
  const dir = mkdtempSync(join(tmpdir(), 'wharf-rpo-'));
  const out = join(dir, '.wharf', 'compose');
  const compose = (...args: string[]) => execa('docker', ['compose', '-p', project, '-f', 'compose.yaml', ...args], { cwd: out });
  const sql = async (q: string) =>
    (await compose('exec', '-T', 'db', 'psql', '-X', '-At', '-U', 'wharf', '-d', 'wharf', '-c', q)).stdout.trim();
  const pitr = async (...args: string[]) => (await compose('exec', '-T', 'db-pitr', '/pitr/pitr.sh', ...args)).stdout.trim();
  async function healthy(container: string) {
    for (let i = 0; i < 240; i++) {
      const r = await execa('docker', ['inspect', '-f', '{{.State.Health.Status}}', container], { reject: false });
      if (r.stdout.trim() === 'healthy') return;
      await sleep(250);
    }
    throw new Error(`${container} not healthy`);
  }
  try {
    const spec = `${postgresSpec({ keepLast: 5, schedule: '0 3 1 1 *' })
      .replace('name: bk', `name: ${project}`)
      .replace(
        '    backup:\n',
        '    backup:\n      pointInTime: true\n',
      )}images:\n  postgres: ${images.postgres}\n  pgbackrest: ${pitrImage}\n`;
    writeFileSync(join(dir, 'wharf.yaml'), spec);
    const plan = planFromYaml(spec);
    plan.components = plan.components.filter((c) => ['db', 'db-pitr'].includes(c.name));
    plan.volumes = plan.volumes.filter((v) => v.component === 'db' || v.component === 'backup');
    plan.networks = plan.networks.filter((x) => x.name === 'backend');
    mkdirSync(out, { recursive: true });
    for (const f of [...renderCompose(plan), ...renderPitr(plan)]) {
      mkdirSync(join(out, f.path, '..'), { recursive: true });
      writeFileSync(join(out, f.path), f.contents, { mode: f.mode ?? 0o644 });
    }
    await ensureSecrets(plan, join(dir, '.wharf', 'secrets'), dir);
    ensureBackupDirs(plan, dir);
    await compose('up', '-d');
    await healthy(`${project}-db-1`);
    for (let i = 0; !(JSON.parse((await pitr('window').catch(() => '{}')) || '{}') as { earliest?: number }).earliest; i++) {
      if (i > 120) throw new Error('no base backup in 120 s');
      await sleep(1000);
    }
    await sql(TICKS_TABLE);
    // the table itself in the archive: a kill before the next segment switch would lose it
    await pitr('flush');
    const writer = startWriter(
      'docker',
      ['compose', '-p', project, '-f', 'compose.yaml', 'exec', '-T', 'db', 'psql', '-U', 'wharf', '-d', 'wharf'],
      out,
    );
    // a random moment within two archive intervals: anywhere in a segment's life
    const wait = 3000 + Math.random() * 2 * ARCHIVE_TIMEOUT_SECONDS * 1000;
    await sleep(wait);
    await execa('docker', ['kill', '-s', 'KILL', `${project}-db-1`, `${project}-db-pitr-1`]);
    const acked = await writer.stop();
    // the host is lost: so are the segments that had not left it
    await execa('docker', [
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      '-v',
      `${project}_db-wal:/var/run/postgresql`,
      pitrImage,
      '-c',
      `rm -f ${SPOOL_DIR}/0*`,
    ]);
    // docker, not compose: `compose start db-pitr` starts the database it depends on too
    await execa('docker', ['start', `${project}-db-pitr-1`]);
    const r = JSON.parse(await pitr('restore', 'latest')) as { phases: Array<{ ms: number }> };
    await compose('start', 'db');
    await healthy(`${project}-db-1`);
    const back = new Set((await sql('SELECT id FROM ticks')).split('\n').filter(Boolean).map(Number));
    const lost = acked.filter((x) => !back.has(x.id));
    // the writes lost: from the first acknowledged row not back to the last acknowledged one
    const lastAcked = Math.max(...acked.map((x) => x.at));
    console.error(`round ${n}: killed after ${(wait / 1000).toFixed(1)} s, ${acked.length} rows acknowledged, ${lost.length} lost`);
    return {
      lostRows: lost.length,
      lostSeconds: lost.length ? (lastAcked - Math.min(...lost.map((x) => x.at))) / 1000 + 0.1 : 0,
      killedAfter: wait / 1000,
      acked: acked.length,
      restoreMs: r.phases.reduce((a, p) => a + p.ms, 0),
    };
  } finally {
    await compose('down', '-v', '--remove-orphans').catch(() => undefined);
    // the local repository belongs to the container's postgres user: removed from a container
    await execa('docker', ['run', '--rm', '--entrypoint', 'rm', '-v', `${dir}:/d`, pitrImage, '-rf', '/d/.wharf'], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
}

const rounds: Round[] = [];
for (let n = 1; n <= ROUNDS; n++) rounds.push(await round(n));
const target = ARCHIVE_TIMEOUT_SECONDS + PUSH_INTERVAL_SECONDS;
console.log(`archive_timeout ${ARCHIVE_TIMEOUT_SECONDS} s, push every ${PUSH_INTERVAL_SECONDS} s, writer every 100 ms, ${ROUNDS} rounds`);
console.log('round  killed after s  rows acked  rows lost  seconds lost  restore+replay s');
rounds.forEach((x, i) =>
  console.log(
    [i + 1, x.killedAfter.toFixed(1), x.acked, x.lostRows, x.lostSeconds.toFixed(1), (x.restoreMs / 1000).toFixed(1)]
      .map((c, k) => String(c).padStart([5, 15, 12, 11, 14, 18][k]!))
      .join(''),
  ),
);
const worst = Math.max(...rounds.map((x) => x.lostSeconds));
console.log(
  `RPO median ${median(rounds.map((x) => x.lostSeconds)).toFixed(1)} s (${median(rounds.map((x) => x.lostRows))} rows), worst ${worst.toFixed(1)} s; ` +
    `target ${target} s (archive_timeout + push interval): ${worst <= target ? 'met' : 'MISSED'}; a daily dump: up to 86400 s`,
);
