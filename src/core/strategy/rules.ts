/**
 * Trigger rules: which series a strategy applies to. A rule matches a series when every field it
 * sets matches; a strategy applies when any of its rules match, or to every series when it has no
 * rules. Patterns are globs (`*` any run of characters, `?` one character) or, written between
 * slashes, regular expressions (`/^temp-\d+$/`, optional trailing `i`).
 */

/** One matcher as written in a strategy (already validated). */
export interface TriggerRule {
  readonly device?: string | undefined;
  readonly metric?: string | undefined;
  /** Every listed tag must be present with a value matching the pattern. */
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

/** What a rule is tested against. */
export interface SeriesIdentity {
  readonly device: string;
  readonly metric: string;
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

const REGEX_LITERAL = /^\/(.*)\/(i?)$/s;

/** Compile one pattern; throws a SyntaxError for a malformed regular expression. */
export function compilePattern(pattern: string): RegExp {
  const literal = REGEX_LITERAL.exec(pattern);
  if (literal) return new RegExp(literal[1] ?? '', literal[2]);
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** Why a pattern cannot be compiled, or undefined when it is fine (for the schema). */
export function patternProblem(pattern: string): string | undefined {
  try {
    compilePattern(pattern);
    return undefined;
  } catch (err) {
    // V8 says "Invalid regular expression: /…/: Unterminated group": keep the reason only.
    const message = err instanceof Error ? err.message : String(err);
    return message.slice(message.lastIndexOf(': ') + 2);
  }
}

type Test = (series: SeriesIdentity) => boolean;

function compileRule(rule: TriggerRule): Test {
  const device = rule.device === undefined ? undefined : compilePattern(rule.device);
  const metric = rule.metric === undefined ? undefined : compilePattern(rule.metric);
  const tags = Object.entries(rule.tags ?? {}).map(
    ([name, pattern]) => [name, compilePattern(pattern)] as const,
  );
  return (series) => {
    if (device && !device.test(series.device)) return false;
    if (metric && !metric.test(series.metric)) return false;
    for (const [name, pattern] of tags) {
      const value = series.tags?.[name];
      if (value === undefined || !pattern.test(value)) return false;
    }
    return true;
  };
}

/** Compile a strategy's rules once; the returned test is cheap enough to run per new series. */
export function compileTriggerRules(rules: readonly TriggerRule[] | undefined): Test {
  if (rules === undefined) return () => true;
  const tests = rules.map(compileRule);
  return (series) => tests.some((test) => test(series));
}
