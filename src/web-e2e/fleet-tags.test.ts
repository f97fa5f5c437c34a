/**
 * The fleet view's tag search in a real browser: `key:value` in the Tag field keeps only the
 * devices whose points carried that tag (the server's filter), combines with the device search,
 * stays in the address so it can be shared, and a half-typed tag asks for `key:value` instead of
 * searching.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, type WatchedPage } from './browser.js';
import { startService, type TestService } from './service.js';

const WAIT = { timeout: 30_000 };

let service: TestService;
let browser: Browser;
let watched: WatchedPage;
let page: Page;

const rowNames = (p: Page): Promise<string[]> =>
  p.locator('table.fleet tbody tr th').allInnerTexts();

/** The caption is rendered with the rows it describes: once it says so, the rows are the answer. */
async function captionSays(p: Page, text: string): Promise<void> {
  await p.locator('table.fleet caption', { hasText: text }).waitFor(WAIT);
}

describe('the fleet view searched by tag', { timeout: 120_000 }, () => {
  before(async () => {
    [service, browser] = await Promise.all([startService([]), launchBrowser()]);
    const t = Date.now() - 60_000;
    await service.send([
      { timestamp: t, device_id: 'pump-01', metrics: { temp: 20 }, tags: { site: 'berlin' } },
      { timestamp: t, device_id: 'pump-02', metrics: { temp: 21 }, tags: { site: 'paris' } },
      {
        timestamp: t,
        device_id: 'pump-03',
        metrics: { temp: 22 },
        tags: { site: 'berlin', line: '2' },
      },
      { timestamp: t, device_id: 'press-04', metrics: { temp: 23 } },
      // A device whose id holds the tag's text but whose points carried another site.
      { timestamp: t, device_id: 'site:berlin-gw', metrics: { temp: 24 }, tags: { site: 'rome' } },
    ]);
    watched = await openPage(browser);
    page = watched.page;
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
  });

  test('every device is listed before a search', async () => {
    await page.goto(`${service.url}/`);
    // Points are stored shortly after they are acknowledged: wait until all five are listed.
    await captionSays(page, 'Devices 1–5 of 5');
    assert.deepEqual(await rowNames(page), [
      'press-04',
      'pump-01',
      'pump-02',
      'pump-03',
      'site:berlin-gw',
    ]);
  });

  test('a half-typed tag asks for key:value and does not search', async () => {
    await page.getByLabel('Tag (key:value)').fill('site');
    const hint = page.locator('#fleet-tag-hint');
    await hint.waitFor({ state: 'visible', ...WAIT });
    assert.match(await hint.innerText(), /key:value/);
    assert.equal(await page.getByLabel('Tag (key:value)').getAttribute('aria-invalid'), 'true');
    assert.equal((await rowNames(page)).length, 5);
    assert.ok(page.url().endsWith(`${service.url}/`) || page.url().endsWith('#/'), page.url());
  });

  test('a tag search shows only the tagged devices, and the address keeps it', async () => {
    await page.getByLabel('Tag (key:value)').fill('site:berlin');
    await captionSays(page, 'Devices tagged site:berlin');
    assert.deepEqual(await rowNames(page), ['pump-01', 'pump-03']);
    assert.equal(await page.locator('#fleet-tag-hint').isVisible(), false);
    assert.ok(page.url().endsWith('#/?tag=site%3Aberlin'), page.url());
  });

  test('the tag and the device search combine', async () => {
    await page.getByLabel('Search devices').fill('03');
    await captionSays(page, 'Devices matching “03” and tagged site:berlin');
    assert.deepEqual(await rowNames(page), ['pump-03']);
    assert.ok(page.url().endsWith('#/?q=03&tag=site%3Aberlin'), page.url());
    await page.getByLabel('Search devices').fill('');
    await page.getByLabel('Tag (key:value)').fill('site:nowhere');
    await page.getByText('No device tagged site:nowhere.').waitFor(WAIT);
  });

  test('a shared address opens with the tag searched', async () => {
    const other = await openPage(browser);
    try {
      await other.page.goto(`${service.url}/#/?tag=line:2`);
      await captionSays(other.page, 'Devices tagged line:2');
      assert.deepEqual(await rowNames(other.page), ['pump-03']);
      assert.equal(await other.page.getByLabel('Tag (key:value)').inputValue(), 'line:2');
      assert.deepEqual(other.errors, []);
    } finally {
      await other.page.close();
    }
    assert.deepEqual(watched.errors, []);
  });
});
