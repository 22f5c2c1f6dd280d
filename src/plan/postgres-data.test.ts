// PostgreSQL 18's image moved its data (PGDATA /var/lib/postgresql/18/docker, VOLUME
// /var/lib/postgresql): the data volume, the k8s PGDATA, the WAL archiver and its pitr.env follow
// the major version the database runs; 16 and 17 keep /var/lib/postgresql/data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan } from './build.js';
import { parseSpecText } from '../spec/load.js';
import { postgresData, postgresMajor } from './postgres-data.js';
import { renderPitrEnv } from '../render/pitr/index.js';
import { renderAll } from '../render/index.js';
import { type Doc, docsOf } from '../../test/support/k8s-tree.js';

const planOf = (version: string, images = '') =>
  buildPlan(
    parseSpecText(
      `name: pg\ndomain: pg.localhost\n${images}databases:\n  db: { engine: postgres${version ? `, version: '${version}'` : ''}, backup: { pointInTime: true } }\n`,
      'wharf.yaml',
    ).stack!,
  );
const volumeMounts = (plan: ReturnType<typeof planOf>, name: string) =>
  plan.components.find((c) => c.name === name)!.mounts.flatMap((m) => (m.type === 'volume' && m.source === 'db-data' ? [m.target] : []));

test('postgresMajor and postgresData: the major of a version or tag, and its layout; a tag that names none gets the default 16 layout', () => {
  for (const [tag, major] of [
    ['18', 18],
    ['18.1', 18],
    ['18-alpine', 18],
    ['17.2-bookworm', 17],
    ['9.6', 9],
    ['latest', undefined],
    ['123456789012', undefined],
    [undefined, undefined],
  ] as const)
    assert.equal(postgresMajor(tag), major, String(tag));
  assert.deepEqual(postgresData('postgres:16.6-bookworm'), { mount: '/var/lib/postgresql/data', pgdata: '/var/lib/postgresql/data' });
  assert.deepEqual(postgresData('postgres:17'), { mount: '/var/lib/postgresql/data', pgdata: '/var/lib/postgresql/data' });
  assert.deepEqual(postgresData('docker.io/library/postgres:18.1-alpine'), {
    mount: '/var/lib/postgresql',
    pgdata: '/var/lib/postgresql/18/docker',
  });
  assert.deepEqual(postgresData('registry.local:5000/pg:19@sha256:' + 'a'.repeat(64)), {
    mount: '/var/lib/postgresql',
    pgdata: '/var/lib/postgresql/19/docker',
  });
  assert.deepEqual(postgresData('wharf-test/postgres:e87f476af2d2'), {
    mount: '/var/lib/postgresql/data',
    pgdata: '/var/lib/postgresql/data',
  });
});

test('version 18: the data volume at /var/lib/postgresql, PGDATA said, and the WAL archiver mounts and restores the same directory', () => {
  const plan = planOf('18');
  const db = plan.components.find((c) => c.name === 'db')!;
  assert.equal(db.image, 'postgres:18');
  assert.deepEqual(volumeMounts(plan, 'db'), ['/var/lib/postgresql']);
  assert.equal(db.env.PGDATA, '/var/lib/postgresql/18/docker');
  assert.deepEqual(volumeMounts(plan, 'db-pitr'), ['/var/lib/postgresql']);
  assert.match(
    renderPitrEnv(
      plan,
      plan.backups.find((j) => j.target === 'db')!,
    ),
    /^PGDATA='?\/var\/lib\/postgresql\/18\/docker'?$/m,
  );
  // k8s keeps the image's directory (one level down already) instead of <mount>/pgdata
  const sts = docsOf(renderAll(plan, 'k8s')).find((d) => d.doc.kind === 'StatefulSet' && d.doc.metadata.name === 'db')!.doc;
  assert.deepEqual(
    sts.spec.template.spec.containers[0].env.find((e: Doc) => e.name === 'PGDATA'),
    { name: 'PGDATA', value: '/var/lib/postgresql/18/docker' },
  );
});

test('version 16 (the default) and an image override whose tag names 18 or no major: each mounted where its image keeps data', () => {
  for (const [version, images, mount, pgdata] of [
    ['', '', '/var/lib/postgresql/data', '/var/lib/postgresql/data'],
    ['17', '', '/var/lib/postgresql/data', '/var/lib/postgresql/data'],
    ['', 'images: { postgres: "postgres:18.1-bookworm" }\n', '/var/lib/postgresql', '/var/lib/postgresql/18/docker'],
    ['', 'images: { postgres: "local/pg:test" }\n', '/var/lib/postgresql/data', '/var/lib/postgresql/data'],
  ] as const) {
    const plan = planOf(version, images);
    assert.deepEqual(volumeMounts(plan, 'db'), [mount], `${version} ${images}`);
    assert.deepEqual(volumeMounts(plan, 'db-pitr'), [mount]);
    assert.equal(plan.components.find((c) => c.name === 'db')!.env.PGDATA, mount === pgdata ? undefined : pgdata);
    assert.match(
      renderPitrEnv(
        plan,
        plan.backups.find((j) => j.target === 'db')!,
      ),
      new RegExp(`^PGDATA='?${pgdata}'?$`, 'm'),
    );
  }
});
