/**
 * The webhook sink against a real local HTTP server (node:http) and real storage: PGlite in
 * memory and the PostgreSQL server (a schema of its own per run, dropped afterwards).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import pg from 'pg';
import { Registry } from 'prom-client';
import { VigilError } from '../errors.js';
import { openPGliteStore } from '../store/pglite-store.js';
import { openPostgresStore } from '../store/postgres-store.js';
import type { Store } from '../store/store.js';
import { Backoff, type RetryPolicy } from './backoff.js';
import type { BreakerOptions } from './circuit-breaker.js';
import { feedItem } from './event-fixtures.js';
import { IncidentGrouper, type IncidentChange } from './incident.js';
import { alertMetrics } from './metrics.js';
import { registerAlertRoutes } from './routes.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from './signature.js';
import { sleep } from '../timing/sleep.js';
import { WebhookSink } from './webhook.js';

const SECRET = 'a-shared-secret-of-some-length';
const PG_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = `vigil_test_alerts_${process.pid}_${Date.now().toString(36)}`;
const T = Date.UTC(2026, 0, 1, 12);

interface Received {
  readonly at: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A receiver whose answer each test decides; records every request. */
class Receiver {
  readonly received: Received[] = [];
  answer: (n: number) => number | Promise<number> = () => 200;
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({
          at: performance.now(),
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        void Promise.resolve(this.answer(this.received.length)).then((status) => {
          res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
        });
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    const { port } = this.#server.address() as { port: number };
    this.url = `http://127.0.0.1:${port}/hook`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server?.close(r));
  }
}

let seq = 0;
/** A fresh incident change each call (its own device, so its own incident). */
function change(): IncidentChange {
  const e = { device: `pump-${++seq}`, metric: 'temperature', start: T + seq };
  return new IncidentGrouper(300_000).apply(feedItem(e, 'open', T + seq + 1000));
}

const FAST_RETRY: RetryPolicy = {
  maxAttempts: 3,
  initialMs: 40,
  maxMs: 1000,
  multiplier: 2,
  jitter: 0.5,
};

function sink(
  store: Store,
  receiver: Receiver,
  registry: Registry,
  options: {
    retry?: Partial<RetryPolicy>;
    breaker?: Partial<BreakerOptions>;
    queueSize?: number;
  } = {},
): WebhookSink {
  return new WebhookSink({
    name: 'ops',
    url: receiver.url,
    secret: SECRET,
    timeoutMs: 2000,
    queueSize: options.queueSize ?? 100,
    retry: { ...FAST_RETRY, ...options.retry },
    breaker: {
      windowSize: 100,
      minCalls: 100,
      failureRatio: 0.5,
      openMs: 60_000,
      ...options.breaker,
    },
    seed: 7,
    publicUrl: 'http://vigil.test',
    deadLetters: store.deadLetters,
    metrics: alertMetrics(registry),
    log: () => {},
  });
}

async function metric(registry: Registry, name: string): Promise<string> {
  return registry.getSingleMetricAsString(name);
}

// Opened once for the file: starting PGlite costs seconds.
let pglite: Store;
let postgres: Store;
before(async () => {
  pglite = await openPGliteStore({});
  postgres = await openPostgresStore({ databaseUrl: PG_URL, schema: SCHEMA });
});
after(async () => {
  await pglite?.close();
  await postgres?.close();
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await c.end();
});

describe('webhook sink', () => {
  let store: Store;
  const receiver = new Receiver();

  before(async () => {
    store = postgres;
    await receiver.start();
  });
  after(() => receiver.stop());

  it('signs the body with HMAC-SHA256 over timestamp and body; the receiver verifies it', async () => {
    receiver.received.length = 0;
    receiver.answer = () => 200;
    const registry = new Registry();
    const s = sink(store, receiver, registry);
    const c = change();
    s.notify(c);
    await s.idle();
    assert.equal(receiver.received.length, 1);
    const { headers, body } = receiver.received[0]!;
    const signature = headers[SIGNATURE_HEADER] as string;
    const timestamp = headers[TIMESTAMP_HEADER] as string;
    assert.match(signature, /^sha256=[0-9a-f]{64}$/);
    assert.deepEqual(verify(SECRET, { signature, timestamp }, body), { ok: true });
    assert.equal(verify('another-secret-entirely', { signature, timestamp }, body).ok, false);
    assert.equal(verify(SECRET, { signature, timestamp }, body.replace('pump', 'pomp')).ok, false);
    assert.equal(
      verify(SECRET, { signature, timestamp: String(Number(timestamp) + 1) }, body).ok,
      false,
      'the timestamp is signed too',
    );
    assert.deepEqual(
      verify(SECRET, { signature, timestamp }, body, { nowS: Number(timestamp) + 301 }),
      { ok: false, reason: 'timestamp outside the tolerance (replayed or clock skew)' },
    );
    const json = JSON.parse(body) as Record<string, unknown> & {
      incident: { id: string; status: string; members: unknown[] };
      event: { change: string; id: string; device: string; metric: string; link: string };
    };
    assert.equal(json.version, 1);
    assert.equal(json.change, 'open');
    assert.equal(json.delivery_id, headers[DELIVERY_HEADER]);
    assert.equal(json.incident.id, c.incident.id);
    assert.equal(json.incident.status, 'firing');
    assert.equal(json.incident.members.length, 1);
    assert.equal(json.event.change, 'open');
    assert.equal(json.event.device, c.incident.device);
    assert.equal(json.event.metric, 'temperature');
    assert.equal(
      json.event.link,
      `http://vigil.test/#/events/${encodeURIComponent(json.event.id)}`,
    );
    assert.equal(
      (json.incident as unknown as { link: string }).link,
      `http://vigil.test/#/incidents/${encodeURIComponent(c.incident.id)}`,
    );
    assert.match(
      await metric(registry, 'vigil_alerts_sent_total'),
      /\{sink="ops",kind="webhook"\} 1/,
    );
    await s.close(1000);
  });

  it('retries failures with exponential backoff and seeded jitter, then succeeds', async () => {
    receiver.received.length = 0;
    receiver.answer = (n) => (n <= 2 ? 503 : 200);
    const registry = new Registry();
    const s = sink(store, receiver, registry);
    s.notify(change());
    await s.idle();
    assert.equal(receiver.received.length, 3);
    const ids = new Set(receiver.received.map((r) => r.headers[DELIVERY_HEADER]));
    assert.equal(ids.size, 1, 'every attempt carries the same delivery id');
    // The same seed gives the same delays: 40 ms and 80 ms, less up to half of each as jitter.
    const expected = new Backoff(FAST_RETRY, 7);
    const delays = [expected.next(1), expected.next(2)];
    assert.ok(delays[0]! >= 20 && delays[0]! <= 40 && delays[1]! >= 40 && delays[1]! <= 80);
    for (let i = 1; i < 3; i++) {
      const gap = receiver.received[i]!.at - receiver.received[i - 1]!.at;
      assert.ok(gap >= delays[i - 1]! - 2, `gap ${i}: ${gap} ms ≥ ${delays[i - 1]} ms`);
      assert.ok(gap < delays[i - 1]! + 1000, `gap ${i}: ${gap} ms is about ${delays[i - 1]} ms`);
    }
    assert.match(
      await metric(registry, 'vigil_alerts_failed_total'),
      /\{sink="ops",kind="webhook"\} 2/,
    );
    assert.match(
      await metric(registry, 'vigil_alerts_sent_total'),
      /\{sink="ops",kind="webhook"\} 1/,
    );
    assert.equal((await store.deadLetters.list()).length, 0);
    await s.close(1000);
  });

  it('opens the breaker at the failure ratio, rejects fast while open, closes on a good probe', async () => {
    receiver.received.length = 0;
    receiver.answer = () => 500;
    const registry = new Registry();
    const s = sink(store, receiver, registry, {
      retry: { maxAttempts: 1 },
      breaker: { windowSize: 4, minCalls: 4, failureRatio: 0.5, openMs: 400 },
    });
    for (let i = 0; i < 4; i++) s.notify(change());
    await s.idle();
    assert.equal(receiver.received.length, 4);
    assert.equal(s.breaker.state, 'open');
    assert.match(
      await metric(registry, 'vigil_alert_breaker_state'),
      /\{sink="ops",kind="webhook"\} 1/,
    );

    const started = performance.now();
    for (let i = 0; i < 3; i++) s.notify(change());
    await s.idle();
    const took = performance.now() - started;
    assert.equal(receiver.received.length, 4, 'no request reached the receiver while open');
    assert.ok(took < 300, `rejected fast (${took.toFixed(0)} ms)`);
    const rejected = (await store.deadLetters.list({ sink: 'ops', limit: 3 })).map(
      (l) => l.lastError,
    );
    assert.deepEqual(rejected, [
      'circuit breaker open',
      'circuit breaker open',
      'circuit breaker open',
    ]);

    receiver.answer = () => 200;
    await sleep(450);
    assert.equal(s.breaker.state, 'half-open');
    s.notify(change());
    await s.idle();
    assert.equal(receiver.received.length, 5, 'the probe went out');
    assert.equal(s.breaker.state, 'closed');
    assert.match(
      await metric(registry, 'vigil_alert_breaker_state'),
      /\{sink="ops",kind="webhook"\} 0/,
    );
    await s.close(1000);
  });

  it('dead-letters what overflows the bounded queue, and delivers the rest', async () => {
    receiver.received.length = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    receiver.answer = async () => {
      await held;
      return 200;
    };
    const registry = new Registry();
    const s = sink(store, receiver, registry, { queueSize: 2 });
    const before = (await store.deadLetters.list({ limit: 1 }))[0]?.id ?? 0;
    const changes = Array.from({ length: 5 }, change);
    s.notify(changes[0]!);
    while (receiver.received.length === 0) await sleep(5); // the first is in flight
    for (const c of changes.slice(1)) s.notify(c);
    assert.equal(s.depth, 3, 'one in flight, two waiting');
    assert.match(
      await metric(registry, 'vigil_alert_queue_depth'),
      /\{sink="ops",kind="webhook"\} 3/,
    );
    release();
    await s.idle();
    assert.equal(receiver.received.length, 3);
    const letters = (await store.deadLetters.list({ sink: 'ops' })).filter((l) => l.id > before);
    assert.deepEqual(letters.map((l) => [l.reason, l.incidentId, l.attempts]).reverse(), [
      ['queue_full', changes[3]!.incident.id, 0],
      ['queue_full', changes[4]!.incident.id, 0],
    ]);
    assert.match(
      await metric(registry, 'vigil_alert_dead_letters_total'),
      /\{sink="ops",kind="webhook",reason="queue_full"\} 2/,
    );
    await s.close(1000);
  });

  it('at shutdown, dead-letters what it could not deliver within the flush timeout', async () => {
    receiver.received.length = 0;
    receiver.answer = () => new Promise(() => {}); // never answers
    const registry = new Registry();
    const s = sink(store, receiver, registry);
    const before = (await store.deadLetters.list({ limit: 1 }))[0]?.id ?? 0;
    s.notify(change());
    s.notify(change());
    while (receiver.received.length === 0) await sleep(5);
    const started = performance.now();
    await s.close(150);
    assert.ok(performance.now() - started < 1500);
    const letters = (await store.deadLetters.list()).filter((l) => l.id > before);
    assert.deepEqual(
      letters.map((l) => l.reason),
      ['shutdown', 'shutdown'],
    );
    receiver.answer = () => 200;
  });
});

describe('persistent webhook failure is dead-lettered in storage', () => {
  const receiver = new Receiver();
  before(() => receiver.start());
  after(() => receiver.stop());

  const backends: [string, () => Store][] = [
    ['PGlite', () => pglite],
    ['PostgreSQL', () => postgres],
  ];
  for (const [backend, storeOf] of backends) {
    it(`${backend}: retries exhausted → a dead letter, listed by GET /v1/alerts/dead-letters`, async () => {
      const store = storeOf();
      const before = (await store.deadLetters.list({ limit: 1 }))[0]?.id ?? 0;
      {
        receiver.received.length = 0;
        receiver.answer = () => 500;
        const registry = new Registry();
        const s = sink(store, receiver, registry);
        const c = change();
        s.notify(c);
        await s.idle();
        assert.equal(receiver.received.length, FAST_RETRY.maxAttempts);
        const [letter, ...rest] = (await store.deadLetters.list()).filter((l) => l.id > before);
        assert.equal(rest.length, 0);
        assert.ok(letter);
        assert.equal(letter.sink, 'ops');
        assert.equal(letter.reason, 'retries_exhausted');
        assert.equal(letter.attempts, 3);
        assert.equal(letter.incidentId, c.incident.id);
        assert.equal(letter.lastError, 'HTTP 500: nope');
        assert.deepEqual(letter.payload, JSON.parse(receiver.received[0]!.body));
        assert.ok(Math.abs(letter.createdAt - Date.now()) < 60_000);

        const app = Fastify();
        registerAlertRoutes(app, { deadLetters: store.deadLetters });
        const listed = await app.inject({ url: '/v1/alerts/dead-letters?sink=ops&limit=1' });
        assert.equal(listed.statusCode, 200);
        const answer = listed.json<{ dead_letters: { delivery_id: string; reason: string }[] }>();
        assert.equal(answer.dead_letters.length, 1);
        assert.equal(answer.dead_letters[0]!.delivery_id, letter.deliveryId);
        assert.equal(answer.dead_letters[0]!.reason, 'retries_exhausted');
        const bad = await app.inject({ url: '/v1/alerts/dead-letters?limit=0' });
        assert.equal(bad.statusCode, 400);
        await app.close();
        await s.close(1000);
      }
    });

    it(`${backend}: the dead-letter store validates, filters and pages`, async () => {
      const store = storeOf();
      const letter = {
        sink: 'paging',
        deliveryId: 'd-1',
        incidentId: null,
        reason: 'rejected' as const,
        attempts: 1,
        lastError: 'HTTP 400\0 bad',
        payload: { a: [1, 'two', null] },
      };
      const first = await store.deadLetters.save(letter);
      assert.equal(first.lastError, 'HTTP 400 bad', 'NUL removed from network text');
      const second = await store.deadLetters.save({ ...letter, deliveryId: 'd-2' });
      assert.ok(second.id > first.id);
      const page = await store.deadLetters.list({ sink: 'paging', limit: 1 });
      assert.deepEqual(
        page.map((l) => l.deliveryId),
        ['d-2'],
      );
      const next = await store.deadLetters.list({ sink: 'paging', before: page[0]!.id });
      assert.deepEqual(
        next.map((l) => [l.deliveryId, l.payload]),
        [['d-1', { a: [1, 'two', null] }]],
      );
      await assert.rejects(
        store.deadLetters.save({ ...letter, reason: 'lost' as 'rejected' }),
        (err: unknown) =>
          err instanceof VigilError &&
          err.code === 'VIGIL_ERR_STORE_INVALID' &&
          /reason must be one of/.test(err.message),
      );
      await assert.rejects(store.deadLetters.list({ limit: 0 }), /limit must be an integer/);
    });
  }
});
