/**
 * The record stores: events (upsert by id), strategy versions (immutable), checkpoints (latest
 * per series key). Batches travel as one JSON document per statement (`jsonb_to_recordset`):
 * one round trip for hundreds of rows, identical on both backends.
 */
import type { PipelineSnapshot } from '../core/strategy/pipeline.js';
import { VigilError } from '../errors.js';
import {
  checkCount,
  checkName,
  checkTime,
  invalid,
  lastPerKey,
  ms,
  read,
  slices,
  storeError,
  ts,
} from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import { decodeState, encodeState, headText, parseHead } from './state-codec.js';
import { EVENT_LABELS } from './store.js';
import type {
  Checkpoint,
  CheckpointHead,
  CheckpointStore,
  EncodedCheckpoint,
  EventLabel,
  EventLevel,
  EventStore,
  LabelSummary,
  JsonValue,
  StoredEvent,
  StrategyStore,
  StrategyVersion,
} from './store.js';

/** Rows per JSON document. */
const JSON_BATCH = 500;
const MAX_INT = 2 ** 31 - 1;

export interface EventRow {
  id: string;
  device_id: string;
  metric: string | null;
  strategy: string;
  strategy_version: number;
  start_ms: number;
  end_ms: number | null;
  peak_ms: number;
  peak_score: number;
  peak_values: Record<string, number>;
  level: EventLevel;
  points: number;
  explanation: JsonValue | null;
  label: EventLabel | null;
  label_note: string | null;
  labelled_ms: number | null;
  labelled_by: string | null;
  shadow_run: number | null;
}

export const EVENT_COLUMNS = `id, device_id, metric, strategy, strategy_version,
  ${ms('start_time')} AS start_ms, ${ms('end_time')} AS end_ms, ${ms('peak_time')} AS peak_ms,
  peak_score, peak_values, level, points, explanation,
  label, label_note, ${ms('labelled_at')} AS labelled_ms, labelled_by, shadow_run`;

export function eventFromRow(row: EventRow): StoredEvent {
  return {
    id: row.id,
    device: row.device_id,
    metric: row.metric,
    strategy: row.strategy,
    strategyVersion: row.strategy_version,
    start: row.start_ms,
    end: row.end_ms,
    peak: { time: row.peak_ms, score: row.peak_score, values: row.peak_values },
    level: row.level,
    points: row.points,
    explanation: row.explanation,
    ...(row.label === null
      ? {}
      : {
          label: {
            label: row.label,
            note: row.label_note,
            at: row.labelled_ms ?? 0,
            by: row.labelled_by,
          },
        }),
    ...(row.shadow_run === null ? {} : { shadowRun: row.shadow_run }),
  };
}

const MAX_NOTE_LENGTH = 2000;

function checkLabel(
  id: string,
  given: { readonly label: EventLabel; readonly note?: string | null; readonly by?: string | null },
): { label: EventLabel; note: string | null; by: string | null } {
  const at = `label of event ${JSON.stringify(id)}`;
  if (!EVENT_LABELS.includes(given.label)) {
    throw invalid(
      `${at}: label must be one of ${EVENT_LABELS.join(', ')}, found ${String(given.label)}`,
    );
  }
  const note = given.note ?? null;
  if (
    note !== null &&
    (typeof note !== 'string' || note.length > MAX_NOTE_LENGTH || note.includes('\0'))
  ) {
    throw invalid(
      `${at}: note must be a string of at most ${MAX_NOTE_LENGTH} characters without NUL`,
    );
  }
  const by = given.by ?? null;
  if (by !== null) checkName(`${at}: by`, by);
  return { label: given.label, note, by };
}

function eventDocument(event: StoredEvent, index: number): Record<string, unknown> {
  const at = `event ${index} (${JSON.stringify(event.id)})`;
  checkName(`${at}: id`, event.id);
  checkName(`${at}: device`, event.device);
  if (event.metric !== null) checkName(`${at}: metric`, event.metric);
  checkName(`${at}: strategy`, event.strategy);
  checkCount(`${at}: strategyVersion`, event.strategyVersion, MAX_INT);
  checkTime(`${at}: start`, event.start);
  if (event.end !== null) {
    checkTime(`${at}: end`, event.end);
    if (event.end < event.start) throw invalid(`${at}: end is before start`);
  }
  checkTime(`${at}: peak.time`, event.peak.time);
  if (!Number.isFinite(event.peak.score)) throw invalid(`${at}: peak.score must be finite`);
  for (const [metric, value] of Object.entries(event.peak.values)) {
    if (!Number.isFinite(value)) throw invalid(`${at}: peak.values.${metric} must be finite`);
  }
  if (event.level !== 'alert' && event.level !== 'severe') {
    throw invalid(`${at}: level must be alert or severe, found ${String(event.level)}`);
  }
  if (!Number.isInteger(event.points) || event.points < 0 || event.points > MAX_INT) {
    throw invalid(`${at}: points must be a non-negative integer`);
  }
  if (event.shadowRun !== undefined) checkCount(`${at}: shadowRun`, event.shadowRun, MAX_INT);
  return {
    id: event.id,
    device_id: event.device,
    metric: event.metric,
    strategy: event.strategy,
    strategy_version: event.strategyVersion,
    start_ms: event.start,
    end_ms: event.end,
    peak_ms: event.peak.time,
    peak_score: event.peak.score,
    peak_values: event.peak.values,
    level: event.level,
    points: event.points,
    explanation: event.explanation,
    shadow_run: event.shadowRun ?? null,
  };
}

/** Run one statement per JSON document, all in one transaction. */
async function writeDocuments(
  driver: SqlDriver,
  what: string,
  statement: { name: string; text: string },
  documents: readonly string[],
): Promise<void> {
  if (documents.length === 0) return;
  try {
    await driver.transaction(async (session) => {
      for (const document of documents) {
        await session.query({ ...statement, values: [document] });
      }
    });
  } catch (error) {
    throw storeError('VIGIL_ERR_STORE_WRITE', `storing ${what} failed, nothing was stored`, error);
  }
}

export class SqlEventStore implements EventStore {
  constructor(private readonly driver: SqlDriver) {}

  async upsert(events: readonly StoredEvent[]): Promise<void> {
    const unique = lastPerKey(events, (e) => e.id);
    const documents = slices(unique, JSON_BATCH).map((part, batch) =>
      JSON.stringify(part.map((e, i) => eventDocument(e, batch * JSON_BATCH + i))),
    );
    await writeDocuments(
      this.driver,
      'events',
      {
        name: 'vigil_events_upsert',
        text: `INSERT INTO events (id, device_id, metric, strategy, strategy_version, start_time,
                 end_time, peak_time, peak_score, peak_values, level, points, explanation,
                 shadow_run, updated_at)
               SELECT id, device_id, metric, strategy, strategy_version, ${ts('start_ms')},
                 ${ts('end_ms')}, ${ts('peak_ms')}, peak_score, peak_values, level, points,
                 explanation, shadow_run, now()
               FROM jsonb_to_recordset($1::text::jsonb) AS x(id text, device_id text,
                 metric text, strategy text, strategy_version integer, start_ms float8,
                 end_ms float8, peak_ms float8, peak_score float8, peak_values jsonb,
                 level text, points integer, explanation jsonb, shadow_run integer)
               ON CONFLICT (id) DO UPDATE SET device_id = excluded.device_id,
                 metric = excluded.metric, strategy = excluded.strategy,
                 strategy_version = excluded.strategy_version, start_time = excluded.start_time,
                 end_time = excluded.end_time, peak_time = excluded.peak_time,
                 peak_score = excluded.peak_score, peak_values = excluded.peak_values,
                 level = excluded.level, points = excluded.points,
                 explanation = excluded.explanation, shadow_run = excluded.shadow_run,
                 updated_at = excluded.updated_at`,
      },
      documents,
    );
  }

  async get(id: string): Promise<StoredEvent | undefined> {
    const rows = await read<EventRow>(this.driver, 'reading an event failed', {
      name: 'vigil_event_get',
      text: `SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1`,
      values: [id],
    });
    return rows[0] === undefined ? undefined : eventFromRow(rows[0]);
  }

  async setLabel(
    id: string,
    given: {
      readonly label: EventLabel;
      readonly note?: string | null;
      readonly by?: string | null;
    },
  ): Promise<StoredEvent | undefined> {
    checkName('event id', id);
    const { label, note, by } = checkLabel(id, given);
    return this.#updateLabel('labelling an event failed', {
      name: 'vigil_event_label_set',
      text: `UPDATE events SET label = $2, label_note = $3, labelled_at = now(), labelled_by = $4
             WHERE id = $1 RETURNING ${EVENT_COLUMNS}`,
      values: [id, label, note, by],
    });
  }

  async clearLabel(id: string): Promise<StoredEvent | undefined> {
    checkName('event id', id);
    return this.#updateLabel('removing an event label failed', {
      name: 'vigil_event_label_clear',
      text: `UPDATE events SET label = NULL, label_note = NULL, labelled_at = NULL,
               labelled_by = NULL
             WHERE id = $1 RETURNING ${EVENT_COLUMNS}`,
      values: [id],
    });
  }

  async #updateLabel(
    what: string,
    statement: { name: string; text: string; values: unknown[] },
  ): Promise<StoredEvent | undefined> {
    let rows: EventRow[];
    try {
      rows = (await this.driver.query<EventRow>(statement)).rows;
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', what, error);
    }
    return rows[0] === undefined ? undefined : eventFromRow(rows[0]);
  }

  async labelSummary(): Promise<LabelSummary[]> {
    const rows = await read<{
      strategy: string;
      events: number;
      anomaly: number;
      false_alarm: number;
      unsure: number;
    }>(this.driver, 'summarising labels failed', {
      name: 'vigil_label_summary',
      text: `SELECT strategy, count(*)::int AS events,
               (count(*) FILTER (WHERE label = 'anomaly'))::int AS anomaly,
               (count(*) FILTER (WHERE label = 'false_alarm'))::int AS false_alarm,
               (count(*) FILTER (WHERE label = 'unsure'))::int AS unsure
             FROM events WHERE shadow_run IS NULL GROUP BY strategy ORDER BY strategy`,
    });
    return rows.map((r) => ({
      strategy: r.strategy,
      events: r.events,
      labelled: r.anomaly + r.false_alarm + r.unsure,
      anomaly: r.anomaly,
      falseAlarm: r.false_alarm,
      unsure: r.unsure,
      precision: r.anomaly + r.false_alarm > 0 ? r.anomaly / (r.anomaly + r.false_alarm) : null,
    }));
  }
}

interface StrategyRow {
  name: string;
  version: number;
  yaml: string;
  created_ms: number;
}

const STRATEGY_COLUMNS = `name, version, yaml, ${ms('created_at')} AS created_ms`;

function strategyFromRow(row: StrategyRow): StrategyVersion {
  return { name: row.name, version: row.version, yaml: row.yaml, createdAt: row.created_ms };
}

export class SqlStrategyStore implements StrategyStore {
  constructor(private readonly driver: SqlDriver) {}

  async save(strategy: { name: string; version: number; yaml: string }): Promise<StrategyVersion> {
    const name = checkName('strategy name', strategy.name);
    const version = checkCount('strategy version', strategy.version, MAX_INT);
    if (typeof strategy.yaml !== 'string' || strategy.yaml.includes('\0')) {
      throw invalid(`strategy ${name}@${version}: yaml must be a string without NUL characters`);
    }
    let stored: StrategyVersion | undefined;
    try {
      // The CTE's insert is invisible to the SELECT beside it: one row comes back, the new one
      // or the one already stored.
      const rows = (
        await this.driver.query<StrategyRow>({
          name: 'vigil_strategy_save',
          text: `WITH added AS (
                   INSERT INTO strategies (name, version, yaml) VALUES ($1, $2, $3)
                   ON CONFLICT (name, version) DO NOTHING RETURNING *)
                 SELECT ${STRATEGY_COLUMNS} FROM added
                 UNION ALL
                 SELECT ${STRATEGY_COLUMNS} FROM strategies WHERE name = $1 AND version = $2`,
          values: [name, version, strategy.yaml],
        })
      ).rows;
      // None when a concurrent save committed the version after this statement's snapshot.
      stored = rows[0] === undefined ? await this.get(name, version) : strategyFromRow(rows[0]);
    } catch (error) {
      throw storeError(
        'VIGIL_ERR_STORE_WRITE',
        `storing strategy ${name}@${version} failed`,
        error,
      );
    }
    if (stored === undefined || stored.yaml !== strategy.yaml) {
      throw new VigilError(
        'VIGIL_ERR_STORE_CONFLICT',
        `strategy ${name}@${version} is already stored with different YAML; ` +
          'versions are immutable: bump `version` to save a change',
      );
    }
    return stored;
  }

  async list(): Promise<Omit<StrategyVersion, 'yaml'>[]> {
    const rows = await read<Omit<StrategyRow, 'yaml'>>(this.driver, 'listing strategies failed', {
      name: 'vigil_strategy_list',
      text: `SELECT name, version, ${ms('created_at')} AS created_ms FROM strategies
             ORDER BY name, version`,
    });
    return rows.map((r) => ({ name: r.name, version: r.version, createdAt: r.created_ms }));
  }

  async latest(name: string): Promise<StrategyVersion | undefined> {
    const rows = await read<StrategyRow>(this.driver, 'reading a strategy failed', {
      name: 'vigil_strategy_latest',
      text: `SELECT ${STRATEGY_COLUMNS} FROM strategies WHERE name = $1
             ORDER BY version DESC LIMIT 1`,
      values: [name],
    });
    return rows[0] === undefined ? undefined : strategyFromRow(rows[0]);
  }

  async get(name: string, version: number): Promise<StrategyVersion | undefined> {
    const rows = await read<StrategyRow>(this.driver, 'reading a strategy failed', {
      name: 'vigil_strategy_get',
      text: `SELECT ${STRATEGY_COLUMNS} FROM strategies WHERE name = $1 AND version = $2`,
      values: [name, version],
    });
    return rows[0] === undefined ? undefined : strategyFromRow(rows[0]);
  }
}

/** Bytes of base64 state per JSON document of checkpoints (one statement each). */
const CHECKPOINT_DOCUMENT_BYTES = 256 << 10;

export class SqlCheckpointStore implements CheckpointStore {
  constructor(private readonly driver: SqlDriver) {}

  async put(checkpoints: readonly Checkpoint[]): Promise<void> {
    const now = Date.now();
    await this.putEncoded(
      lastPerKey(checkpoints, (c) => c.key).map((c) => {
        checkName('checkpoint key', c.key);
        if (typeof c.snapshot !== 'object' || c.snapshot === null) {
          throw invalid(`checkpoint ${c.key}: snapshot must be an object`);
        }
        return {
          key: c.key,
          state: encodeState(c.snapshot),
          eventTime: c.eventTime,
          wallTime: c.wallTime ?? now,
        };
      }),
    );
  }

  async putEncoded(checkpoints: readonly EncodedCheckpoint[]): Promise<void> {
    // States travel base64 in the JSON document (decode() on the server): one statement for
    // many rows, identical on PGlite and PostgreSQL.
    const documents: string[] = [];
    let part: string[] = [];
    let bytes = 0;
    for (const c of lastPerKey(checkpoints, (cp) => cp.key)) {
      checkName('checkpoint key', c.key);
      const state = Buffer.from(c.state.buffer, c.state.byteOffset, c.state.byteLength);
      const row = JSON.stringify({
        key: c.key,
        state: state.toString('base64'),
        head: headText(c.state),
        event_ms: checkTime(`checkpoint ${c.key}: eventTime`, c.eventTime),
        wall_ms: checkTime(`checkpoint ${c.key}: wallTime`, c.wallTime),
      });
      part.push(row);
      bytes += row.length;
      if (bytes >= CHECKPOINT_DOCUMENT_BYTES || part.length >= JSON_BATCH) {
        documents.push(`[${part.join(',')}]`);
        part = [];
        bytes = 0;
      }
    }
    if (part.length > 0) documents.push(`[${part.join(',')}]`);
    await writeDocuments(
      this.driver,
      'checkpoints',
      {
        name: 'vigil_checkpoints_put_state',
        text: `INSERT INTO checkpoints (series_key, snapshot, state, head, event_time, wall_time)
               SELECT key, NULL, decode(state, 'base64'), head, ${ts('event_ms')}, ${ts('wall_ms')}
               FROM jsonb_to_recordset($1::text::jsonb)
                 AS x(key text, state text, head text, event_ms float8, wall_ms float8)
               ON CONFLICT (series_key) DO UPDATE SET snapshot = NULL, state = excluded.state,
                 head = excluded.head, event_time = excluded.event_time,
                 wall_time = excluded.wall_time`,
      },
      documents,
    );
  }

  async deletePrefix(prefix: string): Promise<number> {
    checkName('checkpoint key prefix', prefix);
    try {
      const result = await this.driver.query<{ series_key: string }>({
        name: 'vigil_checkpoints_delete_prefix',
        // left() rather than LIKE: a key may hold `%` or `_`.
        text: `DELETE FROM checkpoints WHERE left(series_key, length($1)) = $1
               RETURNING series_key`,
        values: [prefix],
      });
      return result.rows.length;
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', `deleting checkpoints ${prefix}* failed`, error);
    }
  }

  async getAll(): Promise<Required<Checkpoint>[]> {
    return this.select('vigil_checkpoints_all_states', '', []);
  }

  async get(keys: readonly string[]): Promise<Required<Checkpoint>[]> {
    if (keys.length === 0) return [];
    return this.select(
      'vigil_checkpoints_get_states',
      'WHERE series_key IN (SELECT jsonb_array_elements_text($1::text::jsonb))',
      [JSON.stringify(keys)],
    );
  }

  async getEncoded(keys: readonly string[]): Promise<EncodedCheckpoint[]> {
    if (keys.length === 0) return [];
    // = ANY of an array: one index probe per key (the IN over a JSON document was planned as
    // a scan of the table, which a revive of every series after a restart repeated per batch).
    const rows = await this.rows(
      'vigil_checkpoints_get_encoded',
      'WHERE series_key = ANY($1::text[])',
      [keys],
    );
    return rows.map((r) => ({
      key: r.series_key,
      // A row written as JSON (before the binary form) is encoded here; binary ones as read.
      state:
        r.state !== null
          ? Buffer.from(r.state, 'base64')
          : encodeState(r.snapshot as PipelineSnapshot),
      eventTime: r.event_ms,
      wallTime: r.wall_ms,
    }));
  }

  async getForStart(): Promise<{ heads: CheckpointHead[]; whole: Required<Checkpoint>[] }> {
    const rows = await read<{
      series_key: string;
      head: string | null;
      snapshot: PipelineSnapshot | null;
      state: string | null;
      event_ms: number;
      wall_ms: number;
    }>(this.driver, 'reading checkpoints failed', {
      name: 'vigil_checkpoints_for_start',
      // Heads from their own column (migration 012); the state only for a row without one
      // (older formats, rows written before 014, device groups, shadow candidates).
      // A head counts only beside a binary state (a JSON snapshot written over it is whole).
      text: `SELECT series_key, head, CASE WHEN head IS NULL THEN snapshot END AS snapshot,
               CASE WHEN head IS NULL THEN encode(state, 'base64') END AS state, event_ms, wall_ms
             FROM (SELECT series_key, snapshot, state,
                     CASE WHEN state IS NULL THEN NULL ELSE head END AS head,
                     ${ms('event_time')} AS event_ms, ${ms('wall_time')} AS wall_ms
                   FROM checkpoints) c
             ORDER BY series_key`,
      values: [],
    });
    const heads: CheckpointHead[] = [];
    const whole: Required<Checkpoint>[] = [];
    for (const r of rows) {
      if (r.head !== null) {
        heads.push({
          key: r.series_key,
          head: parseHead(r.head, r.series_key),
          eventTime: r.event_ms,
        });
      } else {
        whole.push(this.row(r));
      }
    }
    return { heads, whole };
  }

  private row(r: CheckpointRow): Required<Checkpoint> {
    return {
      key: r.series_key,
      // A row has its state in binary, or (written before that form) as JSON.
      snapshot:
        r.state !== null
          ? decodeState(Buffer.from(r.state, 'base64'), r.series_key)
          : (r.snapshot as PipelineSnapshot),
      eventTime: r.event_ms,
      wallTime: r.wall_ms,
    };
  }

  private async select(
    name: string,
    where: string,
    values: unknown[],
  ): Promise<Required<Checkpoint>[]> {
    return (await this.rows(name, where, values)).map((r) => this.row(r));
  }

  private async rows(name: string, where: string, values: unknown[]): Promise<CheckpointRow[]> {
    return read<CheckpointRow>(this.driver, 'reading checkpoints failed', {
      name,
      // base64 text, decoded natively: both drivers' bytea parsers are far slower on MBs.
      text: `SELECT series_key, snapshot, encode(state, 'base64') AS state,
               ${ms('event_time')} AS event_ms,
               ${ms('wall_time')} AS wall_ms
             FROM checkpoints ${where} ORDER BY series_key`,
      values,
    });
  }
}

/** A checkpoint row as read: the state in base64, or (written before that form) JSON. */
interface CheckpointRow {
  series_key: string;
  snapshot: PipelineSnapshot | null;
  state: string | null;
  event_ms: number;
  wall_ms: number;
}
