// Desired replicas per placement, as `status` and `up --wait` count them on several nodes (no engine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVariant } from '../../test/support/templates.js';
import { serviceHealth } from './health.js';

test('status wants one Traefik per ready manager, one HAProxy per ready node', () => {
  const node = (id: string, role: 'manager' | 'worker', state = 'ready') => ({
    id,
    hostname: id,
    role,
    availability: 'active',
    state,
    addr: '10.0.0.1',
    leader: false,
    labels: {},
    engineVersion: '20.10.24',
  });
  const nodes = [node('m1', 'manager'), node('m2', 'manager'), node('m3', 'manager', 'down'), node('w1', 'worker')];
  const desired = (proxy: 'traefik' | 'haproxy') => {
    const { plan } = loadVariant({
      template: 'api',
      change: (d) => {
        d.proxy = { ...(d.proxy ?? {}), kind: proxy };
      },
    });
    return serviceHealth(plan, [], nodes).find((s) => s.service === plan.proxy.component)!.desired;
  };
  assert.equal(desired('traefik'), 2);
  assert.equal(desired('haproxy'), 3);
});
