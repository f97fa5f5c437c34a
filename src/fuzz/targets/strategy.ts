/**
 * Strategy YAML: the built-in strategies and the parser's good and bad fixtures, mutated in their
 * structure (a value replaced by an odd scalar, a key deleted or duplicated, deep nesting, anchors
 * and aliases, tags) and in their bytes. Invariants: an accepted strategy compiles, and reads back
 * the same from JSON, the form the API serves and takes it in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import {
  compileDeviceStrategy,
  compileStrategy,
  isVectorStrategy,
} from '../../core/strategy/compile.js';
import { parseStrategy, validateStrategy } from '../../core/strategy/parse.js';
import { finish } from '../mutate.js';
import { chance, numberText, oddString, pick, type Rng } from '../random.js';
import type { Outcome, Target } from '../target.js';

/** The repository root: three levels up from src/fuzz/targets and from dist/fuzz/targets. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

let seeds: string[] | undefined;
function seedTexts(): string[] {
  seeds ??= [
    ...yamlFiles(path.join(ROOT, 'strategies')),
    ...yamlFiles(path.join(ROOT, 'src', 'core', 'strategy', 'fixtures', 'good')),
    ...yamlFiles(path.join(ROOT, 'src', 'core', 'strategy', 'fixtures', 'bad')),
  ];
  return seeds;
}

const ODD_SCALARS = [
  '~',
  'null',
  '.inf',
  '-.inf',
  '.nan',
  '0x10',
  '0o17',
  '1_000',
  '1e400',
  '-0',
  'yes',
  'no',
  'on',
  '2001-12-14t21:59:43.10-05:00',
  '!!binary aGVsbG8=',
  '!!str 1',
  '!!float 1',
  '!custom x',
  '*undefined_alias',
  '[]',
  '{}',
  '|\n  block',
  '"\\ud800"',
  '"\\0"',
  '"\\U0010FFFF"',
];

function oddScalar(rng: Rng): string {
  const r = rng.next();
  if (r < 0.35) return numberText(rng);
  if (r < 0.65) return pick(rng, ODD_SCALARS);
  return JSON.stringify(oddString(rng));
}

/** Every node of a parsed document, to pick one to change. */
function nodes(root: Node | null): Node[] {
  const all: Node[] = [];
  const walk = (node: unknown): void => {
    if (isMap(node) || isSeq(node)) {
      all.push(node);
      for (const item of node.items) {
        if (isMap(node)) {
          const pair = item as { key: unknown; value: unknown };
          walk(pair.value);
        } else walk(item);
      }
    } else if (isScalar(node)) all.push(node);
  };
  walk(root);
  return all;
}

/** The YAML of a seed with one structural change. */
function structural(rng: Rng, text: string): string {
  try {
    return change(rng, text);
  } catch {
    // The yaml library refuses to write some changed trees (an alias to nothing): change the text.
    return `${text}\nextra: ${oddScalar(rng)}\n`;
  }
}

/** Parsed seeds, cloned for each change (parsing each time cost more than the case itself). */
const parsedSeeds = new Map<string, Document.Parsed>();

function change(rng: Rng, text: string): string {
  // Only the seeds are cached: a changed text is parsed once and dropped.
  let original = parsedSeeds.get(text);
  if (original === undefined) {
    original = parseDocument(text);
    if (seedTexts().includes(text)) parsedSeeds.set(text, original);
  }
  const doc = original.clone();
  const all = nodes(doc.contents);
  const target = all.length > 0 ? pick(rng, all) : undefined;
  switch (rng.int(6)) {
    case 0:
      if (isScalar(target)) target.value = doc.createNode(oddScalar(rng)).value;
      break;
    case 1:
      if (isMap(target) && target.items.length > 0)
        target.items.splice(rng.int(target.items.length), 1);
      break;
    case 2: {
      const depth = chance(rng, 0.95) ? 1 + rng.int(70) : 500 + rng.int(3000);
      return `${text}\nnested: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
    }
    case 3: {
      // Aliases, a chain that doubles at each step ("billion laughs"), and a self reference.
      const n = 2 + rng.int(12);
      const lines = ['a0: &a0 [x, x]'];
      for (let i = 1; i < n; i++) lines.push(`a${i}: &a${i} [*a${i - 1}, *a${i - 1}]`);
      return pick(rng, [
        `${text}\n${lines.join('\n')}\n`,
        `${text}\nself: &s [*s]\n`,
        `&r ${text}`,
      ]);
    }
    case 4: {
      // A key twice, a key of another type, or an odd scalar appended at the top level.
      const line = text.split('\n').find((l) => /^\w+:/.test(l)) ?? 'name: x';
      return pick(rng, [
        `${text}\n${line}\n`,
        `${text}\n? [a, b]\n: 1\n`,
        `${text}\nextra: ${oddScalar(rng)}\n`,
      ]);
    }
    default:
      if (isMap(target))
        target.set(
          pick(rng, ['params', 'kind', 'window', 'weight', oddString(rng)]),
          doc.createNode(oddScalar(rng)),
        );
  }
  // A seed that does not parse cleanly cannot be re-stringified: keep its text.
  return doc.errors.length > 0 ? text : doc.toString();
}

function compiles(strategy: ReturnType<typeof parseStrategy>): void {
  if (isVectorStrategy(strategy)) compileDeviceStrategy(strategy, ['a', 'b'])('device');
  else compileStrategy(strategy);
}

export const strategyYaml: Target = {
  name: 'strategy-yaml',
  parser: 'src/core/strategy/parse.ts',
  generate(rng: Rng): Buffer {
    return finish(rng, () => {
      const seed = pick(rng, seedTexts());
      const r = rng.next();
      return Buffer.from(
        r < 0.15 ? seed : r < 0.6 ? structural(rng, seed) : structural(rng, structural(rng, seed)),
      );
    });
  },
  run(input: Buffer): Outcome {
    const strategy = parseStrategy(input.toString('utf8'), 'fuzz.yaml');
    let broken: string | undefined;
    const json = JSON.stringify(strategy);
    try {
      const back = validateStrategy(JSON.parse(json) as unknown);
      if (!isDeepStrictEqual(back, strategy))
        broken = `changes through JSON: ${json.slice(0, 300)}`;
    } catch (error) {
      broken = `does not read back from its JSON: ${String(error).slice(0, 300)}`;
    }
    compiles(strategy);
    return { points: [], refused: 0, accepted: 1, ...(broken === undefined ? {} : { broken }) };
  },
};
