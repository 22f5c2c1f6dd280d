// Adopting a running Compose project (issue 24): plain `docker compose up` starts an HAProxy
// front on a loopback port, a web service x2 (nginx) behind it and PostgreSQL with rows in it,
// on the substitute images. Under a loop of requests on the published port, `wharf import compose
// --adopt` then `wharf up` take it over. Checked: every row is still there, the database volume
// is the same Docker volume (name and CreatedAt), the port answers again through wharf's edge,
// and the unavailability (measured by the load loop here, and by wharf) is printed.
// Needs Docker (hold /tmp/wharf-docker.lock).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { edgeRequest } from '../../src/engine/edge.js';
// @ts-expect-error plain ESM script without types, shared with scripts/quickstart.sh
import { localSpec } from '../../scripts/docker/local-images.mjs';
import { quietBackups } from '../support/schedule.js';
import { wharf } from '../support/import-cli.js';
import { dockerSkipReason, ensureTestImages } from './support/images.js';
import { nginxImage } from './support/nginx.js';
import { freePort } from './support/stack.js';

const skip = dockerSkipReason() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request loop on one port: an answer is any status below 500 (wharf's edge redirects plain HTTP to HTTPS). */
function load(port: number, host: string) {
  let stopped = false;
  let ok = 0;
  let failed = 0;
  let lastOk = performance.now();
  let failing = false;
  let longest = 0;
  const once = () =>
    new Promise<boolean>((done) => {
      const r = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: 1000 }, (res) => {
        res.resume();
        done((res.statusCode ?? 500) < 500);
      });
      r.on('timeout', () => r.destroy());
      r.on('error', () => done(false));
      r.end();
    });
  const loop = (async () => {
    while (!stopped) {
      if (await once()) {
        ok++;
        if (failing) longest = Math.max(longest, performance.now() - lastOk);
        failing = false;
        lastOk = performance.now();
      } else {
        failed++;
        failing = true;
      }
      await sleep(20);
    }
  })();
  return {
    async end() {
      stopped = true;
      await loop;
      return { ok, failed, longestGapMs: Math.round(failing ? performance.now() - lastOk : longest) };
    },
  };
}

describe('adopt a running Compose project under load', { skip, timeout: 300_000 }, () => {
  const project = `import-adopt${process.pid % 10000}`;
  const tags = { postgres: 'postgres:15-wharf-adopt-test', haproxy: 'haproxy:2.6-wharf-adopt-test' };
  let dir = '';
  let port = 0;
  let images: Record<string, string> = {};
  const sh = (args: string[]) => execa('docker', args, { cwd: dir });
  const psql = async (sql: string) => (await sh(['exec', `${project}-db-1`, 'psql', '-U', 'app', '-d', 'app', '-tAc', sql])).stdout.trim();
  const volume = `${project}_pgdata`;

  before(async () => {
    images = await ensureTestImages({ progress: null });
    const web = await nginxImage();
    // The compose file names the official images (that is what import recognises); here they are the substitutes.
    await execa('docker', ['tag', images.postgres!, tags.postgres]);
    await execa('docker', ['tag', images.haproxy!, tags.haproxy]);
    dir = mkdtempSync(join(tmpdir(), 'wharf-adopt-'));
    port = await freePort();
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      [
        'defaults',
        '  mode http',
        '  timeout connect 2s',
        '  timeout client 10s',
        '  timeout server 10s',
        'resolvers docker',
        '  nameserver dns 127.0.0.11:53',
        'frontend fe',
        '  bind :8080',
        '  default_backend web',
        'backend web',
        '  server-template web 2 web:8080 check inter 1s resolvers docker init-addr none',
        '',
      ].join('\n'),
    );
    const compose = {
      name: project,
      services: {
        lb: {
          image: tags.haproxy,
          ports: [`127.0.0.1:${port}:8080`],
          volumes: ['./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro'],
          depends_on: ['web'],
        },
        web: {
          image: web,
          deploy: { replicas: 2 },
          expose: ['8080'],
          healthcheck: {
            test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'],
            interval: '1s',
            timeout: '2s',
            retries: 3,
          },
        },
        db: {
          image: tags.postgres,
          environment: { POSTGRES_USER: 'app', POSTGRES_DB: 'app', POSTGRES_PASSWORD: 'adopt-Pw-41' },
          volumes: ['pgdata:/var/lib/postgresql/data'],
          healthcheck: { test: ['CMD', 'pg_isready', '-U', 'app'], interval: '1s', timeout: '2s', retries: 30 },
        },
      },
      volumes: { pgdata: {} },
    };
    writeFileSync(join(dir, 'compose.yaml'), stringify(compose));
    await sh(['compose', 'up', '-d', '--wait', '--wait-timeout', '90']);
    // pg_isready answers during the image's first-run initialisation too: retry until the real server runs
    for (let i = 0; ; i++) {
      try {
        await psql('create table orders (id serial primary key, note text)');
        break;
      } catch (e) {
        if (i > 60) throw e;
        await sleep(500);
      }
    }
    await psql("insert into orders (note) select 'order ' || g from generate_series(1, 1000) g");
  });

  after(async () => {
    if (!dir) return;
    const ids = (await sh(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])).stdout.split('\n').filter(Boolean);
    if (ids.length) await sh(['rm', '-f', ...ids]);
    const nets = (await sh(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`])).stdout.split('\n');
    for (const n of nets.filter(Boolean)) await execa('docker', ['network', 'rm', n], { reject: false });
    const vols = (await sh(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`])).stdout.split('\n');
    for (const v of vols.filter(Boolean)) await execa('docker', ['volume', 'rm', v], { reject: false });
    await execa('docker', ['image', 'rm', tags.postgres, tags.haproxy], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  test('the take-over loses no row, keeps the volume, and each port is back within 10 s', async () => {
    // Docker 20.10 reports as CreatedAt the mtime of the volume's data directory (measured: a file
    // written at its top changes it, and PostgreSQL writes postmaster.pid there at every start). The
    // volume's identity is its name and the data directory itself: its inode and birth time.
    const identity = async () => (await sh(['exec', `${project}-db-1`, 'stat', '-c', '%i %W', '/var/lib/postgresql/data'])).stdout.trim();
    const born = await identity();
    assert.match(born, /^\d+ [1-9]\d+$/);
    const createdAt = (await sh(['volume', 'inspect', volume, '--format', '{{.CreatedAt}}'])).stdout.trim();
    assert.equal(await psql('select count(*) from orders'), '1000');
    const host = `web.${project}.localhost`;
    const httpsPort = await freePort();

    const loop = load(port, host);
    await sleep(500);
    const imported = await wharf(['import', 'compose', '--adopt', '--dir', dir]);
    assert.equal(imported.code, 0, imported.text);
    assert.match(
      imported.text,
      new RegExp(`adopt: the next \`wharf up\` takes over .*127\\.0\\.0\\.1:${port} \\(lb -> proxy\\.httpPort\\)`),
    );
    // what a user here does too (scripts/docker/local-images.mjs): the substitute images, no Grafana
    const specPath = join(dir, 'wharf.yaml');
    const spec = localSpec(parse(readFileSync(specPath, 'utf8')), images) as Record<string, any>;
    quietBackups(spec);
    spec.proxy.httpsPort = httpsPort;
    spec.monitoring = { enabled: false };
    writeFileSync(specPath, stringify(spec));
    assert.equal(spec.proxy.httpPort, port);

    const started = performance.now();
    const up = await wharf(['up', '--file', specPath, '--timeout', '180']);
    const took = Math.round(performance.now() - started);
    await sleep(1000);
    const measured = await loop.end();
    assert.equal(up.code, 0, up.text);
    const line = up.text.split('\n').find((l) => l.startsWith(`adopted 127.0.0.1:${port}`));
    console.log(`wharf says: ${line}`);
    console.log(
      `load loop on 127.0.0.1:${port}: ${measured.ok} answered, ${measured.failed} failed, longest gap ${measured.longestGapMs} ms; take-over ${took} ms`,
    );
    assert.ok(line, up.text);
    assert.ok(measured.longestGapMs < 10_000, `the port did not answer for ${measured.longestGapMs} ms`);

    // every row, on the same Docker volume, now served by wharf's database
    assert.equal(await psql('select count(*) from orders'), '1000');
    assert.equal(await identity(), born, 'the data directory is the same one (inode, birth time)');
    const createdAfter = (await sh(['volume', 'inspect', volume, '--format', '{{.CreatedAt}}'])).stdout.trim();
    console.log(`volume ${volume}: data directory ${born} (inode, birth) before and after; CreatedAt ${createdAt} -> ${createdAfter}`);
    const db = JSON.parse((await sh(['inspect', `${project}-db-1`])).stdout)[0];
    assert.ok(db.Mounts.some((m: { Name?: string }) => m.Name === volume));
    assert.notEqual(db.Config.Labels['com.docker.compose.project.working_dir'], dir, "the database is wharf's now");
    // the old containers are gone; wharf's edge routes the site over HTTPS
    const old = (await sh(['ps', '-a', '--filter', `label=com.docker.compose.project.working_dir=${dir}`, '-q'])).stdout.trim();
    assert.equal(old, '', 'old containers left');
    // and so is the network Compose made for them; wharf's own networks stay
    const nets = (await sh(['network', 'ls', '--format', '{{.Name}}', '--filter', `label=com.docker.compose.project=${project}`])).stdout;
    assert.doesNotMatch(nets, new RegExp(`^${project}_default$`, 'm'));
    assert.match(nets, new RegExp(`^${project}_backend$`, 'm'));
    assert.match(up.text, new RegExp(`remove the old project's networks, nothing attached any more: ${project}_default`));
    const r = await edgeRequest({ host, port: httpsPort, address: '127.0.0.1', tls: true, timeoutMs: 5000 });
    assert.equal(r.status, 200);
  });
});
