/**
 * Opaque page cursors of the listing routes: the last key of a page as base64url JSON, tagged
 * with what it lists so a device cursor is not taken for a series one. Keyset, not offset: a page
 * after inserts neither repeats nor skips rows that sort after the key.
 */
import { quoteInput } from '../data/quote.js';
import { VigilError } from '../errors.js';

/** The most rows one page of a listing holds. */
export const PAGE_LIMIT_MAX = 10_000;

/** `d` devices, `s` series, `i` incidents. */
export type CursorKind = 'd' | 's' | 'i';

export function encodeCursor(kind: CursorKind, key: readonly string[]): string {
  return Buffer.from(JSON.stringify([kind, ...key]), 'utf8').toString('base64url');
}

/** The key a cursor carries (`parts` strings after the kind). @throws VIGIL_ERR_INPUT */
export function decodeCursor(kind: CursorKind, cursor: string, parts: number): string[] {
  let parsed: unknown;
  try {
    parsed = /^[A-Za-z0-9_-]+$/.test(cursor)
      ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
      : undefined;
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== parts + 1 ||
    parsed[0] !== kind ||
    !parsed.every((p) => typeof p === 'string' && p.length > 0)
  ) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `cursor: not a cursor this listing gave out: ${quoteInput(cursor)}`,
    );
  }
  return (parsed as string[]).slice(1);
}
