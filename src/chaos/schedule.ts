/**
 * The seeded plan of a chaos run: for each round, a kill -9 at a random instant after the
 * service is ready (some rounds also kill the restart while it replays its spool), or a
 * PostgreSQL outage of a random length; the same seed always gives the same plan.
 */
import { Rng } from '../core/stats/rng.js';

export interface KillRound {
  readonly kind: 'kill';
  readonly round: number;
  /** SIGKILL this long after the service answered /readyz (clients streaming). */
  readonly killAfterMs: number;
  /** When set, the restart is killed too, this long after it was spawned (startup replay). */
  readonly startupKillMs: number | null;
}

export interface PostgresRound {
  readonly kind: 'pg';
  readonly round: number;
  /** Clients stream this long before PostgreSQL stops. */
  readonly stopAfterMs: number;
  /** PostgreSQL is down this long (stopped `-m immediate`, a crash). */
  readonly outageMs: number;
}

export type RoundPlan = KillRound | PostgresRound;

export const KILL_AFTER_MS: readonly [number, number] = [50, 2000];
export const STARTUP_KILL_MS: readonly [number, number] = [50, 800];
export const STARTUP_KILL_SHARE = 0.1;
export const OUTAGE_MS: readonly [number, number] = [2000, 5000];

const between = (rng: Rng, [lo, hi]: readonly [number, number]): number =>
  Math.floor(rng.uniform(lo, hi + 1));

/**
 * `kills` kill rounds with `outages` PostgreSQL rounds spread evenly between them (never
 * first), numbered from 1 in the order they run.
 */
export function chaosSchedule(seed: number, kills: number, outages: number): RoundPlan[] {
  const rng = Rng.fromSeed(seed);
  const outageAfter = new Set(
    Array.from({ length: outages }, (_, k) => Math.floor(((k + 1) * kills) / (outages + 1))),
  );
  const plan: RoundPlan[] = [];
  const add = (round: Omit<KillRound, 'round'> | Omit<PostgresRound, 'round'>): void => {
    plan.push({ ...round, round: plan.length + 1 } as RoundPlan);
  };
  let pending = outages;
  for (let k = 0; k < kills; k++) {
    const killAfterMs = between(rng, KILL_AFTER_MS);
    const startup = rng.next() < STARTUP_KILL_SHARE;
    const startupKillMs = between(rng, STARTUP_KILL_MS);
    add({ kind: 'kill', killAfterMs, startupKillMs: startup ? startupKillMs : null });
    // Several outages may fall after the same kill when there are more outages than kills.
    const times = outageAfter.has(k + 1) ? countAt(outages, kills, k + 1) : 0;
    for (let i = 0; i < times && pending > 0; i++, pending--) {
      add({
        kind: 'pg',
        stopAfterMs: between(rng, [200, 1000]),
        outageMs: between(rng, OUTAGE_MS),
      });
    }
  }
  for (; pending > 0; pending--) {
    add({ kind: 'pg', stopAfterMs: between(rng, [200, 1000]), outageMs: between(rng, OUTAGE_MS) });
  }
  return plan;
}

function countAt(outages: number, kills: number, after: number): number {
  let n = 0;
  for (let k = 0; k < outages; k++)
    if (Math.floor(((k + 1) * kills) / (outages + 1)) === after) n++;
  return n;
}
