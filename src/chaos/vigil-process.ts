/**
 * One `vigil serve` child of the chaos run: spawned on fixed ports and a data dir kept across
 * rounds, ready when /readyz answers 200, killed with SIGKILL or stopped with SIGTERM; settled
 * when the engine holds nothing accepted and not yet stored and scored.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { sleep } from '../timing/sleep.js';
import { waitUntilReady } from '../net/wait-ready.js';

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export interface VigilOptions {
  readonly port: number;
  readonly grpcPort: number;
  readonly dataDir: string;
  readonly configFile: string;
  readonly databaseUrl: string | null;
}

export class VigilProcess {
  readonly url: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<unknown>;
  private gone = false;
  private output = '';

  constructor(private readonly options: VigilOptions) {
    this.url = `http://127.0.0.1:${options.port}`;
    const args = [
      MAIN,
      'serve',
      '--no-demo',
      '--port',
      String(options.port),
      '--grpc-port',
      String(options.grpcPort),
      '--data-dir',
      options.dataDir,
      '--config',
      options.configFile,
      '--log-level',
      'warn',
    ];
    if (options.databaseUrl !== null) args.push('--database-url', options.databaseUrl);
    this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > 20_000) this.output = this.output.slice(-20_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = once(this.child, 'exit').then(() => (this.gone = true));
  }

  get alive(): boolean {
    return !this.gone;
  }

  log(): string {
    return this.output;
  }

  async ready(timeoutMs = 180_000): Promise<void> {
    await waitUntilReady({
      url: this.url,
      gone: () => this.gone,
      output: () => this.output,
      timeoutMs,
      pollMs: 25,
    });
  }

  async kill(): Promise<void> {
    if (!this.gone) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM; the exit code (null when it had to be killed after `timeoutMs`). */
  async stop(timeoutMs = 60_000): Promise<number | null> {
    if (this.gone) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return this.child.exitCode;
  }

  async metric(name: string): Promise<number | null> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  }

  /** Until nothing accepted is waiting to be stored and scored. */
  async settle(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let points: number | null = null;
      let bytes: number | null = null;
      let problem = '';
      try {
        points = await this.metric('vigil_engine_queued_points');
        bytes = await this.metric('vigil_engine_queued_bytes');
      } catch (err) {
        problem = err instanceof Error ? `${err.message} ${String(err.cause ?? '')}` : String(err);
      }
      if (points === 0 && (bytes === 0 || bytes === null)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `engine did not drain: ${points} points, ${bytes} bytes queued ${problem}` +
            ` (alive: ${this.alive})\n${this.output.slice(-4000)}`,
        );
      }
      await sleep(50);
    }
  }
}
