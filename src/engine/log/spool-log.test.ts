import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spooledBatch, type SpooledBatch } from '../spool-record.js';
import { logConformance } from './log-conformance.js';
import { SpoolLog } from './spool-log.js';

const BASE = Date.UTC(2025, 0, 1);

logConformance<SpooledBatch>('spool', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-spool-log-'));
  return {
    open: (onDurable) => SpoolLog.open(dir, onDurable),
    batch: (n) => spooledBatch([{ timestamp: BASE + n, device_id: 'd', metrics: { n } }]),
    id: (batch) => batch.points[0]?.metrics['n'] as number,
    tear: async () => {
      const last = (await readdir(dir)).sort().at(-1) as string;
      const whole = spooledBatch([{ timestamp: BASE, device_id: 'torn', metrics: { n: -1 } }]);
      await appendFile(join(dir, last), whole.rows.text.slice(0, -3));
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
