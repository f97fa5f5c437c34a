/**
 * `npm run screenshots`: the README's pictures (docs/screenshots/*.png, 1366×768, plus a phone's
 * 390×844 and one in dark mode) taken from a real `vigil serve` with its demo pumps, in a temp
 * data dir, on free ports. The demo metrics get their units through the API (the charts label
 * their value axes with them); the incident pictures show the open incidents and one incident.
 * The strategy picture shows a second version of `default` uploaded through the API, with its diff.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { launchBrowser, openPage } from './browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'docs/screenshots'));

interface EventJson {
  id: string;
  device: string;
  metric: string | null;
  level: string;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vigil-screenshots-'));
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'dist/cli/main.js'),
      'serve',
      '--port',
      '0',
      '--grpc-port',
      '0',
      '--data-dir',
      dataDir,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const m = /"http":"(http:[^"]+)".*"vigil serving"/.exec(line);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`vigil serve exited with ${code}`)));
    });
    process.stdout.write(`vigil serve at ${url}\n`);
    // The demo back-fills 30 minutes with an anomaly a minute; wait until they are scored.
    let events: EventJson[] = [];
    for (let i = 0; i < 120 && events.length < 10; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      events = (await json<{ events: EventJson[] }>(`${url}/v1/events?limit=50`)).events;
    }
    const defaultYaml = (
      await json<{ versions: { yaml: string }[] }>(`${url}/v1/strategies/default/versions`)
    ).versions[0]?.yaml;
    if (defaultYaml === undefined) throw new Error('no default strategy stored');
    await json(`${url}/v1/strategies/default`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml' },
      body: `${defaultYaml.replace(/^version: 1$/m, 'version: 2')}events:\n  cooldown_ms: 600000\n`,
    });

    // What an operator declares once: the demo pumps' units.
    const units = { current: 'A', pressure: 'bar', flow: 'm³/h', temperature: '°C' };
    for (const [metric, unit] of Object.entries(units)) {
      await json(`${url}/v1/units/${metric}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ unit }),
      });
    }
    const incidents = (
      await json<{ incidents: { id: string; state: string }[] }>(`${url}/v1/incidents?limit=50`)
    ).incidents;
    const incident = incidents.find((i) => i.state === 'firing') ?? incidents[0];
    if (incident === undefined) throw new Error('the demo raised no incidents');
    // One acknowledged and assigned, so the list shows who took it.
    const incidentUrl = `${url}/v1/incidents/${encodeURIComponent(incident.id)}`;
    await json(`${incidentUrl}/acknowledge`, { method: 'POST' });
    await json(`${incidentUrl}/assign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ assignee: 'ops-oncall' }),
    });

    await mkdir(outDir, { recursive: true });
    const browser = await launchBrowser();
    try {
      const { page, errors } = await openPage(browser);
      const take = async (name: string, hash: string, ready: string) => {
        await page.goto(`${url}/${hash}`);
        await page.locator(ready).first().waitFor({ timeout: 30_000 });
        await page.waitForTimeout(1500);
        await page.screenshot({ path: path.join(outDir, `${name}.png`) });
        process.stdout.write(`${name}.png\n`);
      };
      await take('fleet', '#/', 'table.fleet');
      const severe = events.find((e) => e.level === 'severe' && e.metric !== null) ?? events[0];
      if (severe === undefined) throw new Error('the demo raised no events');
      // The demo's history is 30 minutes: show that, not an hour half empty.
      const from = Date.now() - 32 * 60_000;
      const series = `#/series/${encodeURIComponent(severe.device)}/${encodeURIComponent(severe.metric ?? '')}?from=${from}&to=${Date.now()}`;
      await take('series', series, 'figcaption p:has-text("buckets of")');
      await take('event', `#/events/${encodeURIComponent(severe.id)}`, '.chart canvas');
      await take('incidents', '#/incidents', 'tr[data-incident-id]');
      await take('incident', `#/incidents/${encodeURIComponent(incident.id)}`, '#incident-state');
      await page.goto(`${url}/#/strategies/default`);
      await page.getByRole('button', { name: 'Diff with v1' }).click();
      await page.locator('.diff').waitFor();
      // History and diff in view, the editor's last lines above them.
      await page.evaluate(
        "window.scrollTo(0, document.getElementById('history-h').getBoundingClientRect().top + window.scrollY - 10)",
      );
      await page.screenshot({ path: path.join(outDir, 'strategies.png') });
      process.stdout.write('strategies.png\n');
      // A phone (the series, its score lane and staleness) and the dark palette (the event).
      const phone = await openPage(browser, { viewport: { width: 390, height: 844 } });
      await phone.page.goto(`${url}/${series}`);
      await phone.page.locator('figcaption p:has-text("buckets of")').waitFor({ timeout: 30_000 });
      await phone.page.waitForTimeout(1500);
      await phone.page.screenshot({ path: path.join(outDir, 'phone.png') });
      process.stdout.write('phone.png\n');
      const dark = await openPage(browser, { colorScheme: 'dark' });
      await dark.page.goto(`${url}/#/events/${encodeURIComponent(severe.id)}`);
      await dark.page.locator('.chart canvas').first().waitFor({ timeout: 30_000 });
      await dark.page.waitForTimeout(1500);
      await dark.page.screenshot({ path: path.join(outDir, 'dark.png') });
      process.stdout.write('dark.png\n');
      const all = [...errors, ...phone.errors, ...dark.errors];
      if (all.length > 0) throw new Error(`console errors: ${all.join('\n')}`);
    } finally {
      await browser.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(`written to ${outDir}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
