/**
 * A throwaway PostgreSQL cluster for the chaos run (never the machine's own server): initdb in a
 * temp dir on a free port, started, crashed (`pg_ctl stop -m immediate`), restarted and removed.
 * PostgreSQL refuses to run as root, so as root its commands run as the `postgres` user.
 */
import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../net/free-port.js';

const run = promisify(execFile);
const BIN = process.env.CHAOS_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  readonly port: number;
  url(database: string): string;
  createDatabase(name: string): Promise<void>;
  /** A crash: no shutdown checkpoint, clients cut off. */
  crash(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

async function pgUid(): Promise<{ uid: number; gid: number } | null> {
  if (userInfo().uid !== 0) return null;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: g } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const owner = await pgUid();
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-chaos-pg-'));
  if (owner) await chown(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const asOwner = (cmd: string, args: string[]) =>
    owner
      ? run('runuser', ['-u', 'postgres', '--', path.join(BIN, cmd), ...args])
      : run(path.join(BIN, cmd), args);
  const pgCtl = (...args: string[]) =>
    asOwner('pg_ctl', ['-D', data, '-l', path.join(dir, 'postgres.log'), ...args]);
  await asOwner('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on`;
  const start = async () => {
    await pgCtl('-o', options, '-w', '-t', '120', 'start');
  };
  await start();
  let running = true;
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
    },
    async crash() {
      await pgCtl('-m', 'immediate', '-w', 'stop');
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async remove() {
      if (running) await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
      running = false;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
