/** Pieces the SQL store's parts share: time conversions, validation, error mapping. */
import { VigilError, type ErrorCode } from '../errors.js';
import { MAX_NAME_LENGTH, MAX_TIME, MIN_TIME } from './copy-text.js';
import type { SqlDriver, SqlStatement } from './sql-driver.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** SQL: a timestamptz column as float8 ms since the epoch (exact for ms-precision times). */
export const ms = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;
/** SQL: float8 ms since the epoch as timestamptz; NULL stays NULL. */
export const ts = (millis: string): string =>
  `(timestamptz 'epoch' + ${millis} * interval '1 millisecond')`;

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE']);

/** A driver error as a coded error; lost connections are reported as such, whatever the call. */
export function storeError(code: ErrorCode, what: string, error: unknown): VigilError {
  if (error instanceof VigilError) return error;
  const sqlState = (error as { code?: unknown } | null)?.code;
  const lost =
    (typeof sqlState === 'string' &&
      (CONNECTION_CODES.has(sqlState) ||
        sqlState.startsWith('08') ||
        sqlState.startsWith('57P'))) ||
    /Connection terminated|PGlite is closed|connection error/i.test(errorMessage(error));
  return new VigilError(
    lost ? 'VIGIL_ERR_STORE_UNAVAILABLE' : code,
    `${what}: ${errorMessage(error)}`,
    { cause: error },
  );
}

export function invalid(message: string): VigilError {
  return new VigilError('VIGIL_ERR_STORE_INVALID', message);
}

export function checkName(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw invalid(`${what} must be a string of 1 to ${MAX_NAME_LENGTH} characters`);
  }
  if (value.includes('\0')) throw invalid(`${what} contains a NUL character`);
  return value;
}

export function checkTime(what: string, value: unknown): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < MIN_TIME ||
    value > MAX_TIME
  ) {
    throw invalid(`${what} must be a time in ms since the epoch, found ${String(value)}`);
  }
  return value;
}

export function checkCount(what: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`${what} must be an integer from 1 to ${max}, found ${String(value)}`);
  }
  return value;
}

export const nullToNaN = (value: number | null): number => (value === null ? NaN : value);

/** Keep the last item per key, in first-seen order: one statement must not touch a row twice. */
export function lastPerKey<T>(items: readonly T[], key: (item: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(key(item), item);
  return [...byKey.values()];
}

export function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Reads with coded errors. */
export async function read<R extends object>(
  driver: SqlDriver,
  what: string,
  statement: SqlStatement,
): Promise<R[]> {
  try {
    return (await driver.query<R>(statement)).rows;
  } catch (error) {
    throw storeError('VIGIL_ERR_STORE_QUERY', what, error);
  }
}
