/**
 * The OpenAPI document served at /docs, read over a real socket from an app with every route
 * `vigil serve` registers: every operation declares its answers (no generated "Default
 * Response"), every mutating one the write guard's 403 and 415, and the ingest writes their
 * full set, so clients can tell "send again" from "fix the request".
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEveryRouteApp, type EveryRouteApp } from './testing/every-route.js';
import { MUTATING_METHODS } from './write-guard.js';

interface Operation {
  readonly responses?: Record<string, { description?: string }>;
}
type Paths = Record<string, Record<string, Operation>>;

describe('the OpenAPI document at /docs', () => {
  let fixture: EveryRouteApp;
  let url: string;
  let paths: Paths;

  before(async () => {
    fixture = await startEveryRouteApp();
    await fixture.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(fixture.app.server.address() as AddressInfo).port}`;
    const res = await fetch(`${url}/docs`);
    assert.equal(res.status, 200);
    paths = ((await res.json()) as { paths: Paths }).paths;
  });
  after(() => fixture.close());

  const operations = () =>
    Object.entries(paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ what: `${method.toUpperCase()} ${path}`, op })),
    );

  test('lists every route the app registers', () => {
    const listed = new Set(operations().map((o) => o.what));
    for (const r of fixture.routes) {
      if (r.method === 'HEAD' || r.url.startsWith('/docs/ui') || r.url.includes('*')) continue;
      const what = `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`;
      assert.ok(listed.has(what), `${what} missing from /docs`);
    }
  });

  test('every operation declares its answers: a success status, none "Default Response"', () => {
    const faults: string[] = [];
    for (const { what, op } of operations()) {
      const responses = Object.entries(op.responses ?? {});
      if (!responses.some(([status]) => /^[23]\d\d$/.test(status))) {
        faults.push(`${what}: no success status`);
      }
      for (const [status, r] of responses) {
        if (r.description === undefined || r.description === 'Default Response') {
          faults.push(`${what} ${status}: no description of its own`);
        }
      }
    }
    assert.deepEqual(faults, []);
  });

  test("every mutating operation declares the write guard's 403, and 415 where it reads a type", () => {
    for (const { what, op } of operations()) {
      if (!MUTATING_METHODS.has(what.split(' ')[0]!)) continue;
      const statuses = Object.keys(op.responses ?? {});
      assert.ok(statuses.includes('403'), `${what}: ${statuses.join(' ')}`);
      assert.ok(statuses.includes('415'), `${what}: ${statuses.join(' ')}`);
    }
  });

  test('the ingest writes declare their real answers', () => {
    const expected: Record<string, string[]> = {
      'POST /api/v2/write': ['204', '400', '401', '403', '413', '415', '429', '500', '503'],
      'POST /write': ['204', '400', '401', '403', '413', '415', '429', '500', '503'],
      // Prometheus drops a batch answered 429: backpressure is 503 there.
      'POST /api/v1/write': ['204', '400', '401', '403', '413', '415', '500', '503'],
      'POST /v1/points': ['200', '400', '401', '403', '413', '415', '429', '500', '503'],
    };
    for (const [what, statuses] of Object.entries(expected)) {
      const [method, path] = what.split(' ') as [string, string];
      const op = paths[path]?.[method.toLowerCase()];
      assert.deepEqual(Object.keys(op?.responses ?? {}).sort(), statuses, what);
    }
    const influx400 = paths['/api/v2/write']?.['post']?.responses?.['400']?.description ?? '';
    assert.match(influx400, /partial write: …`.*`no lines written: …`/);
  });

  test('declared text answers stay text: /metrics is the exposition format, not a JSON string', async () => {
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await res.text(), /^# HELP /m);
  });
});
