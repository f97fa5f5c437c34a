import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/stats/rng.js';
import {
  MAX_METRICS,
  parseCompact,
  parseCompactLine,
  parsePayload,
  type Reading,
} from './payload.js';
import { compileTopicPattern } from './topic-pattern.js';

const b = (text: string) => Buffer.from(text);

describe('topic patterns', () => {
  test('named wildcards capture levels; the filter is plain MQTT', () => {
    const p = compileTopicPattern('plants/+plant/devices/+device/telemetry');
    assert.equal(p.filter, 'plants/+/devices/+/telemetry');
    assert.deepEqual(p.names, ['plant', 'device']);
    assert.deepEqual(p.match('plants/north/devices/pump-7/telemetry'), {
      plant: 'north',
      device: 'pump-7',
    });
    assert.equal(p.match('plants/north/devices/pump-7'), undefined);
    assert.equal(p.match('plants/north/devices/pump-7/telemetry/extra'), undefined);
    assert.equal(p.match('plants/north/sensors/pump-7/telemetry'), undefined);
  });

  test('anonymous + and #, and a named # capturing the rest', () => {
    const p = compileTopicPattern('site/+/+device/#rest');
    assert.equal(p.filter, 'site/+/+/#');
    assert.deepEqual(p.match('site/a/d1/x/y'), { device: 'd1', rest: 'x/y' });
    assert.deepEqual(p.match('site/a/d1'), { device: 'd1', rest: '' });
    assert.deepEqual(compileTopicPattern('a/#').match('a/b/c'), {});
  });

  test('a shared subscription: subscribed with $share/<group>/, matched on the topic itself', () => {
    const p = compileTopicPattern('$share/vigil/plants/+plant/devices/+device/telemetry');
    assert.equal(p.filter, '$share/vigil/plants/+/devices/+/telemetry');
    assert.deepEqual(p.match('plants/north/devices/pump-7/telemetry'), {
      plant: 'north',
      device: 'pump-7',
    });
    assert.equal(p.match('$share/vigil/plants/north/devices/pump-7/telemetry'), undefined);
  });

  for (const [pattern, why] of [
    ['', /empty/],
    ['$share/vigil', /the group is a plain name/],
    ['$share/+/a/+device', /the group is a plain name/],
    ['a/#/b', /# must be the last level/],
    ['a/b+c', /must fill a whole level/],
    ['a/+d e', /wildcard name/],
    ['+x/+x', /used twice/],
  ] as const) {
    test(`invalid pattern ${JSON.stringify(pattern)}`, () => {
      assert.throws(() => compileTopicPattern(pattern), why);
    });
  }
});

describe('payloads', () => {
  const one = (text: string, format: 'json' | 'compact' | 'auto' = 'auto'): Reading => {
    const r = parsePayload(b(text), format);
    assert.ok(Array.isArray(r), String(r));
    assert.equal(r.length, 1);
    return r[0]!;
  };

  test('json, DataPoint-shaped', () => {
    assert.deepEqual(
      one('{"timestamp":1767268800000,"device_id":"p1","metrics":{"t":1.5},"tags":{"s":"a"}}'),
      { timestamp: 1767268800000, device_id: 'p1', metrics: { t: 1.5 }, tags: { s: 'a' } },
    );
  });

  test('json, flat: numbers are metrics, booleans 1/0, strings skipped; ISO timestamps', () => {
    assert.deepEqual(
      one('{"temp":21.5,"on":true,"status":"ok","timestamp":"2026-01-01T12:00:00Z"}'),
      {
        timestamp: Date.UTC(2026, 0, 1, 12),
        device_id: undefined,
        metrics: { temp: 21.5, on: 1 },
        tags: undefined,
      },
    );
    const ts = parsePayload(b('{"v":1,"ts":5}'), 'json', 'ts');
    assert.ok(Array.isArray(ts));
    assert.equal(ts[0]?.timestamp, 5);
  });

  test('json arrays give several readings', () => {
    const r = parsePayload(b('[{"v":1,"timestamp":1},{"metrics":{"v":2},"timestamp":2}]'), 'json');
    assert.ok(Array.isArray(r));
    assert.deepEqual(
      r.map((x) => [x.timestamp, x.metrics.v]),
      [
        [1, 1],
        [2, 2],
      ],
    );
  });

  test('json units: per metric in either shape, base-unit words as symbols', () => {
    assert.deepEqual(one('{"metrics":{"t":1,"p":2},"units":{"t":"celsius","p":" bar "}}').units, {
      t: '°C',
      p: 'bar',
    });
    // Flat: an object under `units` names units; a number under `units` is a metric.
    const flat = one('{"t":1,"units":{"t":"°C"}}');
    assert.deepEqual([flat.metrics, flat.units], [{ t: 1 }, { t: '°C' }]);
    assert.deepEqual(one('{"units":3}').metrics, { units: 3 });
    assert.equal(one('{"metrics":{"t":1},"units":null}').units, undefined);
    const r = parsePayload(b('[{"v":1,"units":{"v":"m/s"}},{"v":2}]'), 'json');
    assert.ok(Array.isArray(r));
    assert.deepEqual(
      r.map((x) => x.units),
      [{ v: 'm/s' }, undefined],
    );
  });

  test('compact: metric=value,…[@ms], one reading per line', () => {
    assert.deepEqual(one('temp=21.5,hum=40@1767268800000'), {
      timestamp: 1767268800000,
      device_id: undefined,
      metrics: { temp: 21.5, hum: 40 },
      tags: undefined,
    });
    assert.deepEqual(one(' temp = -1e3 ', 'compact').metrics, { temp: -1000 });
    const r = parsePayload(b('a=1@1\na=2@2\n'), 'compact');
    assert.ok(Array.isArray(r));
    assert.equal(r.length, 2);
  });

  for (const [text, format, why] of [
    ['', 'auto', /empty payload/],
    ['{"temp":', 'json', /^not JSON/],
    ['{"status":"ok"}', 'json', /^payload: no numeric value/],
    ['[1]', 'json', /^\[0\]: expected an object, found a number/],
    ['{"metrics":{"t":"hot"}}', 'json', /^metrics\.t: expected a number, found a string/],
    ['{"metrics":{"t":1},"device_id":7}', 'json', /^device_id: expected a string/],
    ['{"metrics":{"t":1},"tags":{"a":1}}', 'json', /^tags\.a: expected a string/],
    ['{"v":1,"timestamp":"yesterday"}', 'json', /timestamp: "yesterday" is not ISO 8601/],
    ['{"v":1,"timestamp":{}}', 'json', /timestamp: expected ms since the epoch/],
    ['[]', 'json', /empty array/],
    ['{"metrics":{"t":1},"units":["°C"]}', 'json', /^units: expected an object, found an array/],
    ['{"metrics":{"t":1},"units":{"t":7}}', 'json', /^units\.t must be a string, found number/],
    ['{"metrics":{"t":1},"units":{"t":" "}}', 'json', /^units\.t must not be empty/],
    ['{"t":1,"units":{"t":"x\\u0007"}}', 'json', /^units\.t contains a control character at/],
    [`{"t":1,"units":{"t":"${'k'.repeat(33)}"}}`, 'json', /^units\.t is 33 characters long/],
    ['[{"t":1,"units":{"tmp":"°C"}}]', 'json', /^\[0\]\.units\.tmp: no metric tmp in this/],
    ['temp=hot', 'compact', /temp: "hot" is not a number/],
    ['temp', 'compact', /"temp": expected metric=value/],
    ['=1', 'compact', /missing metric name/],
    ['t=1@soon', 'compact', /timestamp "soon": expected integer ms/],
    ['t=1\nt=x', 'compact', /^line 2: t: "x" is not a number/],
  ] as const) {
    test(`bad payload ${JSON.stringify(text)} (${format})`, () => {
      const r = parsePayload(b(text), format);
      assert.equal(typeof r, 'string');
      assert.match(r as string, why);
    });
  }
});

/** Seeded fuzz: random bytes and mutations of valid payloads give readings or a reason, never a throw. */
test('fuzz: payload parsing and topic matching never throw', () => {
  const random = Rng.fromSeed(7);
  const rng = () => random.next();
  const valid = [
    '{"temp":21.5,"hum":40,"timestamp":1767268800000}',
    '{"timestamp":1767268800000,"device_id":"p","metrics":{"a":1},"tags":{"s":"x"}}',
    '[{"a":1},{"metrics":{"b":2}}]',
    'temp=21.5,hum=40@1767268800000',
  ];
  const alphabet = '{}[]",:=@.-e0123456789abtrufnl \n\\\u0000\u00ff';
  const pattern = compileTopicPattern('p/+plant/d/+device/#rest');
  for (let i = 0; i < 3000; i++) {
    let bytes: Buffer;
    if (i % 3 === 0) {
      bytes = Buffer.from(
        Array.from({ length: Math.floor(rng() * 64) }, () => Math.floor(rng() * 256)),
      );
    } else {
      const chars = [...valid[Math.floor(rng() * valid.length)]!];
      for (let k = 0; k < 1 + Math.floor(rng() * 4); k++) {
        const at = Math.floor(rng() * (chars.length + 1));
        const c = alphabet[Math.floor(rng() * alphabet.length)]!;
        const op = rng();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.8) chars.splice(at, 0, c);
        else chars[at] = c;
      }
      bytes = Buffer.from(chars.join(''));
    }
    for (const format of ['json', 'compact', 'auto'] as const) {
      const r = parsePayload(bytes, format);
      if (typeof r === 'string') {
        assert.ok(r.length > 0);
      } else {
        assert.ok(r.length > 0);
        for (const reading of r) {
          for (const v of Object.values(reading.metrics)) assert.equal(typeof v, 'number');
        }
      }
    }
    const topic = bytes.toString('utf8');
    const m = pattern.match(topic);
    assert.ok(m === undefined || typeof m === 'object');
  }
});

describe('payload limits', () => {
  test(`more than ${MAX_METRICS} metrics in one payload is refused, in json and compact`, () => {
    const reading = (k: number) =>
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`m${k}_${i}`, i]));
    const items = Array.from({ length: MAX_METRICS / 20 + 1 }, (_, k) => reading(k));
    assert.match(
      parsePayload(b(JSON.stringify(items)), 'json') as string,
      new RegExp(`more than ${MAX_METRICS} metrics in one payload`),
    );
    assert.ok(Array.isArray(parsePayload(b(JSON.stringify(items.slice(1))), 'json')));
    const line = Array.from({ length: 20 }, (_, i) => `m${i}=1`).join(',');
    const compact = Array.from({ length: MAX_METRICS / 20 + 1 }, () => line).join('\n');
    assert.match(
      parsePayload(b(compact), 'compact') as string,
      new RegExp(`more than ${MAX_METRICS} metrics in one payload`),
    );
  });

  test('a 100k-character metric name gives a reason under 1 KB, in every format', () => {
    const long = 'n'.repeat(100_000);
    for (const [text, format] of [
      [JSON.stringify({ [long]: 1 }), 'json'],
      [JSON.stringify({ metrics: { [long]: 1 } }), 'json'],
      [JSON.stringify({ metrics: { [long]: 'x' } }), 'json'],
      [JSON.stringify({ metrics: { v: 1 }, tags: { [long]: 1 } }), 'json'],
      [`${long}=1`, 'compact'],
      [`${long}=x`, 'compact'],
      [`v=1@${long}`, 'compact'],
    ] as const) {
      const r = parsePayload(b(text), format);
      assert.equal(typeof r, 'string', `${format} ${text.slice(0, 30)}`);
      assert.ok(
        (r as string).length < 1024,
        `${(r as string).length}: ${(r as string).slice(0, 80)}`,
      );
    }
    assert.match(
      parsePayload(b(`${'n'.repeat(201)}=1`), 'compact') as string,
      /metric name "n{60}"…\(201 chars\) is longer than 200 characters/,
    );
  });

  test('a key named __proto__ is a metric or tag like any other', () => {
    // Found by the fuzzer (src/fuzz, mqtt target): the metric was silently dropped.
    const flat = parsePayload(
      b('{"rpm":false,"__proto__":369.153,"device_id":"d","ts":"2020-11-23T00:46:10.096Z"}'),
      'json',
      'ts',
    ) as Reading[];
    assert.deepEqual(Object.keys(flat[0]!.metrics), ['rpm', '__proto__']);
    assert.equal(flat[0]!.metrics['__proto__'], 369.153);
    const shaped = parsePayload(
      b('{"metrics":{"__proto__":1},"tags":{"__proto__":"x"},"device_id":"d"}'),
      'json',
    ) as Reading[];
    assert.equal(shaped[0]!.metrics['__proto__'], 1);
    assert.deepEqual(Object.keys(shaped[0]!.tags ?? {}), ['__proto__']);
    const compact = parsePayload(b('__proto__=2,v=3'), 'compact') as Reading[];
    assert.deepEqual(Object.keys(compact[0]!.metrics), ['__proto__', 'v']);
  });
});

describe('payloads that are not UTF-8', () => {
  for (const [name, bad] of [
    ['a broken pair C3 28', [0xc3, 0x28]],
    ['an overlong C0 AF', [0xc0, 0xaf]],
  ] as const) {
    test(`${name} is refused naming the byte, in every format`, () => {
      const json = Buffer.concat([
        b('{"device_id":"d'),
        Buffer.from(bad),
        b('","metrics":{"t":1}}'),
      ]);
      const compact = Buffer.concat([b('t'), Buffer.from(bad), b('=1')]);
      for (const format of ['json', 'compact', 'auto'] as const) {
        assert.equal(parsePayload(json, format), 'payload is not valid UTF-8 at byte 15');
        assert.equal(parsePayload(compact, format), 'payload is not valid UTF-8 at byte 1');
      }
    });
  }

  test('valid multi-byte UTF-8 (CJK, emoji) is read as sent', () => {
    const r = parsePayload(b('{"device_id":"泵-🚰","metrics":{"温度":1}}'), 'json');
    assert.ok(Array.isArray(r), String(r));
    assert.equal(r[0]?.device_id, '泵-🚰');
    assert.deepEqual(r[0]?.metrics, { 温度: 1 });
  });
});

test('the one-pass compact reader gives what the general one gives, or leaves the text to it', () => {
  const rng = Rng.fromSeed(14);
  // Pieces that make valid lines and every kind of near miss (spaces, U+00A0, empty names,
  // trailing commas, bad numbers and timestamps, several lines, `@` inside names).
  const pieces = [
    'v',
    'temp',
    '=',
    ',',
    '@',
    '-',
    '+',
    '1',
    '42',
    '.5',
    'e3',
    ' ',
    '\u00a0',
    '\n',
    '_',
    'x@y',
    '17672256',
    '',
  ];
  let fast = 0;
  for (let i = 0; i < 20_000; i++) {
    let text = '';
    const n = 1 + rng.int(8);
    for (let k = 0; k < n; k++) text += pieces[rng.int(pieces.length)];
    if (rng.int(2) === 0) text = `v=${rng.int(1000)}${text}`;
    text = text.trim();
    if (text === '') continue;
    const quick = parseCompactLine(text);
    if (quick === undefined) continue;
    fast++;
    assert.deepEqual(quick, parseCompact(text), JSON.stringify(text));
  }
  assert.ok(fast > 1000, `the one-pass reader took ${fast} of the texts`);
  assert.deepEqual(parseCompactLine('a=1,b=-2.5e3@1767225600000'), [
    {
      timestamp: 1767225600000,
      device_id: undefined,
      metrics: { a: 1, b: -2500 },
      tags: undefined,
    },
  ]);
  for (const t of ['a=1,', 'a=1 ,b=2', '=1', 'a=1@', 'a=1@x', 'a=x', 'a\u00a0=1', 'a=1\nb=2']) {
    assert.equal(parseCompactLine(t), undefined, JSON.stringify(t));
  }
});
