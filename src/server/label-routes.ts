/**
 * Feedback labels over HTTP (docs/labels.md): label an event, remove the label, per-strategy
 * precision, and the labels as NAB windows. Events in `GET /v1/events` carry their label
 * (`eventJson` in http.ts).
 */
import type { FastifyInstance } from 'fastify';
import { VigilError } from '../errors.js';
import { labelledEvents, nabLabelsFromEvents } from '../labels/nab-export.js';
import { EVENT_LABELS, type EventLabel, type Store, type StoredEvent } from '../store/store.js';
import { parseDuration } from './query-params.js';
import { errorResponses } from '../http-api/error-schema.js';
import { JSON_BODY } from './write-guard.js';

const idParam = {
  type: 'object',
  properties: { id: { type: 'string', description: 'event id' } },
  required: ['id'],
} as const;

const eventAnswer = {
  type: 'object',
  description:
    'the event as in `GET /v1/events`, with `label`, `label_note`, `labelled_at`, `labelled_by`',
  additionalProperties: true,
} as const;

export const MAX_NOTE_LENGTH = 2000;

/** Check a `PUT /v1/events/:id/label` body; errors name the field. */
export function parseLabelBody(body: unknown): {
  label: EventLabel;
  note: string | null;
  by: string | null;
} {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      'body: expected a JSON object {"label": …, "note"?: …}',
    );
  }
  const { label, note, by, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `body: unknown field(s) ${unknown.join(', ')}; expected label, note, by`,
    );
  }
  if (typeof label !== 'string' || !EVENT_LABELS.includes(label as EventLabel)) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `label: expected one of ${EVENT_LABELS.map((l) => `"${l}"`).join(', ')}, found ${JSON.stringify(label) ?? 'nothing'}`,
    );
  }
  if (
    note !== undefined &&
    note !== null &&
    (typeof note !== 'string' || note.length > MAX_NOTE_LENGTH)
  ) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `note: expected a string of at most ${MAX_NOTE_LENGTH} characters`,
    );
  }
  if (
    by !== undefined &&
    by !== null &&
    (typeof by !== 'string' || by.length === 0 || by.length > 200)
  ) {
    throw new VigilError('VIGIL_ERR_INPUT', 'by: expected a string of 1 to 200 characters');
  }
  return {
    label: label as EventLabel,
    note: (note as string | null | undefined) ?? null,
    by: (by as string | null | undefined) ?? null,
  };
}

/** The `label=` filter of `GET /v1/events`. */
export function parseLabelFilter(text: string): EventLabel | 'none' | 'any' {
  if (text === 'none' || text === 'any' || EVENT_LABELS.includes(text as EventLabel)) {
    return text as EventLabel | 'none' | 'any';
  }
  throw new VigilError(
    'VIGIL_ERR_INPUT',
    `label: expected ${EVENT_LABELS.join(', ')}, none or any, found ${JSON.stringify(text)}`,
  );
}

function notFound(id: string): VigilError {
  return new VigilError('VIGIL_ERR_NOT_FOUND', `no event with id ${JSON.stringify(id)}`);
}

export function registerLabelRoutes(
  app: FastifyInstance,
  store: Store,
  eventJson: (e: StoredEvent) => object,
): void {
  app.put(
    '/v1/events/:id/label',
    {
      config: { bodyTypes: JSON_BODY },
      schema: {
        summary: 'Label an event: a real anomaly, a false alarm, or unsure',
        description:
          'Body `{"label": "anomaly" | "false_alarm" | "unsure", "note"?: string (≤ 2000), "by"?: string}`. ' +
          'Replaces any label the event had. Answers the labelled event; 404 when no event has the id.',
        tags: ['labels'],
        params: idParam,
        body: {
          type: 'object',
          properties: {
            label: { type: 'string', enum: [...EVENT_LABELS] },
            note: { type: 'string', maxLength: MAX_NOTE_LENGTH },
            by: { type: 'string', description: 'who labelled it' },
          },
          required: ['label'],
        },
        response: { 200: eventAnswer, ...errorResponses(400, 404, 500) },
      },
      // The body schema documents the shape; parseLabelBody checks it with field-named errors.
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const label = parseLabelBody(request.body);
      const event = await store.events.setLabel(id, label);
      if (event === undefined) throw notFound(id);
      return eventJson(event);
    },
  );

  app.delete(
    '/v1/events/:id/label',
    {
      config: { bodyTypes: JSON_BODY },
      schema: {
        summary: 'Remove the label of an event',
        tags: ['labels'],
        params: idParam,
        response: { 200: eventAnswer, ...errorResponses(404, 500) },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const event = await store.events.clearLabel(id);
      if (event === undefined) throw notFound(id);
      return eventJson(event);
    },
  );

  app.get(
    '/v1/labels/summary',
    {
      schema: {
        summary: 'Per strategy: events, labels given and the precision they give',
        description:
          '`{strategies: [{strategy, events, labelled, anomaly, false_alarm, unsure, precision}]}`; ' +
          'precision = anomaly / (anomaly + false_alarm), null without such labels.',
        tags: ['labels'],
        response: {
          200: {
            type: 'object',
            description: 'per strategy: events, labelled counts and precision',
            additionalProperties: true,
          },
          ...errorResponses(500),
        },
      },
    },
    async () => ({
      strategies: (await store.events.labelSummary()).map((s) => ({
        strategy: s.strategy,
        events: s.events,
        labelled: s.labelled,
        anomaly: s.anomaly,
        false_alarm: s.falseAlarm,
        unsure: s.unsure,
        precision: s.precision,
      })),
    }),
  );

  app.get(
    '/v1/labels/export',
    {
      schema: {
        summary: 'Labels as NAB windows (combined_windows.json)',
        description:
          'For each series with a labelled event, `"<device>/<metric>.csv": [[start, end], …]`: ' +
          'each event labelled anomaly is a window from its first to its last flagged point, ' +
          'widened by `pad` on both sides; overlapping windows merge (docs/labels.md).',
        tags: ['labels'],
        querystring: {
          type: 'object',
          properties: {
            format: { type: 'string', enum: ['nab'], description: 'only nab (the default)' },
            pad: { type: 'string', description: 'widen each window by this much: ms, 30s, 5m, 1h' },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            description: 'the labelled events in the format asked for',
            additionalProperties: true,
          },
          ...errorResponses(400, 500),
        },
      },
    },
    async (request) => {
      const q = request.query as { format?: string; pad?: string };
      const padMs = q.pad === undefined || q.pad === '0' ? 0 : parseDuration('pad', q.pad);
      return nabLabelsFromEvents(await labelledEvents(store), padMs).windows;
    },
  );
}
