// `wharf check --target swarm`: each multi-node rule fires on the mistake it names, with a
// rule id, a path and a fix, stays quiet on the templates, and the CLI exits on them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lint, policyRules } from '../../src/check/policy.js';
import { swarmRules } from '../../src/check/swarm-rules.js';
import { loadVariant, variants } from '../support/templates.js';
import { deepCopy } from '../../src/plan/copy.js';

const fired = (f: ReturnType<typeof lint>, rule: string) => f.filter((x) => x.rule === rule);
/** a template as the swarm runs it: the API from a registry, not built here */
const swarmApi = (change: (d: Record<string, any>) => void = () => {}) =>
  loadVariant({
    template: 'api',
    change: (d) => {
      delete d.services.api.build;
      d.services.api.image = 'registry.example.com/shop/api:1.4.2';
      change(d);
    },
  });

test('swarm rule ids are unique and distinct from the policy rules', () => {
  const ids = swarmRules.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^SW\d{3}$/);
  assert.ok(!ids.some((id) => policyRules.some((r) => r.id === id)));
});

for (const v of variants) {
  test(`template ${v.id} as the swarm runs it: no swarm findings`, () => {
    const { stack, plan } = loadVariant({
      template: v.template,
      change: (d) => {
        v.change?.(d);
        for (const s of Object.values<Record<string, any>>(d.services ?? {}))
          if (s.build) {
            delete s.build;
            s.image = 'registry.example.com/x:1';
          }
      },
    });
    assert.deepEqual(lint(stack, plan, swarmRules), []);
  });
}

test('SW001 start-first with a volume is refused; the default order is stop-first there', () => {
  const quiet = swarmApi((d) => {
    d.services.api.volumes = [{ name: 'uploads', target: '/data' }];
  });
  assert.equal(quiet.plan.components.find((c) => c.name === 'api')!.update!.order, 'stop-first');
  assert.deepEqual(fired(lint(quiet.stack, quiet.plan, swarmRules), 'SW001'), []);
  const { stack, plan } = swarmApi((d) => {
    d.services.api.volumes = [{ name: 'uploads', target: '/data' }];
    d.services.api.update = { order: 'start-first' };
  });
  const f = fired(lint(stack, plan, swarmRules), 'SW001');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'error');
  assert.equal(f[0]!.path, 'services.api.update.order');
  assert.match(f[0]!.hint!, /stop-first/);
});

test('SW002 a monitor shorter than the health window; the default is longer', () => {
  const d0 = swarmApi();
  const api0 = d0.plan.components.find((c) => c.name === 'api')!;
  assert.deepEqual(fired(lint(d0.stack, d0.plan, swarmRules), 'SW002'), []);
  const { stack, plan } = swarmApi((d) => {
    d.services.api.update = { monitor: '5s' };
  });
  const f = fired(lint(stack, plan, swarmRules), 'SW002');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.path, 'services.api.update.monitor');
  assert.match(f[0]!.hint!, new RegExp(`at least ${api0.update!.monitor}`));
});

test('SW003 a service with data that may move between nodes; unpinned by default it is pinned to the data node', () => {
  const pinned = swarmApi((d) => {
    d.services.api.volumes = [{ name: 'uploads', target: '/data' }];
  });
  assert.deepEqual(pinned.plan.components.find((c) => c.name === 'api')!.placement, { kind: 'node-label', label: 'wharf.db' });
  const { stack, plan } = swarmApi((d) => {
    d.services.api.volumes = [{ name: 'uploads', target: '/data' }];
    d.services.api.placement = { role: 'worker' };
  });
  const f = fired(lint(stack, plan, swarmRules), 'SW003');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'warning');
  assert.equal(f[0]!.path, 'services.api.placement');
  const ok = swarmApi((d) => {
    d.services.api.volumes = [{ name: 'uploads', target: '/data' }];
    d.services.api.placement = { node: 'node-2' };
  });
  assert.deepEqual(fired(lint(ok.stack, ok.plan, swarmRules), 'SW003'), []);
});

test('SW004 fewer than 3 managers, or an even number; quiet when no nodes are declared', () => {
  const nodes = (roles: string[]) =>
    roles.map((role, i) => ({ name: `n${i + 1}`, address: `10.0.0.${i + 1}`, role, labels: i === 0 ? { 'wharf.db': 'true' } : {} }));
  const at = (roles: string[]) => {
    const { stack, plan } = swarmApi((d) => {
      d.cluster = { nodes: nodes(roles) };
    });
    return fired(lint(stack, plan, swarmRules), 'SW004');
  };
  assert.match(at(['manager'])[0]!.message, /tolerates no manager loss/);
  assert.match(at(['manager', 'worker', 'worker'])[0]!.message, /1 manager:/);
  assert.match(at(['manager', 'manager', 'manager', 'manager'])[0]!.message, /4 managers tolerate 1 loss/);
  assert.deepEqual(at(['manager', 'manager', 'manager', 'worker']), []);
  assert.deepEqual(at([]), []);
});

test('SW005 a service built here cannot run on a swarm', () => {
  const { stack, plan } = loadVariant({ template: 'api' });
  const f = fired(lint(stack, plan, swarmRules), 'SW005');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.path, 'services.api.build');
  assert.match(f[0]!.hint!, /docker push/);
});

test('SW006 a placement no declared node satisfies: the data node label, a pinned hostname', () => {
  const three = [1, 2, 3].map((i) => ({ name: `n${i}`, address: `10.0.0.${i}` }));
  const noLabel = swarmApi((d) => {
    d.cluster = { nodes: three };
  });
  const f = fired(lint(noLabel.stack, noLabel.plan, swarmRules), 'SW006');
  assert.ok(
    f.some((x) => x.path === 'cluster.nodes' && /db needs a node labelled wharf\.db=true/.test(x.message)),
    JSON.stringify(f),
  );
  const pinnedAway = swarmApi((d) => {
    d.cluster = { nodes: three.map((n, i) => (i === 0 ? { ...n, labels: { 'wharf.db': 'true' } } : n)) };
    d.services.api.placement = { node: 'n9' };
  });
  const g = fired(lint(pinnedAway.stack, pinnedAway.plan, swarmRules), 'SW006');
  assert.deepEqual(
    g.map((x) => x.path),
    ['services.api.placement'],
  );
  // Traefik reads the Swarm API, which only managers answer: a cluster of workers has no edge.
  const workersOnly = swarmApi((d) => {
    d.proxy = { ...(d.proxy ?? {}), kind: 'traefik' };
    d.cluster = {
      nodes: three.map((n, i) => ({ ...n, role: i === 0 ? 'manager' : 'worker', ...(i === 0 ? { labels: { 'wharf.db': 'true' } } : {}) })),
    };
  });
  assert.deepEqual(
    fired(lint(workersOnly.stack, workersOnly.plan, swarmRules), 'SW006').filter((x) => /proxy/.test(x.message)),
    [],
  );
  const noManager = deepCopy(workersOnly);
  noManager.stack.cluster.nodes = noManager.stack.cluster.nodes.map((n: any) => ({ ...n, role: 'worker' }));
  const h = fired(lint(noManager.stack, noManager.plan, swarmRules), 'SW006');
  assert.ok(
    h.some((x) => /^proxy needs a manager/.test(x.message)),
    JSON.stringify(h),
  );
});

test('a placement renders as swarm constraints in a stable order', async () => {
  const { renderAll } = await import('../../src/render/index.js');
  const { parse } = await import('yaml');
  const { plan } = swarmApi((d) => {
    d.services.api.placement = { node: 'n2', labels: { zone: 'b', disk: 'ssd' }, role: 'worker' };
  });
  const stack = parse(
    renderAll(plan, 'swarm', { secretHashes: Object.fromEntries(plan.secrets.map((s) => [s.name, '0'.repeat(64)])) }).find(
      (f) => f.path === 'stack.yaml',
    )!.contents,
  );
  assert.deepEqual(stack.services.api.deploy.placement, {
    constraints: ['node.hostname == n2', 'node.labels.disk == ssd', 'node.labels.zone == b', 'node.role == worker'],
  });
});

test('ACME on the HAProxy edge passes the swarm rules: one client on the data node reaching every edge over the edge network', async () => {
  const { renderAll } = await import('../../src/render/index.js');
  const { parse } = await import('yaml');
  const { stack, plan } = swarmApi((d) => {
    d.domain = 'shop.example.com';
    d.proxy = { ...(d.proxy ?? {}), kind: 'haproxy' };
    d.tls = { mode: 'acme', email: 'ops@example.com' };
  });
  assert.deepEqual(
    lint(stack, plan, swarmRules).filter((f) => f.severity === 'error'),
    [],
  );
  const out = parse(
    renderAll(plan, 'swarm', { secretHashes: Object.fromEntries(plan.secrets.map((s) => [s.name, '0'.repeat(64)])) }).find(
      (f) => f.path === 'stack.yaml',
    )!.contents,
  );
  assert.equal(out.services.proxy.deploy.mode, 'global');
  assert.deepEqual(out.services.acme.deploy.placement, { constraints: ['node.labels.wharf.db == true'] });
  assert.equal(out.services.acme.environment.ACME_EDGES, 'proxy');
  assert.deepEqual(out.services.acme.networks, ['edge']);
  // both hold the runtime API's certificate (mutual TLS), at /run/secrets/<name>
  for (const svc of ['proxy', 'acme'])
    for (const name of ['edge-api-cert', 'edge-api-pem']) assert.ok(out.services[svc].secrets.includes(name), `${svc} ${name}`);
});
