/**
 * Acknowledgement: a webhook hears an acknowledged incident's resolve and a reopen, not its
 * updates (re-sends silenced); receivers are real HTTP servers on loopback.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { openPGliteStore } from '../store/pglite-store.js';
import type { Store } from '../store/store.js';
import { Alerting } from './alerting.js';
import { alertSettings } from './config.js';
import { feedItem } from './event-fixtures.js';
import type { WebhookSink } from './webhook.js';

describe('acknowledged incidents', () => {
  let server: Server;
  let store: Store;
  const changes: string[] = [];
  let url = '';
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        changes.push((JSON.parse(Buffer.concat(chunks).toString()) as { change: string }).change);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    store = await openPGliteStore({});
  });
  after(async () => {
    await store.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Alerting to this file's webhook receiver only, and that webhook's sink. */
  function webhookAlerting(): { alerting: Alerting; sink: WebhookSink } {
    const settings = alertSettings(
      { webhooks: [{ name: 'ops', url, secret: 'acknowledge-test-secret' }] },
      'http://vigil.test',
    );
    const alerting = new Alerting({
      settings,
      deadLetters: store.deadLetters,
      registry: new Registry(),
      log: () => undefined,
    });
    return { alerting, sink: alerting.sinks[0] as WebhookSink };
  }

  it('webhooks get no updates of an acknowledged incident; its resolve and reopen go out', async () => {
    const { alerting, sink } = webhookAlerting();
    const t0 = Date.UTC(2026, 0, 1);
    const temp = { device: 'pump-3', metric: 'temp', start: t0 };
    const flow = { device: 'pump-3', metric: 'flow', start: t0 + 1000 };
    const open = alerting.handle(feedItem(temp, 'open', t0));
    assert.ok(open);
    alerting.handle(feedItem(flow, 'open', t0 + 1000));
    await sink.idle();
    assert.deepEqual(changes, ['open', 'update']);

    alerting.acknowledge({ id: open.incident.id, by: 'ops-token' });
    alerting.handle(feedItem(temp, 'update', t0 + 2000));
    alerting.handle(feedItem(temp, 'close', t0 + 3000));
    await sink.idle();
    assert.deepEqual(
      changes,
      ['open', 'update'],
      'updates of an acknowledged incident are silenced',
    );
    alerting.handle(feedItem(flow, 'close', t0 + 4000));
    await sink.idle();
    assert.deepEqual(changes, ['open', 'update', 'resolve']);
    alerting.handle(feedItem(flow, 'reopen', t0 + 5000));
    alerting.handle(feedItem(flow, 'update', t0 + 6000));
    await sink.idle();
    assert.deepEqual(
      changes,
      ['open', 'update', 'resolve', 'reopen', 'update'],
      'firing again is unacknowledged',
    );
    await alerting.close();
  });
  it('resolved by hand: its updates go nowhere; the events closing still resolve it', async () => {
    changes.length = 0;
    const { alerting, sink } = webhookAlerting();
    const t0 = Date.UTC(2026, 1, 1);
    const temp = { device: 'pump-8', metric: 'temp', start: t0 };
    const open = alerting.handle(feedItem(temp, 'open', t0));
    assert.ok(open);
    alerting.resolveByHand(open.incident.id);
    alerting.handle(feedItem(temp, 'update', t0 + 1000));
    alerting.handle(feedItem(temp, 'close', t0 + 2000));
    await sink.idle();
    assert.deepEqual(changes, ['open', 'resolve']);
    await alerting.close();
  });
});
