/** Undeliverable alerts (migration 003): insert and list, the same SQL on both backends. */
import { checkName, invalid, ms, read, storeError } from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import type {
  DeadLetter,
  DeadLetterReason,
  DeadLetterStore,
  DeadLettersQuery,
  JsonValue,
} from './store.js';

const REASONS: readonly DeadLetterReason[] = [
  'retries_exhausted',
  'queue_full',
  'rejected',
  'shutdown',
];
const MAX_TEXT = 10_000;
const MAX_LIST = 10_000;

interface DeadLetterRow {
  id: number;
  sink: string;
  delivery_id: string;
  incident_id: string | null;
  reason: DeadLetterReason;
  attempts: number;
  last_error: string | null;
  payload: JsonValue;
  created_ms: number;
}

const COLUMNS = `id::float8 AS id, sink, delivery_id, incident_id, reason, attempts, last_error,
  payload, ${ms('created_at')} AS created_ms`;

function fromRow(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    sink: row.sink,
    deliveryId: row.delivery_id,
    incidentId: row.incident_id,
    reason: row.reason,
    attempts: row.attempts,
    lastError: row.last_error,
    payload: row.payload,
    createdAt: row.created_ms,
  };
}

function text(what: string, value: string | null, max: number): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw invalid(`${what} must be a string or null`);
  // Error messages come from the network: cut, and NUL removed, rather than refused.
  return value.replaceAll('\0', '').slice(0, max);
}

export class SqlDeadLetterStore implements DeadLetterStore {
  constructor(private readonly driver: SqlDriver) {}

  async save(letter: Omit<DeadLetter, 'id' | 'createdAt'>): Promise<DeadLetter> {
    const at = `dead letter ${JSON.stringify(letter.deliveryId)}`;
    checkName(`${at}: sink`, letter.sink);
    checkName(`${at}: deliveryId`, letter.deliveryId);
    if (letter.incidentId !== null) {
      if (typeof letter.incidentId !== 'string' || letter.incidentId.includes('\0')) {
        throw invalid(`${at}: incidentId must be a string without NUL characters, or null`);
      }
    }
    if (!REASONS.includes(letter.reason)) {
      throw invalid(`${at}: reason must be one of ${REASONS.join(', ')}`);
    }
    if (!Number.isInteger(letter.attempts) || letter.attempts < 0) {
      throw invalid(`${at}: attempts must be a non-negative integer`);
    }
    if (letter.payload === undefined) throw invalid(`${at}: payload is missing`);
    try {
      const rows = (
        await this.driver.query<DeadLetterRow>({
          name: 'vigil_dead_letter_save',
          text: `INSERT INTO alert_dead_letters (sink, delivery_id, incident_id, reason, attempts,
                   last_error, payload)
                 VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)
                 RETURNING ${COLUMNS}`,
          values: [
            letter.sink,
            letter.deliveryId,
            text(`${at}: incidentId`, letter.incidentId, MAX_TEXT),
            letter.reason,
            letter.attempts,
            text(`${at}: lastError`, letter.lastError, MAX_TEXT),
            JSON.stringify(letter.payload),
          ],
        })
      ).rows;
      return fromRow(rows[0]!);
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', `storing ${at} failed`, error);
    }
  }

  async list(query: DeadLettersQuery = {}): Promise<DeadLetter[]> {
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
      throw invalid(`dead letters: limit must be an integer from 1 to ${MAX_LIST}`);
    }
    const rows = await read<DeadLetterRow>(this.driver, 'listing dead letters failed', {
      name: 'vigil_dead_letter_list',
      text: `SELECT ${COLUMNS} FROM alert_dead_letters
             WHERE ($1::text IS NULL OR sink = $1) AND ($2::float8 IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3`,
      values: [query.sink ?? null, query.before ?? null, limit],
    });
    return rows.map(fromRow);
  }
}
