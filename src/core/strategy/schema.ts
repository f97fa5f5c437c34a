import { z } from 'zod';
import { eventParamsSchema } from '../events/params.js';
import {
  COMPLETE,
  describeValue,
  didYouMean,
  expandUnknownKeys,
  unknownKey,
  type RawIssue,
} from './issues.js';
import { detectorKinds, thresholdKinds, type KindCatalogue } from './kinds.js';
import { patternProblem } from './rules.js';

/**
 * The strategy document: one schema that validates what users write (snake_case YAML) and is
 * the TypeScript type the rest of Vigil uses. Detector and threshold parameters are validated by
 * the chosen kind's own `paramsSchema` (recursively for ensemble members), so a bad parameter is
 * reported at its full path and the parsed strategy carries every default filled in. The
 * detector may be a vector kind (`hotelling`, `pca`): the strategy then scores each device's
 * metrics together (`compileDeviceStrategy`); ensemble members are always univariate.
 *
 * Messages are phrased "expected …" so `formatIssue` can append what was found.
 */

/** Seed used when a strategy does not set one: fixed, so replays repeat without configuration. */
export const DEFAULT_SEED = 0x5eed;

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MODEL_SCHEMES = new Set(['file:', 'http:', 'https:', 's3:']);

const expected = (what: string) => ({ error: `expected ${what}` });

const slug = expected('a slug such as "my-strategy" (lowercase letters, digits, single hyphens)');
const positiveInt = expected('a positive integer');
const uint32 = expected('an integer from 0 to 4294967295');
const nonEmpty = (what: string) => z.string(expected(what)).min(1, expected(what));

function isModelUri(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  if (!MODEL_SCHEMES.has(url.protocol)) return false;
  return url.protocol === 'file:' ? url.pathname.length > 1 : url.host.length > 0;
}

const pattern = nonEmpty('a glob or /regex/').superRefine((text, ctx) => {
  const problem = patternProblem(text);
  if (problem)
    ctx.addIssue({ code: 'custom', message: `expected a glob or a valid /regex/ (${problem})` });
});

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const isoTime = expected(
  'an ISO 8601 date, or a time with its zone, such as 2024-01-08 or 2024-01-08T06:00:00Z',
);

/**
 * Event time in ms of an ISO 8601 date (midnight UTC) or time with an explicit zone, or NaN. A
 * time without a zone is refused: it would mean local time, and replays must not depend on the
 * machine's time zone.
 */
export function parseIsoTime(text: string): number {
  const m = ISO_TIME.exec(text);
  if (!m) return Number.NaN;
  const [, y, mo, d] = m.map(Number) as [number, number, number, number];
  // Date.parse rolls impossible dates over (Feb 30 → Mar 1); refuse them instead.
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return Number.NaN;
  return Date.parse(text);
}

/**
 * The training period: points learned as normal and never flagged, per series (univariate) or per
 * device (vector strategies). With both keys, training lasts until both are passed.
 */
const training = z
  .strictObject(
    {
      /** The first N points of each series or device. */
      rows: z.int(positiveInt).positive(positiveInt).optional(),
      /** Points with an event time before this. */
      until: z
        .string(isoTime)
        .refine((text) => Number.isFinite(parseIsoTime(text)), isoTime)
        .optional(),
    },
    expected('a mapping with rows and/or until'),
  )
  .refine((t) => t.rows !== undefined || t.until !== undefined, expected('rows and/or until'));

const triggerRule = z.strictObject(
  {
    device: pattern.optional(),
    metric: pattern.optional(),
    tags: z.record(z.string(), pattern, expected('a mapping of tag name to pattern')).optional(),
  },
  expected('a mapping with device, metric and/or tags'),
);

/** A detector or threshold choice as parsed: `params` is the kind's own validated params. */
export interface ComponentSpec {
  readonly kind: string;
  readonly params: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validate `raw` params for `kind`, appending issues (paths relative to the component) to
 * `issues`; returns the parsed params. Composite kinds (the ensemble) also get each member's
 * params validated by the member's own schema, and the parsed result carries those.
 */
function validateParams(
  catalogue: KindCatalogue,
  kind: string,
  raw: unknown,
  at: readonly PropertyKey[],
  issues: RawIssue[],
): unknown {
  const schema = catalogue.paramsSchema(kind);
  if (!schema) {
    const kinds = catalogue.kinds();
    const message =
      `expected one of the ${catalogue.noun} kinds ${kinds.join(', ')}, ` +
      `found ${describeValue(kind)}${didYouMean(kind, kinds)}`;
    const path = [...at.slice(0, -1), 'kind'];
    issues.push({ code: 'custom', path, message, params: COMPLETE, input: kind });
    return undefined;
  }
  const params = raw ?? {};
  const result = schema.safeParse(params);
  const own = result.success ? [] : expandUnknownKeys(result.error.issues, schema);
  const relative = (issue: z.core.$ZodIssue): RawIssue => ({
    ...issue,
    path: [...at, ...issue.path],
    input: undefined,
  });
  const members =
    catalogue.composite.has(kind) && isRecord(params) && Array.isArray(params['members'])
      ? (params['members'] as unknown[])
      : undefined;
  if (!members) {
    issues.push(...own.map(relative));
    return result.data;
  }
  const checked = new Set<number>();
  const memberIssues: RawIssue[] = [];
  const memberParams = members.map((member, i) => {
    if (!isRecord(member) || typeof member['kind'] !== 'string') return undefined;
    checked.add(i);
    const path = [...at, 'members', i, 'params'];
    const members = catalogue.members ?? catalogue;
    return validateParams(members, member['kind'], member['params'], path, memberIssues);
  });
  // The composite's schema may check its members too, in its own words: ours replace those.
  issues.push(...own.filter((issue) => !aboutCheckedMember(issue.path, checked)).map(relative));
  issues.push(...memberIssues);
  return withMemberParams(result.data, memberParams);
}

/** Is `path` (relative to a composite's params) about a member's kind or params we checked? */
function aboutCheckedMember(path: readonly PropertyKey[], checked: ReadonlySet<number>): boolean {
  const [field, index, part] = path;
  return (
    field === 'members' &&
    typeof index === 'number' &&
    checked.has(index) &&
    (part === 'params' || part === 'kind')
  );
}

/** The composite's parsed params with each member's params replaced by its parsed form. */
function withMemberParams(data: unknown, memberParams: readonly unknown[]): unknown {
  if (!isRecord(data) || !Array.isArray(data['members'])) return data;
  const members = data['members'].map((member: unknown, i) =>
    isRecord(member) && memberParams[i] !== undefined
      ? { ...member, params: memberParams[i] }
      : member,
  );
  return { ...data, members };
}

const COMPONENT_KEYS = ['kind', 'params'];

/**
 * `{kind, params}` whose params schema depends on `kind`. The object is loose and unknown keys
 * are reported by hand so that a stray key does not hide the params' own problems.
 */
function component(catalogue: KindCatalogue) {
  return z
    .looseObject(
      { kind: nonEmpty(`a ${catalogue.noun} kind`), params: z.unknown().optional() },
      expected(`a mapping with kind and params`),
    )
    .transform((spec, ctx): ComponentSpec => {
      const issues: RawIssue[] = [];
      for (const key of Object.keys(spec)) {
        if (COMPONENT_KEYS.includes(key)) continue;
        const message = unknownKey(key, COMPONENT_KEYS);
        issues.push({ code: 'custom', path: [key], message, params: COMPLETE, input: spec[key] });
      }
      const params = validateParams(catalogue, spec.kind, spec.params, ['params'], issues);
      ctx.issues.push(...issues);
      return issues.length ? z.NEVER : { kind: spec.kind, params };
    });
}

export const strategySchema = z.strictObject(
  {
    name: z.string(slug).regex(SLUG, slug).max(64, expected('at most 64 characters')),
    version: z.int(positiveInt).positive(positiveInt),
    description: nonEmpty('a non-empty description'),
    seed: z.int(uint32).min(0, uint32).max(0xffffffff, uint32).default(DEFAULT_SEED),
    detector: component(detectorKinds),
    threshold: component(thresholdKinds),
    /**
     * Learn points classified alert/severe? On by default: on NAB, holding learning made every
     * single-method strategy worse (a held model keeps alarming on a change that has become
     * normal). Off suits series with short, sharp faults that should not widen the baseline.
     */
    learn_on_flagged: z.boolean(expected('true or false')).default(true),
    /**
     * Bound on that hold: after this many flagged points in a row the detector learns again, so a
     * lasting change (a new level after maintenance) becomes normal instead of alarming forever.
     */
    max_unlearned_points: z.int(positiveInt).positive(positiveInt).default(100),
    training: training.optional(),
    /** How per-point levels become events (docs/events.md); every key has a default. */
    events: eventParamsSchema.prefault({}),
    trigger_rules: z
      .array(triggerRule, expected('a list of rules'))
      .min(1, expected('at least one rule (omit trigger_rules to match every series)'))
      .optional(),
    model_ref: z
      .string(expected('a URI'))
      .refine(isModelUri, expected('a file://, http://, https:// or s3:// URI'))
      .optional(),
  },
  expected('a mapping (a strategy document)'),
);

/** A validated strategy, defaults filled in. */
export type Strategy = z.infer<typeof strategySchema>;
/** A strategy as it may be written (defaults optional). */
export type StrategyInput = z.input<typeof strategySchema>;
