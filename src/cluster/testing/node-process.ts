/**
 * One `vigil serve` child for the cluster tests and bench: any role, on free ports, ready when
 * /readyz answers 200, stopped with SIGTERM or killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../net/free-port.js';
import { waitUntilReady } from '../../net/wait-ready.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface NodeOptions {
  readonly role: 'all' | 'ingest' | 'scorer';
  readonly nats?: string;
  readonly databaseUrl: string;
  readonly dataDir: string;
  readonly configFile: string;
  /** A strategies directory (`--strategies`). */
  readonly strategies?: string;
}

export class NodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private gone = true;
  private output = '';
  url = '';
  /** The gRPC port (`--grpc-port`). */
  grpcPort = 0;

  constructor(private readonly options: NodeOptions) {}

  static async start(options: NodeOptions): Promise<NodeProcess> {
    const node = new NodeProcess(options);
    await node.spawn();
    return node;
  }

  private async spawn(): Promise<void> {
    const port = await freePort();
    const { role, nats, databaseUrl, dataDir, configFile } = this.options;
    this.url = `http://127.0.0.1:${port}`;
    this.grpcPort = await freePort();
    const args = [
      MAIN,
      'serve',
      '--no-demo',
      '--role',
      role,
      '--port',
      String(port),
      '--grpc-port',
      String(this.grpcPort),
      '--data-dir',
      dataDir,
      '--config',
      configFile,
      '--database-url',
      databaseUrl,
      '--log-level',
      'warn',
    ];
    if (nats !== undefined) args.push('--nats', nats);
    if (this.options.strategies !== undefined) args.push('--strategies', this.options.strategies);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.gone = false;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = once(child, 'exit').then(() => (this.gone = true));
    await this.ready();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return !this.gone;
  }

  log(): string {
    return this.output;
  }

  private async ready(timeoutMs = 120_000): Promise<void> {
    await waitUntilReady({
      url: this.url,
      gone: () => this.gone,
      output: () => this.output,
      timeoutMs,
      pollMs: 50,
    });
  }

  /** GET a JSON document of this node. */
  async get<T>(route: string): Promise<T> {
    const res = await fetch(`${this.url}${route}`, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async kill(): Promise<void> {
    if (!this.gone) this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM; the exit code (null when it had to be killed after `timeoutMs`). */
  async stop(timeoutMs = 60_000): Promise<number | null> {
    if (this.gone) return this.child?.exitCode ?? null;
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return this.child?.exitCode ?? null;
  }
}
