/**
 * `/v1/incidents` over HTTP on the service's own routes, with tokens: who acknowledged, assigned,
 * commented and resolved is the token's name; a `read` token may list but not change; filters,
 * paging and errors answer as documented (docs/api.md, "Incidents").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashSecret, TokenSet } from '../auth/token-set.js';
import { startService, type TestService } from '../web-e2e/service.js';

const ADMIN = 'vgl_incident-admin-secret';
const READER = 'vgl_incident-reader-secret';
const T0 = Date.UTC(2026, 2, 1);

describe('incident routes', () => {
  let service: TestService;
  const call = async (token: string, path: string, body?: unknown) => {
    const res = await fetch(`${service.url}${path}`, {
      method: body === undefined && !path.match(/acknowledge|resolve$/) ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    const auth = new TokenSet([
      { name: 'ops-maria', sha256: hashSecret(ADMIN), scopes: ['admin'] },
      { name: 'wallboard', sha256: hashSecret(READER), scopes: ['read'] },
    ]);
    service = await startService([], [], { auth });
    for (let k = 0; k < 3; k++) {
      await service.store.incidents.record({
        id: `pump-${k}|${T0 + k}`,
        device: `pump-${k}`,
        metrics: ['flow', 'pressure'],
        level: 'severe',
        status: 'firing',
        change: 'open',
        first: T0 + k * 1000,
        last: T0 + k * 1000,
        end: null,
        eventIds: [`pump-${k}/flow|default@1|${T0 + k}`],
      });
    }
  });
  after(async () => service.stop());

  it('acknowledge, assign, comment and resolve, named by the token', async () => {
    const path = `/v1/incidents/${encodeURIComponent(`pump-0|${T0}`)}`;
    const refused = await call(READER, `${path}/acknowledge`);
    assert.equal(refused.status, 403);
    const acked = await call(ADMIN, `${path}/acknowledge`);
    assert.equal(acked.status, 200);
    assert.equal(acked.json.state, 'acknowledged');
    assert.equal(acked.json.acknowledged_by, 'ops-maria');
    assert.equal(acked.json.severity, 'severe');
    assert.deepEqual(acked.json.metrics, ['flow', 'pressure']);
    assert.match(String(acked.json.link), /\/#\/incidents\/pump-0%7C/);
    const assigned = await call(ADMIN, `${path}/assign`, { assignee: 'jon' });
    assert.equal(assigned.json.assignee, 'jon');
    const bad = await call(ADMIN, `${path}/comments`, { text: '' });
    assert.equal(bad.status, 400);
    const commented = await call(ADMIN, `${path}/comments`, { text: 'on site' });
    assert.deepEqual(
      (commented.json.comments as { by: string; text: string }[]).map((c) => [c.by, c.text]),
      [['ops-maria', 'on site']],
    );
    const resolved = await call(ADMIN, `${path}/resolve`);
    assert.equal(resolved.json.state, 'resolved');
    assert.equal(resolved.json.resolved_by, 'ops-maria');
    const read = await call(READER, path);
    assert.equal(read.status, 200);
    assert.equal(read.json.state, 'resolved');
  });

  it('lists by state and device, in pages; errors name the parameter', async () => {
    const open = await call(READER, '/v1/incidents?state=open');
    assert.deepEqual(
      (open.json.incidents as { device: string }[]).map((i) => i.device),
      ['pump-2', 'pump-1'],
    );
    const one = await call(READER, '/v1/incidents?device=pump-1');
    assert.equal((one.json.incidents as unknown[]).length, 1);
    const first = await call(READER, '/v1/incidents?limit=2');
    assert.equal((first.json.incidents as unknown[]).length, 2);
    assert.equal(typeof first.json.next_cursor, 'string');
    const second = await call(
      READER,
      `/v1/incidents?limit=2&cursor=${String(first.json.next_cursor)}`,
    );
    assert.deepEqual(
      (second.json.incidents as { device: string }[]).map((i) => i.device),
      ['pump-0'],
    );
    assert.equal(second.json.next_cursor, null);
    const state = await call(READER, '/v1/incidents?state=burning');
    assert.equal(state.status, 400);
    assert.match(String(state.json.message), /state/);
    const tag = await call(READER, '/v1/incidents?tag=nocolon');
    assert.equal(tag.status, 400);
    assert.match(String(tag.json.message), /tag: expected key:value/);
    const cursor = await call(READER, '/v1/incidents?cursor=abc');
    assert.equal(cursor.status, 400);
    const missing = await call(READER, '/v1/incidents/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'VIGIL_ERR_NOT_FOUND');
  });
  it('the OpenAPI document lists every incident route', async () => {
    const doc = (await (await fetch(`${service.url}/docs`)).json()) as { paths: object };
    const paths = Object.keys(doc.paths);
    for (const p of [
      '/v1/incidents',
      '/v1/incidents/{id}',
      '/v1/incidents/{id}/acknowledge',
      '/v1/incidents/{id}/assign',
      '/v1/incidents/{id}/comments',
      '/v1/incidents/{id}/resolve',
    ]) {
      assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    }
  });
});
