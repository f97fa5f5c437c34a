import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_SEED, parseIsoTime } from './schema.js';
import { parseStrategy, StrategyError } from './parse.js';

// Fixtures stay in src/: resolved from the compiled test in dist/core/strategy/.
const FIXTURES = new URL('../../../src/core/strategy/fixtures/', import.meta.url);

function fixtures(kind: 'good' | 'bad'): string[] {
  return readdirSync(new URL(`${kind}/`, FIXTURES))
    .filter((file) => file.endsWith('.yaml'))
    .sort();
}

function read(path: string): string {
  return readFileSync(new URL(path, FIXTURES), 'utf8');
}

describe('good strategy fixtures', () => {
  for (const file of fixtures('good')) {
    it(`${file} parses`, () => {
      const strategy = parseStrategy(read(`good/${file}`), `good/${file}`);
      assert.equal(typeof strategy.name, 'string');
    });
  }

  it("fills defaults from the strategy schema and the kinds' params schemas", () => {
    const strategy = parseStrategy(read('good/minimal.yaml'));
    assert.equal(strategy.seed, DEFAULT_SEED);
    assert.equal(strategy.learn_on_flagged, true);
    assert.equal(strategy.trigger_rules, undefined);
    assert.deepEqual(strategy.detector.params, {
      alpha: 0.01,
      threshold: 3,
      min_std: 1e-6,
      warmup: 30,
    });
  });

  it('validates and fills ensemble members with their own schemas', () => {
    const strategy = parseStrategy(read('good/full.yaml'));
    const params = strategy.detector.params as { members: { params: Record<string, unknown> }[] };
    assert.equal(params.members[0]?.params['alpha'], 0.05);
    assert.equal(params.members[0]?.params['threshold'], 3);
    assert.equal(params.members[1]?.params['window'], 60);
  });
});

describe('vector strategies and training periods', () => {
  it('a vector kind gets its own params validated and defaulted; training is kept', () => {
    const strategy = parseStrategy(read('good/vector.yaml'));
    assert.equal(strategy.detector.kind, 'pca');
    const params = strategy.detector.params as Record<string, unknown>;
    assert.equal(params['explained_variance'], 0.95);
    assert.equal(params['adapt'], 'ewma');
    assert.equal(params['training_points'], 1000);
    assert.equal(params['p_value'], 1e-4);
    assert.deepEqual(strategy.training, { rows: 864, until: '2024-01-04T00:00:00Z' });
  });

  it('training.until takes dates and zoned times only, and no impossible dates', () => {
    assert.equal(parseIsoTime('2024-01-08'), Date.UTC(2024, 0, 8));
    assert.equal(parseIsoTime('2024-01-08T06:30:00Z'), Date.UTC(2024, 0, 8, 6, 30));
    assert.equal(parseIsoTime('2024-01-08T06:30+02:00'), Date.UTC(2024, 0, 8, 4, 30));
    assert.equal(parseIsoTime('2024-01-08T06:30:00.250Z'), Date.UTC(2024, 0, 8, 6, 30, 0, 250));
    for (const bad of ['2024-02-30', '2024-01-08T06:30:00', '2024-1-8', 'yesterday', '']) {
      assert.ok(Number.isNaN(parseIsoTime(bad)), bad);
    }
  });
});

describe('bad strategy fixtures give exactly the expected message', () => {
  for (const file of fixtures('bad')) {
    it(file, () => {
      const expected = read(`bad/${file.replace(/\.yaml$/, '.expected.txt')}`).replace(/\n$/, '');
      assert.throws(
        () => parseStrategy(read(`bad/${file}`), `bad/${file}`),
        (err: unknown) => {
          assert.ok(err instanceof StrategyError);
          assert.equal(err.code, 'VIGIL_ERR_STRATEGY_INVALID');
          assert.equal(err.message, expected);
          assert.deepEqual(err.problems, expected.split('\n'));
          return true;
        },
      );
    });
  }
});
