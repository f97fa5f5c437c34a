import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSubscriptions } from './subscriptions.js';
import { TopicRoutes } from './topic-routes.js';

const subscriptions = compileSubscriptions([
  { topic: 'plants/+plant/devices/+device/telemetry', format: 'json' },
  { topic: 'compact/+device', format: 'compact' },
  { topic: 'bare/+' },
]);

test('a topic routes to the first matching subscription, with the device and the other captures as tags', () => {
  const routes = new TopicRoutes(subscriptions);
  const plant = routes.route('plants/p1/devices/d7/telemetry');
  assert.equal(plant?.subscription, subscriptions[0]);
  assert.equal(plant?.device, 'd7');
  assert.deepEqual(plant?.tags, { plant: 'p1' });
  const compact = routes.route('compact/d3');
  assert.equal(compact?.subscription, subscriptions[1]);
  assert.equal(compact?.device, 'd3');
  assert.equal(compact?.tags, undefined, 'no captures but the device: no tags');
  const bare = routes.route('bare/x');
  assert.equal(bare?.subscription, subscriptions[2]);
  assert.equal(bare?.device, undefined);
  assert.equal(routes.route('elsewhere/d1'), undefined);
  assert.equal(routes.route('plants/p1/devices/d7'), undefined);
});

test('the same topic gives the same route again, unmatched topics stay unmatched, and the cache is bounded', () => {
  const routes = new TopicRoutes(subscriptions, 3);
  const first = routes.route('compact/a');
  assert.equal(routes.route('compact/a'), first, 'remembered');
  assert.equal(routes.route('nowhere'), undefined);
  assert.equal(routes.route('nowhere'), undefined, 'a remembered miss is still a miss');
  // Past the bound the cache starts over: routes are still right.
  for (const d of ['b', 'c', 'd', 'e']) assert.equal(routes.route(`compact/${d}`)?.device, d);
  assert.equal(routes.route('compact/a')?.device, 'a');
  assert.equal(routes.route('nowhere'), undefined);
});
