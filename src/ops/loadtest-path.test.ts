// Without --path a new user's first load test requests what the route's service answers 2xx:
// its health path (the api template serves nothing at /), else the route's own path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { templatePlan } from '../../test/support/templates.js';
import { defaultPath } from './loadtest.js';

test("loadtest without --path requests the health path of the route's service", () => {
  const plan = templatePlan('api');
  const route = plan.routes.find((r) => !r.internal)!;
  assert.equal(route.path, '/');
  assert.equal(defaultPath(route), '/health');
});

test('a route without an HTTP health path, or under a path prefix, keeps its own path', () => {
  assert.equal(defaultPath({ path: '/shop' }), '/shop');
  assert.equal(defaultPath({ path: '/', healthPath: '/api/healthz' }), '/api/healthz');
  // under a path prefix the edge would not route /health to this service
  assert.equal(defaultPath({ path: '/shop', healthPath: '/health' }), '/shop');
});
