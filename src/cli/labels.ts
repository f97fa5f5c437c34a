/** `vigil labels export`: the store's feedback labels as NAB windows, optionally with the data. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { labelledEvents, nabLabelsFromEvents, writeNabCorpus } from '../labels/nab-export.js';
import { parseDuration } from '../server/query-params.js';
import { openStore } from '../store/open-store.js';

export interface LabelsExportOptions {
  readonly out: string;
  /** Also write a NAB-layout corpus of the labelled series here. */
  readonly data?: string;
  readonly pad?: string;
  readonly databaseUrl?: string;
  /** Like `vigil serve --data-dir`: the embedded store is `<dataDir>/pglite`. */
  readonly dataDir?: string;
  readonly schema?: string;
}

export interface LabelsExportSummary {
  readonly series: number;
  readonly windows: number;
  readonly events: number;
  readonly corpus?: { readonly files: number; readonly points: number };
}

export async function labelsExport(options: LabelsExportOptions): Promise<LabelsExportSummary> {
  const padMs =
    options.pad === undefined || options.pad === '0' ? 0 : parseDuration('--pad', options.pad);
  const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
  const store = await openStore({
    ...(databaseUrl ? { databaseUrl } : {}),
    dataDir: path.join(options.dataDir ?? process.env.VIGIL_DATA_DIR ?? './data', 'pglite'),
    ...(options.schema === undefined ? {} : { schema: options.schema }),
  });
  try {
    const events = await labelledEvents(store);
    const labels = nabLabelsFromEvents(events, padMs);
    await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
    await writeFile(options.out, JSON.stringify(labels.windows, null, 2) + '\n');
    const summary = {
      series: Object.keys(labels.windows).length,
      windows: Object.values(labels.windows).reduce((n, w) => n + w.length, 0),
      events: events.length,
    };
    if (options.data === undefined) return summary;
    return { ...summary, corpus: await writeNabCorpus(store, labels, options.data) };
  } finally {
    await store.close();
  }
}

export function registerLabelsCommands(program: Command): void {
  const labels = program.command('labels').description('feedback labels on events');
  labels
    .command('export')
    .description('write the labels as NAB windows (combined_windows.json) for vigil ab / nab score')
    .requiredOption('--out <file>', 'where to write the windows JSON')
    .option('--data <dir>', 'also write the labelled series as a NAB-layout corpus here')
    .option('--pad <duration>', 'widen each anomaly window on both sides (ms, 30s, 5m, 1h)')
    .option('--database-url <url>', 'PostgreSQL server (env DATABASE_URL)')
    .option(
      '--data-dir <dir>',
      'embedded storage of vigil serve (env VIGIL_DATA_DIR; default ./data)',
    )
    .option('--schema <name>', 'PostgreSQL schema holding Vigil’s tables (default public)')
    .action(async (options: LabelsExportOptions) => {
      const s = await labelsExport(options);
      process.stdout.write(
        `${s.events} labelled events → ${s.windows} anomaly windows in ${s.series} series: ${options.out}\n` +
          (s.corpus === undefined
            ? ''
            : `corpus: ${s.corpus.files} series, ${s.corpus.points} points under ${options.data}\n`),
      );
    });
}
