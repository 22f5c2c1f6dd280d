// The wharf_drift textfile as node-exporter reads it: one series per service, drift counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { driftTextfile } from './drift.js';

test('driftTextfile: every service with its count of differences, foreign containers by name, labels escaped', () => {
  const drift = [
    { service: 'api', what: '1 replica stopped by hand (shop-api-2)', fix: 'up brings it back to the spec' },
    { service: 'api', what: 'env env.X changed by hand', fix: 'up brings it back to the spec' },
    { service: 'odd"name', what: 'container odd"name, not created by wharf, is attached to network shop_edge', fix: 'up leaves it alone' },
  ];
  assert.equal(
    driftTextfile('shop', ['db', 'api'], drift),
    [
      '# HELP wharf_drift Differences from the last wharf up made by hand, per service (written by wharf doctor).',
      '# TYPE wharf_drift gauge',
      'wharf_drift{stack="shop",service="api"} 2',
      'wharf_drift{stack="shop",service="db"} 0',
      'wharf_drift{stack="shop",service="odd\\"name"} 1',
      '',
    ].join('\n'),
  );
});
