/** Incidents (migration 011) on the shared SQL dialect: every backend runs these statements. */
import { checkName, checkTime, invalid, ms, read, storeError, ts } from '../store/sql-common.js';
import type { SqlDriver } from '../store/sql-driver.js';
import type { Page, Tags } from '../store/store.js';
import {
  INCIDENT_STATES,
  type IncidentComment,
  type IncidentRecord,
  type IncidentsQuery,
  type IncidentState,
  type IncidentStore,
  type StoredIncident,
} from './types.js';

const MAX_LIST = 10_000;
const MAX_COMMENT = 10_000;
const MAX_PERSON = 200;
const CHANGES = new Set(['open', 'update', 'resolve', 'reopen']);

interface IncidentRow {
  id: string;
  device_id: string;
  metrics: string[];
  level: 'alert' | 'severe';
  state: IncidentState;
  first_ms: number;
  last_ms: number;
  end_ms: number | null;
  event_ids: string[];
  tags: Tags | null;
  acknowledged_by: string | null;
  acknowledged_ms: number | null;
  assignee: string | null;
  resolved_by: string | null;
  resolved_ms: number | null;
  updated_ms: number;
}

interface CommentRow {
  id: number;
  author: string | null;
  body: string;
  created_ms: number;
}

const COLUMNS = `id, device_id, metrics, level, state, ${ms('first_time')} AS first_ms,
  ${ms('last_time')} AS last_ms, ${ms('end_time')} AS end_ms, event_ids, tags, acknowledged_by,
  ${ms('acknowledged_at')} AS acknowledged_ms, assignee, resolved_by,
  ${ms('resolved_at')} AS resolved_ms, ${ms('updated_at')} AS updated_ms`;

function fromRow(row: IncidentRow, comments: readonly IncidentComment[] = []): StoredIncident {
  return {
    id: row.id,
    device: row.device_id,
    metrics: row.metrics,
    level: row.level,
    state: row.state,
    first: row.first_ms,
    last: row.last_ms,
    end: row.end_ms,
    eventIds: row.event_ids,
    tags: row.tags ?? {},
    acknowledgedBy: row.acknowledged_by,
    acknowledgedAt: row.acknowledged_ms,
    assignee: row.assignee,
    resolvedBy: row.resolved_by,
    resolvedAt: row.resolved_ms,
    updatedAt: row.updated_ms,
    comments,
  };
}

/** A person's name or free text: NUL removed and cut, never refused (it comes from a token). */
function person(value: string | null): string | null {
  return value === null ? null : value.replaceAll('\0', '').slice(0, MAX_PERSON);
}

export class SqlIncidentStore implements IncidentStore {
  constructor(private readonly driver: SqlDriver) {}

  async record(r: IncidentRecord): Promise<StoredIncident> {
    const at = `incident ${JSON.stringify(r.id)}`;
    checkName(`${at}: id`, r.id);
    checkName(`${at}: device`, r.device);
    checkTime(`${at}: first`, r.first);
    checkTime(`${at}: last`, r.last);
    if (r.end !== null) checkTime(`${at}: end`, r.end);
    if (r.level !== 'alert' && r.level !== 'severe') throw invalid(`${at}: unknown level`);
    if (r.status !== 'firing' && r.status !== 'resolved') throw invalid(`${at}: unknown status`);
    if (!CHANGES.has(r.change)) throw invalid(`${at}: unknown change ${String(r.change)}`);
    for (const id of r.eventIds) checkName(`${at}: event id`, id);
    for (const m of r.metrics) checkName(`${at}: metric`, m);
    const afresh = r.change === 'open' || r.change === 'reopen';
    try {
      // The state: resolved when grouping says so; firing again when it fires afresh after a
      // resolution (then unacknowledged); otherwise what people made it.
      const rows = (
        await this.driver.query<IncidentRow>({
          name: 'vigil_incident_record',
          text: `INSERT INTO incidents AS i (id, device_id, metrics, level, state, first_time,
                   last_time, end_time, event_ids, tags)
                 VALUES ($1, $2, $3::text::jsonb, $4, $5, ${ts('$6::float8')}, ${ts('$7::float8')},
                   ${ts('$8::float8')}, $9::text::jsonb,
                   (SELECT p.tags FROM points p WHERE p.device_id = $2 AND p.tags IS NOT NULL
                    ORDER BY p.time DESC LIMIT 1))
                 ON CONFLICT (id) DO UPDATE SET
                   metrics = EXCLUDED.metrics, level = EXCLUDED.level,
                   first_time = EXCLUDED.first_time, last_time = EXCLUDED.last_time,
                   end_time = EXCLUDED.end_time, event_ids = EXCLUDED.event_ids,
                   tags = COALESCE(i.tags, EXCLUDED.tags),
                   state = CASE
                     WHEN EXCLUDED.state = 'resolved' THEN 'resolved'
                     WHEN $10::boolean AND i.state = 'resolved' THEN 'firing'
                     ELSE i.state END,
                   acknowledged_by = CASE WHEN $10::boolean AND i.state = 'resolved'
                     THEN NULL ELSE i.acknowledged_by END,
                   acknowledged_at = CASE WHEN $10::boolean AND i.state = 'resolved'
                     THEN NULL ELSE i.acknowledged_at END,
                   resolved_by = CASE WHEN $10::boolean AND EXCLUDED.state <> 'resolved'
                     THEN NULL ELSE i.resolved_by END,
                   resolved_at = CASE WHEN EXCLUDED.state <> 'resolved' AND $10::boolean
                     THEN NULL ELSE COALESCE(i.resolved_at, CASE WHEN EXCLUDED.state = 'resolved'
                     THEN now() END) END,
                   updated_at = now()
                 RETURNING ${COLUMNS}`,
          values: [
            r.id,
            r.device,
            JSON.stringify(r.metrics),
            r.level,
            r.status,
            r.first,
            r.last,
            r.end,
            JSON.stringify(r.eventIds),
            afresh,
          ],
        })
      ).rows;
      return fromRow(rows[0]!);
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', `storing ${at} failed`, error);
    }
  }

  async get(id: string): Promise<StoredIncident | undefined> {
    const rows = await read<IncidentRow>(this.driver, 'reading an incident failed', {
      name: 'vigil_incident_get',
      text: `SELECT ${COLUMNS} FROM incidents WHERE id = $1`,
      values: [id],
    });
    const row = rows[0];
    if (row === undefined) return undefined;
    const comments = await read<CommentRow>(this.driver, 'reading incident comments failed', {
      name: 'vigil_incident_comments',
      text: `SELECT id::float8 AS id, author, body, ${ms('created_at')} AS created_ms
             FROM incident_comments WHERE incident_id = $1 ORDER BY id`,
      values: [id],
    });
    return fromRow(
      row,
      comments.map((c) => ({ id: c.id, by: c.author, text: c.body, at: c.created_ms })),
    );
  }

  async list(query: IncidentsQuery = {}): Promise<Page<StoredIncident>> {
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
      throw invalid(`incidents: limit must be an integer from 1 to ${MAX_LIST}`);
    }
    const state = query.state ?? null;
    if (state !== null && state !== 'open' && !INCIDENT_STATES.includes(state)) {
      throw invalid(`incidents: unknown state ${JSON.stringify(state)}`);
    }
    const tag =
      query.tag === undefined ? null : JSON.stringify({ [query.tag.key]: query.tag.value });
    const rows = await read<IncidentRow>(this.driver, 'listing incidents failed', {
      name: 'vigil_incident_list',
      text: `SELECT ${COLUMNS} FROM incidents
             WHERE ($1::text IS NULL OR device_id = $1)
               AND ($2::text IS NULL OR ($2 = 'open' AND state <> 'resolved') OR state = $2)
               AND ($3::text IS NULL OR tags @> $3::text::jsonb)
               AND ($4::float8 IS NULL OR end_time IS NULL OR end_time >= ${ts('$4::float8')})
               AND ($5::float8 IS NULL OR first_time < ${ts('$5::float8')})
               AND ($6::float8 IS NULL OR (first_time, id) < (${ts('$6::float8')}, $7::text))
             ORDER BY first_time DESC, id DESC LIMIT $8`,
      values: [
        query.device ?? null,
        state,
        tag,
        query.from ?? null,
        query.to ?? null,
        query.after?.first ?? null,
        query.after?.id ?? null,
        limit + 1,
      ],
    });
    return { items: rows.slice(0, limit).map((r) => fromRow(r)), more: rows.length > limit };
  }

  async acknowledge(id: string, by: string | null): Promise<StoredIncident | undefined> {
    return this.#change(
      id,
      'acknowledging',
      `state = CASE WHEN state = 'resolved' THEN state ELSE 'acknowledged' END,
       acknowledged_by = CASE WHEN state = 'resolved' THEN acknowledged_by ELSE $2 END,
       acknowledged_at = CASE WHEN state = 'resolved' THEN acknowledged_at ELSE now() END`,
      person(by),
    );
  }

  async assign(id: string, assignee: string | null): Promise<StoredIncident | undefined> {
    return this.#change(id, 'assigning', 'assignee = $2', person(assignee));
  }

  async resolve(id: string, by: string | null): Promise<StoredIncident | undefined> {
    return this.#change(
      id,
      'resolving',
      `resolved_by = CASE WHEN state = 'resolved' THEN resolved_by ELSE $2 END,
       resolved_at = CASE WHEN state = 'resolved' THEN resolved_at ELSE now() END,
       state = 'resolved'`,
      person(by),
    );
  }

  async comment(id: string, text: string, by: string | null): Promise<StoredIncident | undefined> {
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_COMMENT) {
      throw invalid(`comment: expected 1 to ${MAX_COMMENT} characters of text`);
    }
    try {
      const added = await this.driver.query({
        name: 'vigil_incident_comment',
        text: `INSERT INTO incident_comments (incident_id, author, body)
               SELECT id, $2, $3 FROM incidents WHERE id = $1`,
        values: [id, person(by), text.replaceAll('\0', '')],
      });
      if (added.rowCount === 0) return undefined;
      await this.driver.query({
        name: 'vigil_incident_touch',
        text: 'UPDATE incidents SET updated_at = now() WHERE id = $1',
        values: [id],
      });
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', `commenting on incident ${id} failed`, error);
    }
    return this.get(id);
  }

  async #change(
    id: string,
    what: string,
    set: string,
    value: string | null,
  ): Promise<StoredIncident | undefined> {
    try {
      const done = await this.driver.query({
        text: `UPDATE incidents SET ${set}, updated_at = now() WHERE id = $1`,
        values: [id, value],
      });
      if (done.rowCount === 0) return undefined;
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', `${what} incident ${id} failed`, error);
    }
    return this.get(id);
  }
}
