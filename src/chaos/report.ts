/** The chaos run's printed table (one row per round) and its summary. */
import type { EventDiff } from './event-diff.js';

export interface RoundRow {
  readonly round: number;
  /** `kill`, `kill+startup` (the restart was killed too) or `pg`. */
  readonly kind: string;
  /** kill: ms after ready; pg: outage length in ms. */
  readonly atMs: number;
  readonly acked: number;
  readonly stored: number;
  readonly missing: number;
  readonly extra: number;
  readonly duplicates: number;
  readonly retries: number;
  /** Spawn of the (last) restart → /readyz 200, ms; for pg rounds, the outage's recovery. */
  readonly readyMs: number;
}

const COLUMNS: readonly [keyof RoundRow, string, number][] = [
  ['round', 'round', 5],
  ['kind', 'kind', 12],
  ['atMs', 'at ms', 6],
  ['acked', 'acked', 9],
  ['stored', 'stored', 9],
  ['missing', 'missing', 7],
  ['extra', 'extra', 5],
  ['duplicates', 'dup', 3],
  ['retries', 'retries', 7],
  ['readyMs', 'ready ms', 8],
];

export function tableHeader(): string {
  const head = COLUMNS.map(([, title, w]) => title.padStart(w)).join(' | ');
  const rule = COLUMNS.map(([, , w]) => '-'.repeat(w)).join('-|-');
  return `| ${head} |\n|-${rule}-|`;
}

export function tableRow(row: RoundRow): string {
  return `| ${COLUMNS.map(([key, , w]) => String(row[key]).padStart(w)).join(' | ')} |`;
}

export interface Summary {
  readonly rounds: number;
  readonly kills: number;
  readonly startupKills: number;
  readonly outages: number;
  /** Outages the service did not survive (it was restarted and the round checked). */
  readonly outageCrashes: readonly { readonly round: number; readonly log: string }[];
  readonly ackedByProtocol: Record<string, number>;
  readonly storedByProtocol: Record<string, number>;
  readonly lost: number;
  /** Rounds whose check found an acked point missing (a later round may still find it). */
  readonly roundsWithMissing: readonly number[];
  readonly extra: number;
  readonly duplicates: number;
  readonly retries: number;
  readonly feedPoints: number;
  readonly feedStored: number;
  readonly events: EventDiff;
  readonly chaosEvents: number;
  readonly referenceEvents: number;
  readonly wallSeconds: number;
}

export function summaryText(s: Summary): string {
  const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  const perProtocol = Object.keys(s.ackedByProtocol)
    .map((p) => `${p} ${s.ackedByProtocol[p]}/${s.storedByProtocol[p] ?? 0}`)
    .join(', ');
  const lines = [
    `rounds ${s.rounds}: ${s.kills} kill -9 (${s.startupKills} also during startup replay), ${s.outages} PostgreSQL outages`,
    `vigil serve crashed in ${s.outageCrashes.length} of ${s.outages} PostgreSQL outages` +
      (s.outageCrashes.length > 0
        ? ` (rounds ${s.outageCrashes.map((c) => c.round).join(', ')}); first:\n${s.outageCrashes[0]!.log}`
        : ''),
    `acked ${total(s.ackedByProtocol)}, stored ${total(s.storedByProtocol)} (acked/stored: ${perProtocol})`,
    `rounds with an acked point missing at their check: ${s.roundsWithMissing.length === 0 ? 'none' : s.roundsWithMissing.join(', ')}`,
    `lost ${s.lost}, extra ${s.extra}, duplicates ${s.duplicates}, retried sends ${s.retries}`,
    `anomaly feed: ${s.feedPoints} points acked, ${s.feedStored} stored`,
    `events equal an uninterrupted run: ${s.events.equal ? 'yes' : 'NO'} (${s.chaosEvents} events; uninterrupted ${s.referenceEvents})`,
  ];
  if (!s.events.equal) {
    const show = (e: object) => JSON.stringify(e);
    for (const e of s.events.onlyInChaos.slice(0, 10)) lines.push(`  only after kills: ${show(e)}`);
    for (const e of s.events.onlyInReference.slice(0, 10))
      lines.push(`  only uninterrupted: ${show(e)}`);
    for (const d of s.events.differing.slice(0, 10)) {
      lines.push(`  differs: ${show(d.chaos)}\n      vs   ${show(d.reference)}`);
    }
  }
  lines.push(`wall time ${s.wallSeconds.toFixed(0)} s`);
  return lines.join('\n');
}
