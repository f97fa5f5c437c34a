/**
 * Request bodies sent with `Content-Encoding: gzip` or `deflate` (zlib, RFC 9110), inflated with
 * the body limit applied to the *decompressed* bytes: a few kilobytes that inflate to gigabytes
 * (a gzip bomb) stop at the limit, 413, without holding more than the limit in memory. Shared by
 * the JSON and the Influx ingest routes.
 */
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { quoteInput } from '../../data/quote.js';
import { VigilError } from '../../errors.js';

const inflaters = { gzip: promisify(gunzip), deflate: promisify(inflate) } as const;

/** Content-Encoding values a body may carry (`identity`, or none, is the bytes as they are). */
export const BODY_ENCODINGS = ['gzip', 'deflate', 'identity'] as const;

/** The `Content-Encoding` header, lower case and trimmed; `identity` when absent or empty. */
export function contentEncoding(header: string | string[] | undefined): string {
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim().toLowerCase();
  return value === '' ? 'identity' : value;
}

/**
 * The body's bytes with its Content-Encoding undone.
 * @throws VigilError 415 for another encoding (or a chain of them), 413 when the inflated body
 *   is larger than `limit` bytes, 400 when the bytes are not of the encoding named.
 */
export async function decodeBody(
  body: Buffer,
  header: string | string[] | undefined,
  limit: number,
): Promise<Buffer> {
  const encoding = contentEncoding(header);
  if (encoding === 'identity') return body;
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new VigilError(
      'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding ${quoteInput(encoding)}: send gzip, deflate or no encoding`,
    );
  }
  try {
    return await inflaters[encoding](body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new VigilError(
        'VIGIL_ERR_PAYLOAD_TOO_LARGE',
        `decompressed body larger than the limit of ${limit} bytes (Content-Encoding ${encoding}): split the batch`,
      );
    }
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `Content-Encoding ${encoding}: body is not ${encoding} data (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}
