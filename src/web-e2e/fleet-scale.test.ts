/**
 * The fleet view with 100,000 devices (put straight into the store, one point each) in a real
 * browser: the first page renders with the fleet's totals, a search finds a device far down the
 * list, the pager walks on, and the events filter suggests devices without listing them all. Behaviour only; the time to the first page is printed, not
 * asserted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, type WatchedPage } from './browser.js';
import { startService, type TestService } from './service.js';

const DEVICES = 100_000;
const CHUNK = 20_000;
const WAIT = { timeout: 60_000 };
const name = (i: number) => `plant-${String(i).padStart(6, '0')}`;

let service: TestService;
let browser: Browser;
let watched: WatchedPage;
let page: Page;

describe('the fleet view with 100,000 devices', { timeout: 300_000 }, () => {
  before(async () => {
    [service, browser] = await Promise.all([startService([]), launchBrowser()]);
    const t = Date.now() - 60_000;
    for (let from = 0; from < DEVICES; from += CHUNK) {
      const devices = Array.from({ length: CHUNK }, (_, i) => name(from + i));
      const appender = service.store.appender();
      appender.append({
        devices,
        metrics: devices.map(() => 'temp'),
        times: devices.map(() => t),
        values: devices.map((_, i) => i % 50),
      });
      await appender.commit();
    }
    watched = await openPage(browser);
    page = watched.page;
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
  });

  test('the first page renders one page of rows and the totals', async () => {
    const started = performance.now();
    await page.goto(`${service.url}/`);
    const rows = page.locator('table.fleet tbody tr');
    await rows.first().waitFor(WAIT);
    const ms = performance.now() - started;
    console.log(`fleet view, ${DEVICES} devices: first page rendered in ${Math.round(ms)} ms`);
    assert.equal(await rows.count(), 50);
    assert.equal(await rows.first().locator('th').innerText(), name(0));
    assert.equal(await page.locator('#st-devices + dd').innerText(), '100,000');
    assert.equal(await page.locator('#st-series + dd').innerText(), '100,000');
    assert.match(await page.locator('table.fleet caption').innerText(), /Devices 1–50 of 100,000/);
  });

  test('the next page continues where the first ended', async () => {
    await page.getByRole('button', { name: 'Next page →' }).click();
    await page.locator('table.fleet tbody tr th', { hasText: name(50) }).waitFor(WAIT);
    assert.equal(await page.locator('table.fleet tbody tr').count(), 50);
    await page.getByRole('button', { name: '← Previous page' }).click();
    await page.locator('table.fleet tbody tr th', { hasText: name(0) }).waitFor(WAIT);
  });

  test('a search finds a device on a far page, case-insensitively', async () => {
    const started = performance.now();
    await page.getByLabel('Search devices').fill('PLANT-09999');
    const hit = page.locator('table.fleet tbody tr th', { hasText: name(99_999) });
    await hit.waitFor(WAIT);
    console.log(
      `search over ${DEVICES} devices answered in ${Math.round(performance.now() - started)} ms`,
    );
    const rows = await page.locator('table.fleet tbody tr th').allInnerTexts();
    assert.deepEqual(
      rows,
      Array.from({ length: 10 }, (_, i) => name(99_990 + i)),
    );
    assert.ok(page.url().endsWith('#/?q=PLANT-09999'), page.url());
    // The device's series link leads to its page.
    await page.locator('table.fleet a', { hasText: 'temp' }).last().click();
    await page.waitForURL(/#\/series\/plant-099999\/temp/, WAIT);
    assert.deepEqual(watched.errors, []);
  });

  test('the events filter suggests devices searched on the server, not the whole list', async () => {
    await page.goto(`${service.url}/#/events`);
    const field = page.getByLabel('Device');
    await field.waitFor(WAIT);
    await field.fill('plant-09998');
    const options = page.locator('datalist#f-device-list option');
    await options.nth(9).waitFor({ state: 'attached', ...WAIT });
    assert.deepEqual(
      await options.evaluateAll((all) => all.map((o) => o.getAttribute('value'))),
      Array.from({ length: 10 }, (_, i) => name(99_980 + i)),
    );
    assert.deepEqual(watched.errors, []);
  });
});
