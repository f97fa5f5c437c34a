/**
 * A throwaway nats-server with JetStream for the tests that restart it (never the machine's
 * shared one on 4222): a free port, its own store directory in a temp dir, stopped and started
 * again on the same port and directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../net/free-port.js';
import { sleep } from '../../timing/sleep.js';

const BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export class PrivateNats {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateNats> {
    const nats = new PrivateNats(
      await freePort(),
      await mkdtemp(path.join(tmpdir(), 'vigil-nats-')),
    );
    await nats.up();
    return nats;
  }

  /** Start (again) on the same port and store directory; resolves once it accepts connections. */
  async up(): Promise<void> {
    this.child = spawn(BIN, ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.dir], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 200; i++) {
      if (await listening(this.port)) return;
      await sleep(50);
    }
    throw new Error(`nats-server did not listen on ${this.port}`);
  }

  /** SIGTERM and wait for the exit. */
  async down(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }

  async remove(): Promise<void> {
    await this.down();
    await rm(this.dir, { recursive: true, force: true });
  }
}
