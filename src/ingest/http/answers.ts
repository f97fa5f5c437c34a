/**
 * The answers of the ingest write routes, described for the OpenAPI document: what each status
 * means on these routes, so clients (Telegraf, Prometheus, libraries) can tell retry from fix.
 */
import { errorSchema } from '../../http-api/error-schema.js';

/** An error answer `{code, message}` with what the status means on this route. */
export function described(
  description: string,
): Omit<typeof errorSchema, 'description'> & { description: string } {
  return { ...errorSchema, description };
}

/** No body: every point or line was accepted (durable). */
export const noContent = (description: string) => ({ type: 'null', description }) as const;

/** Answers every ingest route shares: authentication, shutdown and internal errors. */
export const commonIngestAnswers = {
  401: described(
    '`VIGIL_ERR_UNAUTHENTICATED`: API tokens are configured and the request has none, or an unknown one (docs/security.md)',
  ),
  403: described(
    "`VIGIL_ERR_FORBIDDEN`: the token lacks the `ingest` scope; `VIGIL_ERR_CROSS_SITE`: sent by another site's page",
  ),
  413: described(
    '`VIGIL_ERR_PAYLOAD_TOO_LARGE`: the body (after decompression) or its count of points is over the limit the message names: split the batch',
  ),
  500: described('`VIGIL_ERR_INTERNAL`: an unexpected server error; the log has the details'),
} as const;
