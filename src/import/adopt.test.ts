// Adopting a running Compose project: the edge takes the ports the old project published, and
// what cannot be taken over safely (a port wharf would close, data left behind) is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adoptPlan } from './adopt.js';
import { composeProjectSchema } from './compose-schema.js';
import { importCompose } from './compose.js';

const shop = (services: Record<string, unknown>, volumes: Record<string, unknown> = { pgdata: {} }) =>
  composeProjectSchema.parse({ name: 'shop', services, volumes });
const db = {
  image: 'postgres:16',
  environment: { POSTGRES_PASSWORD: 'pw-1234567' },
  volumes: [{ type: 'volume', source: 'pgdata', target: '/var/lib/postgresql/data' }],
};
const plan = (p: ReturnType<typeof shop>) => adoptPlan(p, importCompose(p, { projectDir: '/srv/shop' }), '/srv/shop');

test("a proxy's published ports become the edge's, on the same address", () => {
  const a = plan(
    shop({
      lb: {
        image: 'haproxy:2.8',
        ports: [
          { target: 80, published: '8080', host_ip: '127.0.0.1' },
          { target: 443, published: '8443', host_ip: '127.0.0.1' },
        ],
        depends_on: { web: { condition: 'service_started' } },
      },
      web: { image: 'nginx:1.27', expose: ['80'] },
      db,
    }),
  );
  assert.deepEqual(a.refusals, []);
  assert.deepEqual(a.proxy, { bind: '127.0.0.1', httpPort: 8080, httpsPort: 8443 });
  assert.deepEqual(
    a.record.ports.map((p) => `${p.service} ${p.hostIp}:${p.port} ${p.to}`),
    ['lb 127.0.0.1:8080 proxy.httpPort', 'lb 127.0.0.1:8443 proxy.httpsPort'],
  );
  assert.equal(a.record.workingDir, '/srv/shop');
});

test('a routed service publishing its own port hands it to the edge', () => {
  const a = plan(shop({ web: { image: 'nginx:1.27', ports: [{ target: 80, published: '8000' }] }, db }));
  assert.deepEqual(a.refusals, []);
  assert.deepEqual(a.proxy, { bind: '0.0.0.0', httpPort: 8000 });
});

test("refused: a database's published port, which wharf would close", () => {
  const a = plan(
    shop({
      web: { image: 'nginx:1.27', ports: [{ target: 80, published: '8000' }] },
      db: { ...db, ports: [{ target: 5432, published: '5432' }] },
    }),
  );
  assert.deepEqual(
    a.refusals.map((r) => r.path),
    ['services.db.ports[0]'],
  );
  assert.match(a.refusals[0]!.message, /0\.0\.0\.0:5432 would close/);
});

test('refused: a range of ports (one per replica), since the edge publishes one HTTP port', () => {
  const a = plan(shop({ web: { image: 'nginx:1.27', ports: [{ target: 80, published: '8000-8001' }] }, db }));
  assert.deepEqual(
    a.refusals.map((r) => r.message.split(' ')[0]),
    ['0.0.0.0:8001'],
  );
});

test('refused: data the take-over would leave behind (an external volume)', () => {
  const a = plan(
    shop({ web: { image: 'nginx:1.27', ports: [{ target: 80, published: '8000' }] }, db }, { pgdata: { external: true, name: 'pgdata' } }),
  );
  assert.deepEqual(
    a.refusals.map((r) => r.path),
    ['volumes.pgdata'],
  );
  assert.match(a.refusals[0]!.message, /adopting would leave its data behind/);
});

test('refused: a datastore wharf would rename (the old server would not be found and stopped)', () => {
  const a = plan(shop({ web: { image: 'nginx:1.27', ports: [{ target: 80, published: '8000' }] }, Main_DB: db }));
  assert.ok(
    a.refusals.some((r) => r.path === 'services.Main_DB' && /rename the Compose service/.test(r.message)),
    JSON.stringify(a.refusals),
  );
});
