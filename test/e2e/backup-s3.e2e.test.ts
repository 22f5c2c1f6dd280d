// S3 backups for real: a stack whose database backs up to `destination: { type: s3 }`, run
// with `wharf up`, backed up, listed, verified and restored with the CLI a user runs, against
// an S3-compatible server (moto, test/e2e/images/moto) in a container on the stack's edge
// network, under the endpoint's host name, over HTTPS (HAProxy in front) with a certificate of
// the test's own CA (caSecret): restic and pgBackRest verify it. restic's S3 backend (minio-go) does the dumps:
// bucket created by `restic init`, ListObjectsV2, PUT/GET/HEAD/DELETE of packs, index, locks.
// The database has pointInTime: its WAL archiver (pgBackRest) ships to the same bucket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { up } from '../../src/ops/up.js';
import { leaks, secretInventory } from '../support/secret-values.js';
import { dockerSkipReason, ensureTestImages, repoRoot } from './support/images.js';
import { ensureMotoImage, makeS3Tls, sigV4Problem, startS3, TLS_PORT, type S3Server, type S3Tls } from './support/s3.js';
import { assertRecoveredTo, ensurePitrImage, writeTicksThenDrop } from './support/pitr.js';
import { createStack, type E2EStack } from './support/stack.js';

const skip = dockerSkipReason() ?? false;
const BUCKET = 'wharf-backups';
const ENDPOINT_HOST = 'objects';
const ENDPOINT = `https://${ENDPOINT_HOST}:${TLS_PORT}`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const REPO_TIMEOUT_S = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('S3 backup destination, live: restic against an S3-compatible server', { skip, timeout: 900_000 }, () => {
  let s: E2EStack;
  let s3: S3Server;
  let keysDir: string;
  let tls: S3Tls;
  // shaped like AWS keys: the secret has / and + in it
  const accessKey = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretKey = randomBytes(30).toString('base64');
  const outputs: Array<{ name: string; text: string }> = [];
  const cli = async (...args: string[]) => {
    const r = await execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), ...args, '-f', s.specPath], {
      reject: false,
      env: { NO_COLOR: '1' },
    });
    outputs.push({ name: `wharf ${args.join(' ')}`, text: `${r.stdout}\n${r.stderr}` });
    return r;
  };
  const compose = (...args: string[]) =>
    execa('docker', ['compose', '-p', s.ctx.plan.name, '-f', 'compose.yaml', ...args], { cwd: s.ctx.outDir });
  const sql = async (q: string) =>
    (await compose('exec', '-T', 'db', 'psql', '-X', '-At', '-U', 'app', '-d', s.ctx.plan.name.replace(/-/g, '_'), '-c', q)).stdout.trim();
  const rows = () => sql("SELECT string_agg(id || ':' || name || ':' || price, ',' ORDER BY id) FROM items");
  // the archiver's own `window` (pgBackRest info on the bucket): earliest is the first base backup's end
  const pitrWindow = async () => {
    const w = await compose('exec', '-T', 'db-pitr', '/pitr/pitr.sh', 'window').catch((e: { stdout: string; stderr: string }) => e);
    const earliest = 'exitCode' in w && w.exitCode === 0 ? (JSON.parse(w.stdout) as { earliest: number }).earliest : 0;
    return { earliest: earliest ? String(earliest) : undefined, detail: `${w.stdout} ${w.stderr}`.slice(-600) };
  };
  const bucketKeys = async (prefix = 'db/') => {
    const r = await s3.get(`/${BUCKET}?list-type=2&prefix=${prefix}&max-keys=1000`);
    assert.equal(r.status, 200, r.body);
    return [...r.body.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]!);
  };

  before(async () => {
    const images = await ensureTestImages({ progress: null });
    // the substitute keeps restic's ENTRYPOINT like the official image; wharf's backup image resets it
    const backupImage = `wharf-test/backup:${images.restic!.split(':')[1]}`;
    await execa('docker', ['build', '-q', '-t', backupImage, '-'], { input: `FROM ${images.restic}\nENTRYPOINT []\n` });
    const moto = await ensureMotoImage();
    const pitrImage = await ensurePitrImage(images.postgres!);
    tls = await makeS3Tls(ENDPOINT_HOST);
    keysDir = mkdtempSync(join(tmpdir(), 'wharf-s3-keys-'));
    writeFileSync(join(keysDir, 'access-key'), `${accessKey}\n`, { mode: 0o600 });
    writeFileSync(join(keysDir, 'secret-key'), `${secretKey}\n`, { mode: 0o600 });
    writeFileSync(join(keysDir, 'ca.pem'), tls.ca, { mode: 0o600 });
    const spec = {
      name: `wharf-e2e-s3${process.pid % 10000}`,
      domain: 's3bk.localhost',
      databases: {
        db: {
          engine: 'postgres',
          backup: {
            schedule: '0 3 * * *',
            retention: { keepLast: 5 },
            pointInTime: true,
            destination: {
              type: 's3',
              endpoint: ENDPOINT,
              caSecret: 's3-ca',
              bucket: BUCKET,
              accessKeySecret: 's3-access-key',
              secretKeySecret: 's3-secret-key',
              // the spec's knob: an unreachable endpoint fails after 10 s of silence, not the default 30 s
              timeout: `${REPO_TIMEOUT_S}s`,
            },
          },
        },
      },
      secrets: {
        's3-access-key': { file: join(keysDir, 'access-key') },
        's3-secret-key': { file: join(keysDir, 'secret-key') },
        's3-ca': { file: join(keysDir, 'ca.pem') },
      },
      monitoring: { enabled: false },
    };
    s = await createStack(spec, spec.name, (x) => {
      x.images = { ...x.images, restic: backupImage, pgbackrest: pitrImage };
    });
    const r = await up(s.ctx, { timeoutMs: 300_000 });
    assert.deepEqual(
      r.services.filter((x) => x.state !== 'healthy' && x.service !== 'backup').map((x) => `${x.service}:${x.state}`),
      [],
    );
    s3 = await startS3(moto, images.haproxy!, `${s.ctx.plan.name}_edge`, ENDPOINT_HOST, tls);
  });
  after(async () => {
    await s3?.stop();
    await s?.destroy();
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
    tls?.remove();
  });

  test("wharf backup: the repository is created in the bucket, nothing is kept locally; the WAL archiver's follows in the bucket", async () => {
    await sql(
      "CREATE TABLE items (id serial PRIMARY KEY, name text, price numeric(10,2)); INSERT INTO items (name, price) SELECT 'item ' || g, g * 0.25 FROM generate_series(1, 2000) g",
    );
    const b = await cli('backup', 'db');
    assert.equal(b.exitCode, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /db\s+│ db\s+│ ok/);
    const keys = await bucketKeys();
    assert.ok(keys.includes('db/config'), keys.join(' '));
    for (const dir of ['keys', 'data', 'index', 'snapshots'])
      assert.ok(
        keys.some((k) => k.startsWith(`db/${dir}/`)),
        `no db/${dir}/ object in ${keys.join(' ')}`,
      );
    assert.equal(existsSync(join(s.dir, '.wharf', 'backups', 'db')), false, 'no local repository');
    // pgBackRest creates no bucket: its stanza follows restic's `init` (the base backup goes on meanwhile)
    for (let i = 0; ; i++) {
      const w = await compose('exec', '-T', 'db-pitr', '/pitr/pitr.sh', 'window').catch((e: Error) => e);
      if (!(w instanceof Error)) break;
      assert.ok(i < 60, `the archiver's repository is not readable after 60 s: ${w.message.slice(-600)}`);
      await sleep(1000);
    }
  });

  test('wharf backups lists the S3 snapshot; wharf verify checks it and restores it into a scratch database', async () => {
    const v = await cli('verify', 'db');
    assert.equal(v.exitCode, 0, v.stdout + v.stderr);
    const l = await cli('backups', '--json');
    assert.equal(l.exitCode, 0, l.stdout + l.stderr);
    const [job] = JSON.parse(l.stdout) as Array<{ job: string; ok: boolean; snapshots: Array<{ bytes?: number; verification: string }> }>;
    assert.equal(job!.job, 'db');
    assert.equal(job!.snapshots.length, 1);
    assert.ok((job!.snapshots[0]!.bytes ?? 0) > 10_000);
    assert.equal(job!.snapshots[0]!.verification, 'restore-tested');
    const table = await cli('backups');
    assert.match(table.stdout, /restore-tested/);
  });

  test('table dropped, wharf restore --yes brings it back from S3, identical', async () => {
    const before = await rows();
    await sql('DROP TABLE items');
    const r = await cli('restore', 'db', '--yes');
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /yes \(1 tables\)/);
    assert.equal(await rows(), before);
  });

  test('point in time on S3: a writer inserts a row every 100 ms, the table is dropped after T; wharf restore db --to T brings back every row up to T, none after', async () => {
    const { acked, t } = await writeTicksThenDrop({
      sql,
      writer: [
        'docker',
        [
          'compose',
          '-p',
          s.ctx.plan.name,
          '-f',
          'compose.yaml',
          'exec',
          '-T',
          'db',
          'psql',
          '-U',
          'app',
          '-d',
          s.ctx.plan.name.replace(/-/g, '_'),
        ],
        s.ctx.outDir,
      ],
      windowStart: pitrWindow,
    });
    const r = await cli('restore', 'db', '--to', t.toISOString(), '--yes');
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const ids = (await sql('SELECT id FROM ticks ORDER BY id')).split('\n').filter(Boolean).map(Number);
    const { lost, upToT } = assertRecoveredTo(acked, ids, t);
    console.log(`# S3 PITR: ${upToT} rows up to T, ${lost} lost, ${acked.length - upToT} after T left out`);
    // the WAL and the base backup are in the bucket beside restic's repository
    const archive = await bucketKeys('db-pitr/');
    for (const dir of ['archive/db/', 'backup/db/'])
      assert.ok(
        archive.some((k) => k.startsWith(`db-pitr/${dir}`)),
        `no db-pitr/${dir} object in ${archive.join(' ')}`,
      );
  });

  test('every request to the bucket was signed with the keys from the secret files (SigV4 recomputed)', async () => {
    const reqs = (await s3.recording()).filter((q) => new URL(q.url).pathname.startsWith(`/${BUCKET}`));
    assert.ok(reqs.length > 30, `${reqs.length} requests recorded`);
    const methods = new Set(reqs.map((q) => q.method));
    for (const m of ['GET', 'PUT', 'HEAD', 'DELETE']) assert.ok(methods.has(m), `no ${m} in ${[...methods].join(',')}`);
    assert.ok(
      reqs.some((q) => /list-type=2/.test(q.url)),
      'ListObjectsV2 used',
    );
    assert.deepEqual(reqs.map((q) => sigV4Problem(q, accessKey, secretKey)).filter(Boolean), []);
    // and a wrong secret would be noticed: the check is not vacuous
    assert.ok(sigV4Problem(reqs[0]!, accessKey, `${secretKey}x`));
  });

  test('no key or password in CLI output, rendered files, logs, docker inspect or the S3 traffic', async () => {
    const inv = secretInventory(s.ctx.plan, s.ctx.secretsDir!);
    for (const k of [accessKey, secretKey])
      assert.ok(
        inv.values.some((v) => v.value === k),
        'the S3 keys are in the inventory',
      );
    const places = [...outputs];
    for (const f of filesUnder(s.ctx.outDir)) places.push({ name: f, text: readFileSync(f, 'utf8') });
    {
      const l = await compose('logs', '--no-color');
      places.push({ name: 'compose logs', text: `${l.stdout}\n${l.stderr}` });
    }
    {
      const l = await execa('docker', ['logs', s3.container], { reject: false });
      places.push({ name: 'S3 server logs', text: `${l.stdout}\n${l.stderr}` });
    }
    const ids = (await compose('ps', '-aq')).stdout.split('\n').filter(Boolean);
    const inspect = (await execa('docker', ['inspect', ...ids])).stdout;
    places.push({ name: 'docker inspect', text: inspect });
    const backup = (JSON.parse(inspect) as Array<{ Name: string; Config: { Env: string[] } }>).find((c) => c.Name.includes('-backup-'))!;
    assert.deepEqual(
      backup.Config.Env.filter((e) => /^AWS_|^RESTIC_PASSWORD=/.test(e)),
      [],
      'keys are read from /run/secrets inside the scripts',
    );
    assert.deepEqual(leaks(inv, places), []);
    // the access key id travels in every Authorization header by design; nothing else may
    const wire = JSON.stringify(await s3.recording());
    assert.deepEqual(
      leaks({ values: inv.values.filter((v) => v.value !== accessKey), skipped: [] }, [{ name: 'S3 requests', text: wire }]),
      [],
    );
  });

  test('an unreachable destination fails loudly, naming it, within the timeout; the snapshots stay', async () => {
    const before = (await bucketKeys()).filter((k) => k.startsWith('db/snapshots/')).length;
    await execa('docker', ['network', 'disconnect', `${s.ctx.plan.name}_edge`, s3.container]);
    try {
      const t0 = Date.now();
      const b = await cli('backup', 'db');
      const ms = Date.now() - t0;
      assert.equal(b.exitCode, 1, b.stdout + b.stderr);
      assert.match(
        b.stdout + b.stderr,
        new RegExp(`backup destination s3:${ENDPOINT}/${BUCKET}/db unreachable: .*(no such host|lookup ${ENDPOINT_HOST})`),
      );
      // the probe's timeout, plus the CLI and `docker exec` on a busy machine
      assert.ok(ms < (REPO_TIMEOUT_S + 45) * 1000, `gave up after ${ms} ms`);
      const t1 = Date.now();
      const l = await cli('backups');
      console.log(`# unreachable: backup failed after ${ms} ms, backups after ${Date.now() - t1} ms`);
      assert.equal(l.exitCode, 1);
      assert.match(l.stdout + l.stderr, new RegExp(`s3:${ENDPOINT}/${BUCKET}/db unreachable`));
    } finally {
      await execa('docker', ['network', 'connect', '--alias', ENDPOINT_HOST, `${s.ctx.plan.name}_edge`, s3.container]);
    }
    const t3 = Date.now();
    assert.equal((await bucketKeys()).filter((k) => k.startsWith('db/snapshots/')).length, before);
    const l = await cli('backups', '--json');
    assert.equal(l.exitCode, 1, 'the failed run is still reported');
    const [job] = JSON.parse(l.stdout) as Array<{ ok: boolean; snapshots: unknown[]; lastBackup?: { ok: boolean; error?: string } }>;
    assert.equal(job!.ok, true);
    assert.ok(job!.snapshots.length >= 2, 'backup + safety snapshot of the restore');
    assert.match(job!.lastBackup?.error ?? '', /unreachable/);
    console.log(`# reachable again: backups --json ${Date.now() - t3} ms`);
  });
});
