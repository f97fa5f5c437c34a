/**
 * Incidents end to end: an anomaly is alerted through a signed webhook and through a real
 * Alertmanager (Debian `prometheus-alertmanager`, a child process on a free port) that notifies a
 * webhook receiver here. At the moment each receiver gets its alert, the event and the incident
 * it names are already readable (200 from the API and from the link's page); in Chromium the
 * links open the incident's and the event's pages; the incident is acknowledged (which silences
 * it in Alertmanager) and resolved from its page. A missing Alertmanager FAILS the run.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { alertSettings } from '../alerts/config.js';
import type { IngestPoint } from '../engine/engine.js';
import { freePort } from '../net/free-port.js';
import { sleep } from '../timing/sleep.js';
import { openPage, type WatchedPage } from './browser.js';
import type { TestService } from './service.js';
import { calm, startBrowserSession, zscoreStrategy } from './session.js';

const PROGRAM = process.env.VIGIL_ALERTMANAGER ?? 'prometheus-alertmanager';
const STRATEGY = zscoreStrategy({
  name: 'e2e-incidents',
  description: 'incident devices, online z-score',
  devices: 'inc-*',
});
const DEVICE = 'inc-pump-1';
const WAIT = { timeout: 20_000 };
const base = Math.floor(Date.now() / 1000) * 1000 - 400_000;

function points(from: number, to: number, value?: number): IngestPoint[] {
  const out: IngestPoint[] = [];
  for (let i = from; i < to; i++) {
    const v = value ?? calm(i);
    out.push({ timestamp: base + i * 1000, device_id: DEVICE, metrics: { temp: v } });
  }
  return out;
}

/** What could be read back at the moment a receiver got an alert. */
interface Seen {
  readonly kind: 'webhook' | 'alertmanager';
  readonly change: string;
  readonly eventId: string;
  readonly incidentId: string;
  readonly incidentLink: string;
  readonly eventLink: string;
  /** Status of GET /v1/events/<id>, GET /v1/incidents/<id>, and the links without their hash. */
  readonly event: number;
  readonly incident: number;
  readonly listed: boolean;
  readonly incidentPage: number;
  readonly eventPage: number;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let service: TestService;
let receiver: Server;
let am: ChildProcess;
let amOutput = '';
let amBase: string;
let dir: string;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let shots: string;
const seen: Seen[] = [];

/** Read back, right now, what an alert names (before answering the receiver's request). */
async function readBack(
  kind: Seen['kind'],
  change: string,
  ids: { eventId: string; incidentId: string; incidentLink: string; eventLink: string },
): Promise<Seen> {
  const status = async (url: string) => (await fetch(url)).status;
  const events = (await (
    await fetch(`${service.url}/v1/events?device=${encodeURIComponent(DEVICE)}`)
  ).json()) as { events: { id: string }[] };
  return {
    kind,
    change,
    ...ids,
    event: await status(`${service.url}/v1/events/${encodeURIComponent(ids.eventId)}`),
    incident: await status(`${service.url}/v1/incidents/${encodeURIComponent(ids.incidentId)}`),
    listed: events.events.some((e) => e.id === ids.eventId),
    incidentPage: await status(ids.incidentLink.split('#')[0] ?? ''),
    eventPage: await status(ids.eventLink.split('#')[0] ?? ''),
  };
}

describe('incidents: alerts, links and the incident page', { timeout: 180_000 }, () => {
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-incidents-e2e-'));
    receiver = createServer((request, response) => {
      void (async () => {
        const json = JSON.parse(await bodyOf(request)) as Record<string, unknown>;
        try {
          if (request.url === '/webhook') {
            const body = json as {
              change: string;
              incident: { id: string; link: string };
              event: { id: string; link: string };
            };
            seen.push(
              await readBack('webhook', body.change, {
                eventId: body.event.id,
                incidentId: body.incident.id,
                incidentLink: body.incident.link,
                eventLink: body.event.link,
              }),
            );
          } else {
            const body = json as {
              status: string;
              alerts: {
                labels: Record<string, string>;
                annotations: Record<string, string>;
              }[];
            };
            for (const a of body.alerts) {
              seen.push(
                await readBack('alertmanager', body.status, {
                  eventId: (a.annotations.events ?? '').split('\n')[0] ?? '',
                  incidentId: a.labels.incident ?? '',
                  incidentLink: a.annotations.dashboard ?? '',
                  eventLink: a.annotations.event ?? '',
                }),
              );
            }
          }
        } finally {
          response.end('ok');
        }
      })();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

    await writeFile(
      path.join(dir, 'alertmanager.yml'),
      [
        'route:',
        '  receiver: hook',
        "  group_by: ['incident']",
        '  group_wait: 0s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: hook',
        '    webhook_configs:',
        `      - url: ${hook}/am`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
    const amPort = await freePort();
    amBase = `http://127.0.0.1:${amPort}`;
    am = spawn(
      PROGRAM,
      [
        `--config.file=${path.join(dir, 'alertmanager.yml')}`,
        `--storage.path=${path.join(dir, 'am')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    am.stdout?.on('data', (d: Buffer) => (amOutput += d.toString()));
    am.stderr?.on('data', (d: Buffer) => (amOutput += d.toString()));
    const amExit = new Promise<never>((_, reject) => {
      am.once('error', (e) => reject(new Error(`${PROGRAM} did not start: ${e.message}`)));
    });
    await Promise.race([
      amExit,
      (async () => {
        for (let i = 0; i < 200; i++) {
          const ok = await fetch(`${amBase}/-/ready`).then(
            (r) => r.ok,
            () => false,
          );
          if (ok) return;
          await sleep(50);
        }
        throw new Error(`Alertmanager not ready: ${amOutput}`);
      })(),
    ]);

    const port = await freePort();
    const alerts = alertSettings(
      {
        public_url: `http://127.0.0.1:${port}`,
        alertmanager: { urls: [amBase], resend_interval_ms: 1000 },
        webhooks: [{ name: 'ops', url: `${hook}/webhook`, secret: 'incident-test-secret-1234' }],
      },
      `http://127.0.0.1:${port}`,
    );
    ({ service, browser, shots } = await startBrowserSession([STRATEGY], [], { alerts, port }));
    watched = await openPage(browser);
    page = watched.page;
    await service.send(points(0, 380));
    await service.engine.flush();
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
    // Alertmanager writes its data directory until it has exited: wait, then remove it.
    if (am !== undefined && am.exitCode === null && am.signalCode === null) {
      const exited = new Promise((resolve) => am?.once('exit', resolve));
      am.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
    if (dir !== undefined) {
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });

  test('when an alert arrives, the event and incident it names are readable', async () => {
    // A spike that stays open: the incident fires until someone resolves it.
    await service.send(points(380, 383, 45));
    const hook = await waitFor('the webhook', () => seen.find((s) => s.kind === 'webhook'));
    const fromAm = await waitFor('the Alertmanager notification', () =>
      seen.find((s) => s.kind === 'alertmanager' && s.change === 'firing'),
    );
    for (const s of [hook, fromAm]) {
      assert.equal(s.event, 200, `${s.kind}: GET /v1/events/<id> when alerted`);
      assert.equal(s.incident, 200, `${s.kind}: GET /v1/incidents/<id> when alerted`);
      assert.ok(s.listed, `${s.kind}: listed by GET /v1/events?device= when alerted`);
      assert.equal(s.incidentPage, 200, `${s.kind}: the incident link's page`);
      assert.equal(s.eventPage, 200, `${s.kind}: the event link's page`);
      assert.equal(s.incidentId, `${DEVICE}|${base + 380_000}`);
      assert.equal(
        s.incidentLink,
        `${service.url}/#/incidents/${encodeURIComponent(s.incidentId)}`,
      );
      assert.equal(s.eventLink, `${service.url}/#/events/${encodeURIComponent(s.eventId)}`);
    }
    assert.equal(hook.change, 'open');
  });

  test('the links open the event and the incident pages', async () => {
    const hook = seen.find((s) => s.kind === 'webhook');
    assert.ok(hook);
    await page.goto(hook.eventLink);
    await page.locator('h1', { hasText: `event on ${DEVICE} / temp` }).waitFor(WAIT);
    await page.goto(hook.incidentLink);
    await page.locator('h1', { hasText: `Incident on ${DEVICE}` }).waitFor(WAIT);
    assert.equal(await page.locator('#incident-state').innerText(), 'firing');
    // Each event by when, metric, level and peak, linking to its page.
    const row = page.locator(`.incident-events tr[data-event-id="${hook.eventId}"]`);
    await row.locator('a', { hasText: 'temp' }).waitFor(WAIT);
    assert.match(await row.innerText(), /^\d{4}-\d\d-\d\d[^\t]*\ttemp\t(alert|severe)\t/);
    assert.equal(
      await row.locator('a').first().getAttribute('href'),
      `#/events/${encodeURIComponent(hook.eventId)}`,
    );
    await page.screenshot({ path: path.join(shots, 'incident.png') });
  });

  test('fire → acknowledge (silenced in Alertmanager) → resolve, from the dashboard', async () => {
    await page.goto(`${service.url}/#/incidents`);
    const open = page.locator('table.incidents').first().locator('tbody tr', { hasText: DEVICE });
    await open.waitFor(WAIT);
    assert.match(await open.innerText(), /temp[\s\S]*(alert|severe)[\s\S]*firing/);
    await page.screenshot({ path: path.join(shots, 'incidents.png') });
    await open.locator('a').first().click();
    await page.locator('#incident-ack').click();
    await page.locator('#incident-state', { hasText: 'acknowledged' }).waitFor(WAIT);
    assert.match(await page.locator('#incident-acknowledged').innerText(), /at \d{4}-/);

    const incidentId = `${DEVICE}|${base + 380_000}`;
    const silence = await (async () => {
      for (let i = 0; i < 200; i++) {
        const silences = (await (await fetch(`${amBase}/api/v2/silences`)).json()) as {
          matchers: { name: string; value: string }[];
          status: { state: string };
        }[];
        const found = silences.find((s) =>
          s.matchers.some((m) => m.name === 'incident' && m.value === incidentId),
        );
        if (found !== undefined) return found;
        await sleep(50);
      }
      return undefined;
    })();
    assert.ok(silence, 'acknowledging created an Alertmanager silence for the incident');
    assert.equal(silence.status.state, 'active');

    await page.locator('#incident-assignee').fill('maria');
    await page.locator('button', { hasText: 'Assign' }).click();
    await page.locator('dd', { hasText: 'maria' }).waitFor(WAIT);
    await page.locator('#incident-comment').fill('valve 3 replaced');
    await page.locator('button', { hasText: 'Add comment' }).click();
    await page.locator('.comments li', { hasText: 'valve 3 replaced' }).waitFor(WAIT);

    await page.locator('#incident-resolve').click();
    await page.locator('#incident-state', { hasText: 'resolved' }).waitFor(WAIT);
    const stored = (await (
      await fetch(`${service.url}/v1/incidents/${encodeURIComponent(incidentId)}`)
    ).json()) as { state: string; assignee: string; comments: { text: string }[] };
    assert.equal(stored.state, 'resolved');
    assert.equal(stored.assignee, 'maria');
    // Resolved by hand: the Alertmanager alert ends and the silence is expired.
    const ended = await (async () => {
      for (let i = 0; i < 200; i++) {
        const silences = (await (await fetch(`${amBase}/api/v2/silences`)).json()) as {
          matchers: { name: string; value: string }[];
          status: { state: string };
        }[];
        const expired = silences.some(
          (s) =>
            s.status.state === 'expired' &&
            s.matchers.some((m) => m.name === 'incident' && m.value === incidentId),
        );
        const active = (await (
          await fetch(`${amBase}/api/v2/alerts?active=true&silenced=true&inhibited=true`)
        ).json()) as { labels: Record<string, string> }[];
        if (expired && !active.some((a) => a.labels.incident === incidentId)) return true;
        await sleep(50);
      }
      return false;
    })();
    assert.ok(ended, 'resolving ended the Alertmanager alert and expired its silence');
    assert.deepEqual(
      stored.comments.map((c) => c.text),
      ['valve 3 replaced'],
    );

    await page.goto(`${service.url}/#/incidents?state=resolved`);
    await page.locator('#open-count', { hasText: 'Nothing is firing.' }).waitFor(WAIT);
    const history = page.locator('table.incidents').nth(1).locator('tbody tr', { hasText: DEVICE });
    await history.waitFor(WAIT);
    assert.match(await history.innerText(), /resolved/);
    assert.deepEqual(watched.errors, []);
  });
});
