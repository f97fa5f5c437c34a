/**
 * MQTT topic filters with named wildcards: `plants/+plant/devices/+device/telemetry`. `+name`
 * matches one level and captures it under `name`; `#name` (last level only) matches the rest.
 * A bare `+` or `#` matches without capturing. The capture `device` is the device id; the other
 * captures become tags. The broker is subscribed to the plain filter
 * (`plants/+/devices/+/telemetry`).
 *
 * A shared subscription, `$share/<group>/<pattern>`, is subscribed as written (the broker hands
 * each message to one subscriber of the group: several Vigil processes split the stream) and
 * matched without its prefix: messages arrive with their own topic.
 */
import { VigilError } from '../../errors.js';

export interface TopicPattern {
  /** As configured. */
  readonly source: string;
  /** The MQTT subscription filter. */
  readonly filter: string;
  readonly names: readonly string[];
  /** Captures by name, or undefined when the topic does not match. */
  match(topic: string): Record<string, string> | undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

type Level =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'one'; readonly name: string | undefined }
  | { readonly kind: 'rest'; readonly name: string | undefined };

/** Compile a pattern; throws VIGIL_ERR_CONFIG saying what is wrong (the caller names the key). */
export function compileTopicPattern(source: string): TopicPattern {
  if (source === '') throw new VigilError('VIGIL_ERR_CONFIG', 'empty topic pattern');
  let parts = source.split('/');
  let share = '';
  if (parts[0] === '$share') {
    const group = parts[1] ?? '';
    if (group === '' || /[+#]/.test(group) || parts.length < 3) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG',
        '$share/<group>/<pattern>: the group is a plain name and a pattern follows it',
      );
    }
    share = `$share/${group}/`;
    parts = parts.slice(2);
  }
  const levels: Level[] = [];
  const names: string[] = [];
  parts.forEach((part, i) => {
    const wildcard = part[0];
    if (wildcard === '+' || wildcard === '#') {
      const name = part.slice(1);
      if (name !== '' && !NAME.test(name)) {
        throw new VigilError(
          'VIGIL_ERR_CONFIG',
          `level ${i + 1} "${part}": a wildcard name is letters, digits, _ or -`,
        );
      }
      if (wildcard === '#' && i !== parts.length - 1) {
        throw new VigilError(
          'VIGIL_ERR_CONFIG',
          `level ${i + 1} "${part}": # must be the last level`,
        );
      }
      if (name !== '') {
        if (names.includes(name))
          throw new VigilError('VIGIL_ERR_CONFIG', `wildcard name "${name}" used twice`);
        names.push(name);
      }
      levels.push({ kind: wildcard === '+' ? 'one' : 'rest', name: name || undefined });
      return;
    }
    if (part.includes('+') || part.includes('#')) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG',
        `level ${i + 1} "${part}": + and # must fill a whole level`,
      );
    }
    levels.push({ kind: 'literal', text: part });
  });
  const filter =
    share +
    levels.map((l) => (l.kind === 'literal' ? l.text : l.kind === 'one' ? '+' : '#')).join('/');

  return {
    source,
    filter,
    names,
    match(topic: string) {
      const got = topic.split('/');
      const captures: Record<string, string> = {};
      for (let i = 0; i < levels.length; i++) {
        const level = levels[i]!;
        if (level.kind === 'rest') {
          // MQTT: `a/#` also matches `a` itself (the parent level).
          if (level.name !== undefined) captures[level.name] = got.slice(i).join('/');
          return captures;
        }
        const part = got[i];
        if (part === undefined) return undefined;
        if (level.kind === 'literal') {
          if (part !== level.text) return undefined;
        } else if (level.name !== undefined) {
          captures[level.name] = part;
        }
      }
      return got.length === levels.length ? captures : undefined;
    },
  };
}
