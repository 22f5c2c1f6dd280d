// The WAL archiver's files and what pointInTime changes in the plan: the database archives into
// the shared spool, the archiver mounts its data, socket, metrics and repository, and the
// pgBackRest configuration encrypts and holds no secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan } from '../../plan/build.js';
import { parseSpecText } from '../../spec/load.js';
import { renderPitr, renderPgbackrestConf } from './index.js';
import { renderJobEnv } from '../backup/index.js';

const planOf = (yaml: string) => buildPlan(parseSpecText(yaml, 'wharf.yaml').stack!);
const spec = (backup: string) => `name: pt
domain: pt.localhost
secrets: { s3-key: { generate: true }, s3-secret: { generate: true } }
databases:
  db: { engine: postgres, backup: ${backup} }
  plain: { engine: postgres, backup: {} }
`;

test('pointInTime: the database archives to the shared spool, the archiver mounts data, socket, metrics and repository', () => {
  const plan = planOf(spec('{ pointInTime: true }'));
  const db = plan.components.find((c) => c.name === 'db')!;
  assert.deepEqual(db.command!.slice(0, 3), ['postgres', '-c', 'archive_mode=on']);
  assert.ok(db.command!.includes('archive_timeout=30s'));
  assert.ok(db.mounts.some((m) => m.type === 'volume' && m.source === 'db-wal' && m.target === '/var/run/postgresql'));
  const plain = plan.components.find((c) => c.name === 'plain')!;
  assert.equal(plain.command, undefined, 'a database without pointInTime is unchanged');
  const a = plan.components.find((c) => c.name === 'db-pitr')!;
  assert.deepEqual(
    a.mounts.map((m) => `${m.type === 'config' ? m.bundle : m.source} ${m.target}`),
    [
      'pitr-scripts /pitr',
      'db-data /var/lib/postgresql/data',
      'db-wal /var/run/postgresql',
      'backup-metrics /metrics',
      '../../.wharf/backups/db-pitr /repo/db-pitr',
    ],
  );
  assert.deepEqual(a.secrets, [{ secret: 'db-pitr-cipher', target: '/run/secrets/db-pitr-cipher' }]);
  assert.ok(plan.secrets.some((s) => s.name === 'db-pitr-cipher' && s.source.kind === 'random'));
  assert.equal(
    plan.components.find((c) => c.name === 'plain-pitr'),
    undefined,
  );
  const files = renderPitr(plan).map((f) => f.path);
  assert.deepEqual(files, ['pitr/Dockerfile', 'pitr/pitr.sh', 'pitr/scheduler.sh', 'pitr/db/pitr.env', 'pitr/db/pgbackrest.conf']);
});

test('pgbackrest.conf: local and S3 repositories, encrypted, no key in the file', () => {
  const local = planOf(spec('{ pointInTime: true }'));
  const l = renderPgbackrestConf(
    local,
    local.backups.find((j) => j.name === 'db')!,
  );
  assert.match(l, /^repo1-type=posix\nrepo1-path=\/repo\/db-pitr$/m);
  assert.match(l, /^repo1-cipher-type=aes-256-cbc$/m);
  assert.match(l, /^\[db\]\npg1-user=\S+\npg1-database=\S+$/m);
  const s3 = planOf(
    spec(
      '{ pointInTime: true, destination: { type: s3, endpoint: "https://s3.example.com:9443", bucket: "b-1", accessKeySecret: s3-key, secretKeySecret: s3-secret } }',
    ),
  );
  const c = renderPgbackrestConf(
    s3,
    s3.backups.find((j) => j.name === 'db')!,
  );
  assert.match(c, /^repo1-type=s3\nrepo1-path=\/db-pitr\nrepo1-s3-bucket=b-1\nrepo1-s3-endpoint=s3.example.com\nrepo1-storage-port=9443$/m);
  assert.doesNotMatch(c, /cipher-pass|s3-key=|s3-key-secret=/);
});

test('an S3 endpoint under a private CA: pgBackRest and restic verify with the CA from caSecret, mounted into the archiver and the backup service; an undeclared caSecret is refused', () => {
  const dest = (ca: string) =>
    `{ pointInTime: true, destination: { type: s3, endpoint: "https://objects:5443", bucket: b-1, accessKeySecret: s3-key, secretKeySecret: s3-secret, caSecret: ${ca} } }`;
  const plan = planOf(
    spec(dest('s3-ca')).replace('s3-secret: { generate: true }', 's3-secret: { generate: true }, s3-ca: { file: ca.pem }'),
  );
  const conf = renderPgbackrestConf(
    plan,
    plan.backups.find((j) => j.name === 'db')!,
  );
  assert.match(conf, /^repo1-storage-ca-file=\/run\/secrets\/s3-ca$/m);
  assert.doesNotMatch(conf, /verify-tls/);
  assert.doesNotMatch(conf, /io-timeout/, 'pgBackRest keeps its own 60 s when the spec gives no timeout');
  const archiver = plan.components.find((c) => c.name === 'db-pitr')!;
  assert.ok(archiver.secrets.some((s) => s.secret === 's3-ca' && s.target === '/run/secrets/s3-ca'));
  // restic: lib.sh exports RESTIC_CACERT from this name (never --insecure-tls)
  const backup = plan.components.find((c) => c.name === 'backup')!;
  assert.ok(backup.secrets.some((s) => s.secret === 's3-ca' && s.target === '/run/secrets/s3-ca'));
  assert.match(
    renderJobEnv(
      plan,
      plan.backups.find((j) => j.name === 'db')!,
    ),
    /^S3_CA_SECRET='s3-ca'$/m,
  );
  const r = parseSpecText(spec(dest('nope')), 'wharf.yaml');
  assert.ok(
    r.issues?.some((i) => i.path === 'databases.db.backup.destination.caSecret' && /not declared/.test(i.message)),
    JSON.stringify(r.issues),
  );
});

test("an S3 destination's timeout bounds pgBackRest's requests as it does restic's (io-timeout, whole seconds)", () => {
  const plan = planOf(
    spec(
      '{ pointInTime: true, destination: { type: s3, endpoint: "https://s3.example.com", bucket: b-1, accessKeySecret: s3-key, secretKeySecret: s3-secret, timeout: 9500ms } }',
    ),
  );
  const conf = renderPgbackrestConf(
    plan,
    plan.backups.find((j) => j.name === 'db')!,
  );
  assert.match(conf, /^\[global\]\n(?:.*\n)*io-timeout=10\n(?:.*\n)*\[db\]$/m);
});
