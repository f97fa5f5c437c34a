/**
 * The dashboard in a real browser (Debian's Chromium via playwright-core) against the real
 * service: points go in through HTTP ingest, an injected anomaly's event appears live without a
 * reload, its page explains it, a strategy edit becomes the active version, the chart re-queries
 * on zoom, a keyboard-only path works, and nothing is logged as a console error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { IngestPoint } from '../engine/engine.js';
import { openPage, type WatchedPage } from './browser.js';
import type { TestService } from './service.js';
import { calm, endBrowserSession, startBrowserSession, zscoreStrategy } from './session.js';

/** Stored, and shown in the editor, as written: a comment line, then the shared strategy. */
const STRATEGY = `# Browser-test strategy: online z-score, flagged at 4 sigma.\n${zscoreStrategy({
  name: 'e2e',
  description: 'e2e devices, online z-score',
  devices: 'e2e-*',
})}`;

const DEVICE = 'e2e-1';
const WAIT = { timeout: 20_000 };
const base = Math.floor(Date.now() / 1000) * 1000 - 400_000;

function points(from: number, to: number, value: (i: number) => number = calm): IngestPoint[] {
  const out: IngestPoint[] = [];
  for (let i = from; i < to; i++) {
    out.push({ timestamp: base + i * 1000, device_id: DEVICE, metrics: { temp: value(i) } });
  }
  return out;
}

let service: TestService;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let shots: string;
/** Console errors the tests cause on purpose (a rejected save). */
const expectedErrors: RegExp[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

describe('dashboard in Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    ({ service, browser, shots } = await startBrowserSession([STRATEGY]));
    watched = await openPage(browser);
    page = watched.page;
    await service.send(points(0, 380));
    await service.engine.flush();
  });

  after(() => endBrowserSession({ browser, service }));

  test('the fleet overview shows the device, its series with their level, and the ingest', async () => {
    await page.goto(`${service.url}/`);
    const row = page.locator('table.fleet tbody tr', { hasText: DEVICE });
    await row.waitFor(WAIT);
    assert.match(await row.innerText(), /temp\s+ok/);
    assert.equal(await page.locator('#st-devices + dd').innerText(), '1');
    await page.locator('#live-status', { hasText: 'Live' }).waitFor(WAIT);
    await shot('fleet');
  });

  test('an injected anomaly appears live in the events list; its page explains it', async () => {
    await page.goto(`${service.url}/#/events`);
    await page.locator('text=0 events').waitFor(WAIT);
    await page.evaluate('window.__notReloaded = true');
    // A spike of three points, then normal points so the event closes (hysteresis: 5 points).
    await service.send(points(380, 383, () => 45));
    await service.send(points(383, 400));
    const fresh = page.locator('tr.fresh', { hasText: `${DEVICE} / temp` });
    await fresh.waitFor(WAIT);
    assert.equal(await page.evaluate('window.__notReloaded'), true, 'the page was not reloaded');
    assert.match(await fresh.innerText(), /new/);
    await shot('events-live');

    await fresh.locator('a').first().click();
    const heading = page.locator('h1', { hasText: `event on ${DEVICE} / temp` });
    await heading.waitFor(WAIT);
    const metrics = page.locator('table', { hasText: 'Contributing metrics' });
    const metricRow = metrics.locator('tbody tr', { hasText: 'temp' });
    await metricRow.waitFor(WAIT);
    const text = await metricRow.innerText();
    assert.match(text, /100 %/, 'one metric carries the whole share');
    assert.match(text, /\b45\b/, 'the observed value');
    assert.match(text, /above the band by/, 'observed against the expected band');
    const evidence = await page.locator('table', { hasText: 'Evidence' }).innerText();
    assert.match(evidence, /ewzscore/);
    await page.locator('.chart canvas').first().waitFor(WAIT);
    await page.getByRole('button', { name: 'False alarm' }).waitFor(WAIT);
    await shot('event');
  });

  test('the series view charts the values and fetches finer buckets on zoom', async () => {
    await page.goto(`${service.url}/#/series/${DEVICE}/temp`);
    const info = page.locator('figcaption p');
    await info.filter({ hasText: 'buckets of' }).waitFor(WAIT);
    const before = await info.innerText();
    const events = page.locator('table tbody tr');
    await events.first().waitFor(WAIT);
    await shot('series');
    await page.getByRole('button', { name: 'Last 15 min' }).click();
    // A string, so this file needs no DOM types: the caption changed and names its buckets.
    await page.waitForFunction(
      `(() => { const t = document.querySelector('figcaption p')?.textContent ?? '';
        return t !== ${JSON.stringify(before)} && /buckets of/.test(t); })()`,
      undefined,
      WAIT,
    );
    const afterZoom = await info.innerText();
    const bucketOf = (s: string) => /buckets of ([^(]+)\(/.exec(s)?.[1]?.trim();
    assert.notEqual(bucketOf(afterZoom), bucketOf(before), `${before} → ${afterZoom}`);
  });

  test('a strategy edit: errors inline, then a valid change becomes the active version', async () => {
    await page.goto(`${service.url}/#/strategies/e2e`);
    const editor = page.locator('textarea#yaml');
    await editor.waitFor(WAIT);
    const yaml = await editor.inputValue();
    assert.match(yaml, /alpha: 0\.05/);

    expectedErrors.push(/status of 422/);
    await editor.fill(yaml.replace('alpha: 0.05', 'alpha: 7'));
    await page.getByRole('button', { name: 'Save and activate' }).click();
    const errors = page.locator('#yaml-errors li');
    await errors.first().waitFor(WAIT);
    assert.match(await errors.first().innerText(), /detector\.params\.alpha/);
    assert.equal(await editor.getAttribute('aria-invalid'), 'true');
    // The refused save sent version 2 but left the editor's `version:` as typed.
    assert.match(await editor.inputValue(), /^version: 1$/m);

    await editor.fill(yaml.replace('alpha: 0.05', 'alpha: 0.02'));
    await page.getByRole('button', { name: 'Save and activate' }).click();
    await page.locator('[role=status]', { hasText: 'Version 2 is active' }).waitFor(WAIT);
    const v2 = page.locator('table.history tr[data-version="2"]');
    await v2.locator('.badge.active').waitFor(WAIT);
    assert.equal(await page.locator('table.history .badge.active').count(), 1);
    assert.match(await page.locator('.strategy-list').innerText(), /e2e · v2 active/);
    assert.equal(await page.locator('#yaml-errors li').count(), 0);

    await page.getByRole('button', { name: 'Diff with v1' }).click();
    const diff = page.locator('.diff');
    await diff.waitFor(WAIT);
    assert.match(
      await diff
        .locator('del')
        .allInnerTexts()
        .then((t) => t.join('\n')),
      /alpha: 0\.05/,
    );
    assert.match(
      await diff
        .locator('ins')
        .allInnerTexts()
        .then((t) => t.join('\n')),
      /alpha: 0\.02/,
    );
    await shot('strategies');

    // The new version scores: new points of the series are scored by e2e@2.
    await service.send(points(400, 405));
    await service.engine.flush();
    const overview = (await (await fetch(`${service.url}/v1/overview`)).json()) as {
      devices: { series: { strategy?: string }[] }[];
    };
    assert.equal(overview.devices[0]?.series[0]?.strategy, 'e2e@2');
  });

  test('a roll back asks first, saying which version becomes active and which stops', async () => {
    await page.goto(`${service.url}/#/strategies/e2e`);
    const rollBack = page.getByRole('button', { name: 'Roll back to v1' });
    await rollBack.click();
    const dialog = page.getByRole('dialog', { name: 'Roll e2e back to version 1?' });
    await dialog.waitFor(WAIT);
    assert.match(await dialog.innerText(), /Version 2, active now, stops scoring/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ ...WAIT, state: 'detached' });
    assert.equal(
      await page.locator('table.history tr[data-version="2"] .badge.active').count(),
      1,
      'cancel changes nothing',
    );
    await rollBack.click();
    await dialog.getByRole('button', { name: 'Roll back to v1' }).click();
    await page.locator('[role=status]', { hasText: 'Version 1 is active again' }).waitFor(WAIT);
    await page.locator('table.history tr[data-version="1"] .badge.active').waitFor(WAIT);
  });

  test('keyboard only: from the header to an event page, focus visible on the way', async () => {
    await page.goto(`${service.url}/`);
    await page.locator('table.fleet').waitFor(WAIT);
    const focused = () =>
      page.evaluate(
        `(() => { const e = document.activeElement; const s = getComputedStyle(e);
          return { tag: e.tagName, text: (e.textContent || '').trim(), outline: s.outlineStyle,
                   width: s.outlineWidth, inRow: !!e.closest('tbody') }; })()`,
      ) as Promise<{ tag: string; text: string; outline: string; width: string; inRow: boolean }>;
    await page.keyboard.press('Tab');
    assert.equal((await focused()).text, 'Skip to content');
    let f = await focused();
    for (let i = 0; i < 6 && f.text !== 'Events'; i++) {
      await page.keyboard.press('Tab');
      f = await focused();
    }
    assert.equal(f.text, 'Events');
    assert.notEqual(f.outline, 'none', 'the focused link shows an outline');
    await page.keyboard.press('Enter');
    await page.locator('h1', { hasText: 'Events' }).waitFor(WAIT);
    assert.equal((await focused()).tag, 'H1', 'focus moves to the new page heading');
    await page.locator('table.events tbody tr').first().waitFor(WAIT);
    for (let i = 0; i < 30 && !(f.tag === 'A' && f.inRow); i++) {
      await page.keyboard.press('Tab');
      f = await focused();
    }
    assert.ok(f.tag === 'A' && f.inRow, 'Tab reaches the first event link');
    assert.notEqual(f.outline, 'none');
    await page.keyboard.press('Enter');
    await page.locator('h1', { hasText: 'event on' }).waitFor(WAIT);
    // Tab to the feedback buttons and press one with the space bar.
    for (let i = 0; i < 40 && f.text !== 'Anomaly'; i++) {
      await page.keyboard.press('Tab');
      f = await focused();
    }
    assert.equal(f.text, 'Anomaly');
    await page.keyboard.press('Space');
    await page.locator('[role=status]', { hasText: 'Labelled anomaly' }).waitFor(WAIT);
    assert.equal(await page.getAttribute('button[data-label=anomaly]', 'aria-pressed'), 'true');
    // The label is stored with the event, and the page shows it again after a reload.
    const labelled = (await (await fetch(`${service.url}/v1/events?label=anomaly`)).json()) as {
      events: { label: string }[];
    };
    assert.equal(labelled.events.length, 1);
    await page.reload();
    await page.locator('button[data-label=anomaly][aria-pressed=true]').waitFor(WAIT);
  });

  test('no console errors in any view (besides the ones provoked on purpose)', () => {
    const unexpected = watched.errors.filter((e) => !expectedErrors.some((re) => re.test(e)));
    assert.deepEqual(unexpected, []);
  });
});
