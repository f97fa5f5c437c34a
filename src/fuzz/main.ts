/**
 * `npm run fuzz`: runs every parser target (or one) for N cases each, in worker threads, and
 * prints a table; exits 1 on any crash, hang, unstorable point or broken invariant. Failing
 * cases are written to tmp/fuzz-failures/ and replay with
 * `npm run fuzz -- --target NAME --seed S --case N`. What is generated: docs/fuzzing.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { caseRng } from './random.js';
import { runCase, type Failure, type Summary } from './run.js';
import { TARGETS, targetNamed } from './targets/index.js';
import type { WorkerMessage, WorkerTask } from './worker.js';

const FAILURE_DIR = path.join('tmp', 'fuzz-failures');

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run fuzz -- [--cases N] [--target NAME[,NAME…]] [--seed S] [--case N] [--workers W]\n` +
      `targets: ${TARGETS.map((t) => t.name).join(', ')}\n`,
  );
  process.exit(2);
}

function integer(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0)
    usage(`--${what}: expected a non-negative integer, found ${text}`);
  return n;
}

function saveFailure(failure: Failure): void {
  mkdirSync(FAILURE_DIR, { recursive: true });
  const file = path.join(FAILURE_DIR, `${failure.target}-${failure.seed}-${failure.index}.json`);
  writeFileSync(file, JSON.stringify(failure, null, 2) + '\n');
  const first = failure.message.split('\n')[0];
  process.stdout.write(
    `${failure.kind.toUpperCase()} ${failure.target} seed ${failure.seed} case ${failure.index}: ${first} (${file})\n`,
  );
}

/** Re-run one case in this thread and show it. */
async function replay(name: string, seed: number, index: number): Promise<void> {
  const target = targetNamed(name) ?? usage(`no target ${name}`);
  const input = target.generate(caseRng(seed, index));
  const result = await runCase(target, input);
  process.stdout.write(`input (${input.length} bytes, base64): ${input.toString('base64')}\n`);
  process.stdout.write(`input (text): ${JSON.stringify(input.toString('utf8').slice(0, 2000))}\n`);
  process.stdout.write(
    `accepted ${result.accepted}, refused ${result.refused}, ${result.ms.toFixed(2)} ms\n`,
  );
  if (result.failure !== undefined) {
    process.stdout.write(`${result.failure.kind.toUpperCase()}: ${result.failure.message}\n`);
    process.exitCode = 1;
  }
}

function runInWorker(task: WorkerTask): Promise<Summary> {
  return new Promise((resolve, reject) => {
    // The yaml library warns on odd keys through process warnings: noise for a million cases.
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: task,
      execArgv: [...process.execArgv, '--no-warnings'],
    });
    let summary: Summary | undefined;
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'failure') saveFailure(message.failure);
      else if (message.type === 'progress') {
        process.stderr.write(`  ${task.target}: ${message.done} cases\n`);
      } else summary = message.summary;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (summary !== undefined) resolve(summary);
      else reject(new Error(`worker for ${task.target} exited with ${code} before its summary`));
    });
  });
}

function table(summaries: readonly Summary[]): string {
  const header = [
    'target',
    'cases',
    'accepted points',
    'refused',
    'crashes',
    'hangs',
    'unstorable',
    'broken',
    'slowest ms (case)',
    'cases/s',
  ];
  const rows = summaries.map((s) => [
    s.target,
    String(s.cases),
    String(s.accepted),
    String(s.refused),
    String(s.crashes),
    String(s.hangs),
    String(s.unstorable),
    String(s.broken),
    `${s.slowestMs.toFixed(1)} (${s.slowestCase})`,
    String(Math.round(s.cases / s.seconds)),
  ]);
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string' },
      target: { type: 'string' },
      seed: { type: 'string' },
      case: { type: 'string' },
      workers: { type: 'string' },
    },
  });
  const seed = integer(values.seed, 1, 'seed');
  if (values.case !== undefined) {
    if (values.target === undefined) usage('--case needs --target');
    await replay(values.target, seed, integer(values.case, 0, 'case'));
    return;
  }
  const cases = integer(values.cases, 1_000_000, 'cases');
  const targets =
    values.target === undefined
      ? TARGETS
      : values.target.split(',').map((name) => targetNamed(name) ?? usage(`no target ${name}`));
  const workers = integer(values.workers, Math.min(2, availableParallelism()), 'workers');
  process.stdout.write(
    `fuzz: ${targets.length} targets × ${cases} cases, seed ${seed}, ${workers} workers\n`,
  );
  const queue = targets.map((t) => t.name);
  const summaries = new Map<string, Summary>();
  await Promise.all(
    Array.from({ length: Math.max(1, workers) }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const summary = await runInWorker({ target: name, seed, cases });
        summaries.set(name, summary);
        // Each row as its target finishes, so a long run shows results before its end.
        process.stdout.write(table([summary]).split('\n')[2] + '\n');
      }
    }),
  );
  const ordered = targets.map((t) => summaries.get(t.name)!);
  process.stdout.write(table(ordered));
  const bad = ordered.some((s) => s.crashes + s.hangs + s.unstorable + s.broken > 0);
  if (bad) process.exitCode = 1;
}

await main();
