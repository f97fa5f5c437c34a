/**
 * The dashboard never shows a stale view as live: with the series, events and fleet views open,
 * the service stops for a while and starts again on the same port and storage. Once the live
 * stream reconnects each view fetches again what it shows — the series chart ends at the points
 * sent after the restart, the events list holds every stored event and its strategy filter is
 * filled (even when it was opened during the outage), the fleet counts the new events — and a
 * series without recent points says how long ago its last one came.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { IngestPoint } from '../engine/engine.js';
import { freePort } from '../net/free-port.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { sleep } from '../timing/sleep.js';
import { artifactDir, launchBrowser, openPage, type WatchedPage } from './browser.js';
import { startService, type TestService } from './service.js';
import { calm, zscoreStrategy } from './session.js';

const STRATEGY = zscoreStrategy({
  name: 'e2e-reconnect',
  description: 'reconnect test devices, online z-score',
  devices: 'rc-*',
});

const LIVE = 'rc-live';
const QUIET = 'rc-quiet';
/** A device that spikes before the outage, and two that first send (and spike) after it. */
const EARLY = 'rc-a';
const LATE = ['rc-b', 'rc-c'];
const WAIT = { timeout: 60_000 };
/** Long enough for a chart's right edge to fall well behind "now" (it used to stop following). */
const OUTAGE_MS = 8_000;

/** 1 Hz points of one device, `count` of them ending at `end` (ms), a spike at the given indexes. */
function run(device: string, end: number, count: number, spikes: readonly number[] = []) {
  const out: IngestPoint[] = [];
  const start = Math.floor(end / 1000) * 1000 - (count - 1) * 1000;
  for (let i = 0; i < count; i++) {
    out.push({
      timestamp: start + i * 1000,
      device_id: device,
      metrics: { temp: spikes.includes(i) ? 60 : calm(i) },
    });
  }
  return out;
}

let store: Store;
let port: number;
let service: TestService | undefined;
let browser: Browser;
let shots: string;
const pages: Record<'series' | 'events' | 'fleet', WatchedPage> = {} as never;

const liveState = (page: Page, text: string) =>
  page.locator('#live-status', { hasText: text }).waitFor(WAIT);

async function storedEvents(url: string): Promise<number> {
  const answer = (await (await fetch(`${url}/v1/events?limit=500`)).json()) as {
    events: unknown[];
  };
  return answer.events.length;
}

describe('reconnect re-sync, in Chromium', { timeout: 400_000 }, () => {
  before(async () => {
    [store, port, browser, shots] = await Promise.all([
      openStore(),
      freePort(),
      launchBrowser(),
      artifactDir(),
    ]);
    service = await startService([STRATEGY], [], { store, port });
    const now = Date.now();
    await service.send(run(LIVE, now, 240));
    // A series whose last point is three minutes old.
    await service.send(run(QUIET, now - 180_000, 120));
    // One event before the outage.
    await service.send(run(EARLY, now, 200, [150]));
    await service.engine.flush();
    for (const name of ['series', 'events', 'fleet'] as const)
      pages[name] = await openPage(browser);
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
    await store?.close();
  });

  test('every open view fetches again after the service comes back', async () => {
    const url = service?.url as string;
    const series = pages.series.page;
    const events = pages.events.page;
    const fleet = pages.fleet.page;
    await series.goto(`${url}/#/series/${LIVE}/temp`);
    await series.locator('figcaption p', { hasText: 'buckets of' }).waitFor(WAIT);
    await events.goto(`${url}/`);
    await fleet.goto(`${url}/`);
    await fleet.locator('table.fleet tbody tr', { hasText: LIVE }).waitFor(WAIT);
    for (const p of [series, events, fleet]) await liveState(p, 'Live');

    // A series silent for three minutes says so, on the fleet and on its own page.
    const quiet = fleet.locator('table.fleet tbody tr', { hasText: QUIET });
    assert.match(await quiet.locator('.stale').innerText(), /last point 3 min ago/);
    const fresh = fleet.locator('table.fleet tbody tr', { hasText: LIVE });
    assert.equal(await fresh.locator('.stale').count(), 0, 'a fresh series is not marked');

    await service?.stop();
    service = undefined;
    for (const p of [series, events, fleet]) await liveState(p, 'Reconnecting…');
    // The events page is opened while the service is away: its form and list cannot load.
    await events.evaluate(`location.hash = '#/events'`);
    await events.locator('h1', { hasText: 'Events' }).waitFor(WAIT);
    await sleep(OUTAGE_MS);

    service = await startService([STRATEGY], [], { store, port });
    const restarted = Date.now();
    // Points and events the pages can only learn of by fetching again: sent before they reconnect.
    await service.send(run(LIVE, restarted, 5));
    for (const device of LATE) await service.send(run(device, restarted, 200, [150, 170]));
    await service.engine.flush();
    const total = await storedEvents(url);
    assert.ok(total >= 3, `events stored: ${total}`);
    for (const p of [series, events, fleet]) await liveState(p, 'Live');

    // Then live points: the chart follows them although its right edge lagged the outage.
    const last = Math.max(
      Math.floor(Date.now() / 1000) * 1000,
      Math.floor(restarted / 1000) * 1000 + 3000,
    );
    await service.send(run(LIVE, last, 3));
    await service.engine.flush();
    await series.waitForFunction(
      `Number(document.querySelector('.chart')?.dataset.to ?? 0) >= ${last}`,
      undefined,
      WAIT,
    );
    await series.waitForFunction(
      `Number(document.querySelector('[data-last-point]')?.dataset.lastPoint ?? 0) >= ${last}`,
      undefined,
      WAIT,
    );
    assert.match(await series.locator('.age').innerText(), /^Last point (just now|\d+ s ago)/);
    await series.screenshot({ path: path.join(shots, 'reconnect-series.png') });

    // The events list holds every stored event; its strategy filter is filled.
    await events.waitForFunction(
      `document.querySelectorAll('table.events tbody tr').length >= ${total}`,
      undefined,
      WAIT,
    );
    assert.equal(await events.locator('table.events tbody tr').count(), await storedEvents(url));
    await events
      .locator('#f-strategy option', { hasText: 'e2e-reconnect' })
      .waitFor({ ...WAIT, state: 'attached' });
    assert.equal(await events.locator('.error[role=alert]:visible').count(), 0);
    await events.screenshot({ path: path.join(shots, 'reconnect-events.png') });

    // The fleet counts the events of the devices that spiked while it was away.
    for (const device of LATE) {
      await fleet
        .locator('table.fleet tbody tr', { hasText: device })
        .locator('td.num a')
        .first()
        .waitFor(WAIT);
    }
    assert.equal(await fleet.locator('.error[role=alert]:visible').count(), 0);

    // Only the outage's failed requests were logged.
    for (const [name, w] of Object.entries(pages)) {
      const unexpected = w.errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load/.test(e));
      assert.deepEqual(unexpected, [], name);
    }
  });
});
