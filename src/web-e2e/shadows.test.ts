/**
 * Shadow runs in a real browser against the real service: a stored candidate version is started
 * in shadow from the dashboard (keyboard only), an injected anomaly is flagged by both sides, the
 * comparison shows both counts side by side, shadow events are listed labelled as such, and
 * Promote makes the candidate the active version.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { IngestPoint } from '../engine/engine.js';
import { artifactDir, launchBrowser, openPage, type WatchedPage } from './browser.js';
import { startService, type TestService } from './service.js';

const strategy = (version: number, sigma: number) => `name: shadow-e2e
version: ${version}
description: shadow test devices, online z-score at ${sigma} sigma
trigger_rules:
  - device: "sh-*"
detector:
  kind: ewzscore
  params:
    alpha: 0.05
    threshold: ${sigma}
threshold:
  kind: static
`;

const DEVICE = 'sh-1';
const WAIT = { timeout: 20_000 };
const base = Math.floor(Date.now() / 1000) * 1000 - 600_000;

function points(from: number, to: number, spike = false): IngestPoint[] {
  const out: IngestPoint[] = [];
  for (let i = from; i < to; i++) {
    const value = spike ? 60 : 20 + Math.sin(i / 7) + (i % 3) * 0.1;
    out.push({ timestamp: base + i * 1000, device_id: DEVICE, metrics: { temp: value } });
  }
  return out;
}

let service: TestService;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let shots: string;

const cell = (measure: string, side: 'active' | 'candidate') =>
  page.locator(`tr[data-measure="${measure}"] td[data-side="${side}"]`);

describe('shadow runs in Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    [service, browser, shots] = await Promise.all([
      startService([strategy(1, 4)], [strategy(2, 3)]),
      launchBrowser(),
      artifactDir(),
    ]);
    watched = await openPage(browser);
    page = watched.page;
    await service.send(points(0, 300));
    await service.engine.flush();
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
  });

  test('start a run from the dashboard, compare both sides, promote the candidate', async () => {
    await page.goto(`${service.url}/#/shadows`);
    await page.locator('h1', { hasText: 'Shadow runs' }).waitFor(WAIT);
    await page.locator('text=No shadow runs yet.').waitFor(WAIT);
    const option = page.locator('#shadow-candidate option', { hasText: 'shadow-e2e version 2' });
    await option.waitFor({ ...WAIT, state: 'attached' });
    assert.equal(
      await page.locator('#shadow-candidate option', { hasText: 'shadow-e2e version 1' }).count(),
      0,
      'the active version is not offered',
    );
    // Keyboard only: focus the choice, Tab to the button, Enter.
    await page.focus('#shadow-candidate');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Start shadow run');
    await page.keyboard.press('Enter');
    await page.locator('h1', { hasText: /^Shadow run \d+$/ }).waitFor(WAIT);
    const id = Number((await page.locator('h1').innerText()).replace(/\D/g, ''));

    // The same stream after the start: an injected anomaly, then normal points.
    await service.send(points(300, 400));
    await service.send(points(400, 403, true));
    await service.send(points(403, 430));
    await service.engine.flush();

    // The page refreshes a running comparison by itself.
    await page.waitForFunction(
      `(() => {
        const n = (side) => Number(document.querySelector(
          'tr[data-measure="Events"] td[data-side="' + side + '"]')?.textContent ?? '0');
        return n('active') >= 1 && n('candidate') >= 1;
      })()`,
      undefined,
      WAIT,
    );
    assert.equal(await cell('Points scored', 'active').innerText(), '130');
    assert.equal(await cell('Points scored', 'candidate').innerText(), '130');
    assert.match(await cell('Scoring time per point', 'candidate').innerText(), /ns$/);
    assert.match(await page.locator('.shadow-delay').innerText(), /Detection delay: the candidate/);
    await shot('shadow-compare');

    // Candidate events are listed as shadow events; the default list leaves them out.
    await page.goto(`${service.url}/#/events?shadow=include`);
    const shadowRow = page.locator('table.events tbody tr', { hasText: 'shadow-e2e@2' });
    await shadowRow.first().waitFor(WAIT);
    assert.equal(await shadowRow.first().locator('.badge.shadow').innerText(), 'shadow');
    await page.goto(`${service.url}/#/events`);
    await page.locator('table.events tbody tr', { hasText: 'shadow-e2e@1' }).first().waitFor(WAIT);
    assert.equal(
      await page.locator('table.events tbody tr', { hasText: 'shadow-e2e@2' }).count(),
      0,
    );

    await page.goto(`${service.url}/#/shadows/${id}`);
    // Promote asks first, saying what changes and that 130 points are too few to judge by.
    await page.getByRole('button', { name: 'Promote' }).click();
    const dialog = page.getByRole('dialog', { name: `Promote shadow-e2e version 2?` });
    await dialog.waitFor(WAIT);
    const said = await dialog.innerText();
    assert.match(said, /becomes the active version of shadow-e2e/);
    assert.match(said, /still warming up: 130 points per series/);
    assert.match(said, /fewer than 1,000/);
    assert.equal(
      await page.evaluate('document.activeElement?.textContent'),
      'Cancel',
      'Cancel has the focus',
    );
    await shot('shadow-confirm');
    // Escape keeps things as they are.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ ...WAIT, state: 'detached' });
    assert.equal(await page.locator('.badge.shadow-running').count(), 1, 'still running');
    await page.getByRole('button', { name: 'Promote' }).click();
    await dialog.getByRole('button', { name: 'Promote' }).click();
    await page
      .locator('[role=status]', { hasText: 'Promoted: shadow-e2e@2 is active' })
      .waitFor(WAIT);
    await page.locator('.badge.shadow-promoted').waitFor(WAIT);
    assert.equal(await page.getByRole('button', { name: 'Promote' }).count(), 0);
    const active = (await (await fetch(`${service.url}/v1/strategies/active`)).json()) as {
      strategies: { name: string; version: number }[];
    };
    assert.deepEqual(active.strategies, [{ name: 'shadow-e2e', version: 2 }]);
    await page.goto(`${service.url}/#/shadows`);
    await page.locator(`tr[data-run-id="${id}"]`, { hasText: 'promoted' }).waitFor(WAIT);
    await shot('shadow-runs');
    assert.deepEqual(watched.errors, []);
  });
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}
