// The planner over recorded inputs: the tiny stack's plan, what the last up applied, and
// containers as the engine reports them. No process, no engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Plan } from '../plan/model.js';
import type { ContainerState } from '../engine/live.js';
import { tinyPlan } from '../engine/testing/tiny-stack.js';
import { appliedService, hash, stableJson, type Applied } from './applied.js';
import { planChanges, summary, type PlanInput } from './plan-changes.js';

const SECRET = 'hunter2-very-secret-value';

function container(service: string, i: number, o: Partial<ContainerState> = {}): ContainerState {
  return {
    id: `${service}${i}`,
    name: `t-${service}-${i}`,
    service,
    state: 'running',
    health: 'healthy',
    startedAt: '2026-12-07T10:00:00Z',
    restartCount: 0,
    exitCode: 0,
    image: 'local/debian:bookworm',
    imageId: 'sha256:aaaaaaaaaaaaaaaaaaaaaaaa',
    networks: [],
    env: { DB_HOST: 'db' },
    labels: {},
    ports: [],
    revision: `rev-${service}`,
    ...o,
  };
}

/** What runs exactly as applied: one container per replica, each at its service's revision. */
function running(p: Plan): ContainerState[] {
  return p.components.flatMap((c) => Array.from({ length: c.replicas }, (_, i) => container(c.name, i + 1)));
}

const defs = (p: Plan) => Object.fromEntries(p.components.map((c) => [c.name, { image: c.image, env: c.env, replicas: c.replicas }]));

function appliedOf(p: Plan, containers = running(p), secrets: Record<string, string> = {}): Applied {
  return {
    target: 'compose',
    at: '2026-12-07T10:00:00Z',
    services: Object.fromEntries(p.components.map((c) => [c.name, appliedService(c, [SECRET], defs(p)[c.name], containers)])),
    secrets,
    files: { 'compose.yaml': 'h1' },
  };
}

function input(p: Plan, o: Partial<PlanInput> & { applied?: Applied } = {}): PlanInput {
  const d = defs(p);
  return {
    plan: p,
    strategy: 'side-by-side',
    containers: running(p),
    want: {
      revisions: new Map(p.components.map((c) => [c.name, `rev-${c.name}`])),
      imageIds: new Map(p.components.map((c) => [c.name, 'sha256:aaaaaaaaaaaaaaaaaaaaaaaa'])),
    },
    desired: {
      services: Object.fromEntries(
        p.components.map((c) => [
          c.name,
          { spec: appliedService(c, [SECRET], d[c.name], []).spec, definition: hash(stableJson(d[c.name])) },
        ]),
      ),
      secrets: {},
    },
    files: { 'compose.yaml': 'h1' },
    ...o,
  };
}

const acting = (r: ReturnType<typeof planChanges>) => r.changes.filter((c) => c.action !== 'none');

test('nothing changed since the last up: every service none, no drift, "0 to update, 2 unchanged"', () => {
  const p = tinyPlan('t');
  const r = planChanges(input(p, { applied: appliedOf(p) }));
  assert.deepEqual(
    r.changes.map((c) => [c.service, c.action, c.downtime, c.reasons]),
    [
      ['api', 'none', false, []],
      ['db', 'none', false, []],
    ],
  );
  assert.deepEqual(r.drift, []);
  assert.equal(summary(r), '0 to update, 2 unchanged');
});

test('an env change recreates the app (its revision moved); a replica count change scales the database without downtime', () => {
  const before = tinyPlan('t');
  const p = tinyPlan('t', { dbReplicas: 3 });
  p.components[0]!.env.LOG_LEVEL = 'debug';
  const i = input(p, { applied: appliedOf(before), containers: running(before) });
  i.want!.revisions.set('api', 'rev-api-2');
  const r = planChanges(i);
  assert.deepEqual(acting(r), [
    { service: 'api', action: 'recreate', downtime: true, reasons: ['env.LOG_LEVEL: (none) → debug'] },
    { service: 'db', action: 'update', downtime: false, reasons: ['replicas: 2 → 3'] },
  ]);
  assert.deepEqual(r.decision, { roll: [], deploy: ['api', 'db'], stopFirst: ['api'], unchanged: [] });
});

test('a changed secret is reported as changed, its value never: not in env, not for a mounted secret', () => {
  const before = tinyPlan('t');
  before.components[0]!.secrets = [{ secret: 'db_password', target: '/run/secrets/db_password' }];
  before.components[0]!.env.DATABASE_URL = `postgres://app:old-${SECRET}@db/app`;
  const p = tinyPlan('t');
  p.components[0]!.secrets = before.components[0]!.secrets;
  p.components[0]!.env.DATABASE_URL = `postgres://app:${SECRET}@db/app`;
  const i = input(p, { applied: appliedOf(before, running(before), { db_password: 'aaa' }) });
  i.desired.secrets = { db_password: 'bbb' };
  i.want!.revisions.set('api', 'rev-api-2');
  const r = planChanges(i);
  assert.deepEqual(acting(r)[0]!.reasons, ['env.DATABASE_URL: changed (secret)', 'secrets.db_password: changed']);
  assert.ok(
    !JSON.stringify(r).includes(SECRET) && !JSON.stringify(appliedOf(p)).includes(SECRET),
    'no secret value in the plan or the record',
  );
});

test('drift on one host: a replica stopped, the image swapped by hand, a rendered file edited, a foreign container', () => {
  const p = tinyPlan('t');
  const cs = [
    container('api', 1, { image: 'evil/api:1', imageId: 'sha256:bbbbbbbbbbbbbbbbbbbbbbbb' }),
    container('db', 1),
    container('db', 2, { state: 'exited' }),
  ];
  const r = planChanges(
    input(p, {
      applied: appliedOf(p),
      containers: cs,
      files: { 'compose.yaml': 'edited' },
      foreign: [{ container: 'intruder', network: 't_backend' }],
    }),
  );
  assert.deepEqual(
    r.drift.map((d) => [d.service, d.what, d.fix]),
    [
      ['api', 'image changed by hand: local/debian:bookworm → evil/api:1', 'up recreates it from the spec (stop-first)'],
      ['db', '1 replica stopped by hand (t-db-2)', 'up brings it back to the spec'],
      ['*', 'compose.yaml edited in place since the last apply', 'up writes it again as rendered'],
      [
        'intruder',
        'container intruder, not created by wharf, is attached to network t_backend',
        'up leaves it alone: remove it by hand (docker rm -f intruder) or detach it',
      ],
    ],
  );
  assert.deepEqual(
    acting(r).map((c) => [c.service, c.action, c.downtime]),
    [
      ['api', 'recreate', true],
      ['db', 'update', false],
    ],
  );
});

test('a service gone from the spec is removed, with downtime only while it serves; live configuration due is a reload', () => {
  const p = tinyPlan('t');
  const containers = [...running(p), container('old', 1), container('stale', 1, { state: 'exited' })];
  const r = planChanges(input(p, { applied: appliedOf(p), containers, reloads: { db: ['config/haproxy/haproxy.cfg'] } }));
  assert.deepEqual(acting(r), [
    { service: 'db', action: 'reload', downtime: false, reasons: ['config/haproxy/haproxy.cfg: changed'] },
    { service: 'old', action: 'remove', downtime: true, reasons: ['not in the spec any more'] },
    { service: 'stale', action: 'remove', downtime: false, reasons: ['not in the spec any more'] },
  ]);
});

test('orchestrated: scaled by `docker service scale` and env changed by `docker service update` are drift that up resets', () => {
  const p = tinyPlan('t');
  const cs = [...running(p), container('db', 3), container('api', 2, { env: { DB_HOST: 'elsewhere' } })];
  cs[0]!.env = { DB_HOST: 'elsewhere' };
  const r = planChanges(input(p, { strategy: 'orchestrated', applied: appliedOf(p), containers: cs, want: undefined }));
  assert.deepEqual(
    r.drift.map((d) => [d.service, d.what]),
    [
      ['api', '2 replicas running, 1 applied (scaled by hand)'],
      ['api', 'env env.DB_HOST changed by hand'],
      ['db', '3 replicas running, 2 applied (scaled by hand)'],
    ],
  );
  assert.deepEqual(
    acting(r).map((c) => [c.service, c.action, c.downtime]),
    [
      ['api', 'update', false],
      ['db', 'update', false],
    ],
  );
});

test('orchestrated: a replica count is an update; a stop-first version bump a recreate with downtime; start-first an update', () => {
  const before = tinyPlan('t');
  const p = tinyPlan('t', { dbReplicas: 3 });
  p.components[0]!.image = 'local/debian:trixie';
  for (const x of [before, p])
    x.components[0]!.update = { order: 'start-first', monitor: x.components[0]!.stopGracePeriod, parallelism: 1 };
  const i = input(p, { strategy: 'orchestrated', applied: appliedOf(before), containers: running(before), want: undefined });
  assert.deepEqual(acting(planChanges(i)), [
    { service: 'api', action: 'update', downtime: false, reasons: ['image: local/debian:bookworm → local/debian:trixie'] },
    { service: 'db', action: 'update', downtime: false, reasons: ['replicas: 2 → 3'] },
  ]);
  const bump = tinyPlan('t');
  bump.components[1]!.image = 'local/debian:trixie';
  const j = input(bump, { strategy: 'orchestrated', applied: appliedOf(tinyPlan('t')), containers: running(bump), want: undefined });
  assert.deepEqual(acting(planChanges(j)), [
    { service: 'db', action: 'recreate', downtime: true, reasons: ['image: local/debian:bookworm → local/debian:trixie'] },
  ]);
});

test('property: for random edits of what runs, the services the plan changes are exactly those the deploy decision changes', () => {
  const edit = fc.record({
    dbReplicas: fc.integer({ min: 1, max: 4 }),
    apiEnv: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
    liveApi: fc.integer({ min: 0, max: 3 }),
    liveDb: fc.integer({ min: 0, max: 4 }),
    stopped: fc.boolean(),
    dbRevision: fc.constantFrom('rev-db', 'rev-db-2'),
  });
  fc.assert(
    fc.property(edit, (e) => {
      const before = tinyPlan('t');
      const p = tinyPlan('t', { dbReplicas: e.dbReplicas });
      if (e.apiEnv !== undefined) p.components[0]!.env.LOG_LEVEL = e.apiEnv;
      const cs = [
        ...Array.from({ length: e.liveApi }, (_, k) => container('api', k + 1)),
        ...Array.from({ length: e.liveDb }, (_, k) => container('db', k + 1, k === 0 && e.stopped ? { state: 'exited' } : {})),
      ];
      const i = input(p, { applied: appliedOf(before), containers: cs });
      if (e.apiEnv !== undefined) i.want!.revisions.set('api', 'rev-api-2');
      i.want!.revisions.set('db', e.dbRevision);
      const r = planChanges(i);
      const planned = acting(r).map((c) => c.service);
      assert.deepEqual(planned, [...r.decision!.roll, ...r.decision!.deploy].sort());
      assert.ok(
        r.changes.every((c) => c.action === 'none' || c.reasons.length > 0),
        'every change says why',
      );
    }),
    { numRuns: 200 },
  );
});
