import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/stats/rng.js';
import { parseLineProtocol, toMillis, type FieldValue } from './line-protocol.js';

function one(line: string) {
  const parsed = parseLineProtocol(line);
  assert.deepEqual(parsed.errors, [], line);
  assert.equal(parsed.records.length, 1, line);
  return parsed.records[0]!;
}

function fields(line: string): Record<string, FieldValue> {
  return Object.fromEntries(one(line).fields);
}

describe('line protocol: the spec examples', () => {
  test('measurement, tags, fields, timestamp', () => {
    const r = one(
      'myMeasurement,tag1=value1,tag2=value2 fieldKey="fieldValue",n=2 1556813561098000000',
    );
    assert.equal(r.measurement, 'myMeasurement');
    assert.deepEqual(r.tags, [
      ['tag1', 'value1'],
      ['tag2', 'value2'],
    ]);
    assert.deepEqual(r.fields, [
      ['fieldKey', { kind: 'string', value: 'fieldValue' }],
      ['n', { kind: 'float', value: 2 }],
    ]);
    assert.equal(r.timestamp, 1556813561098000000n);
  });

  const escapes: [string, string, [string, string][], string][] = [
    // line, measurement, tags, field key
    ['my\\ Measurement f=1', 'my Measurement', [], 'f'],
    ['my\\,Measurement f=1', 'my,Measurement', [], 'f'],
    ['my=Measurement f=1', 'my=Measurement', [], 'f'],
    ['my\\=Measurement f=1', 'my\\=Measurement', [], 'f'],
    ['my\\\\Measurement f=1', 'my\\Measurement', [], 'f'],
    ['my\\Measurement f=1', 'my\\Measurement', [], 'f'],
    [
      'm,tag\\ Key1=tag\\ Value1,k\\,2=v\\,2 f=1',
      'm',
      [
        ['tag Key1', 'tag Value1'],
        ['k,2', 'v,2'],
      ],
      'f',
    ],
    ['m,tag\\=key=tag\\=value field\\ key=1', 'm', [['tag=key', 'tag=value']], 'field key'],
    ['m field\\,key\\=x=1', 'm', [], 'field,key=x'],
    ['m,t="q" f=1', 'm', [['t', '"q"']], 'f'],
  ];
  for (const [line, measurement, tags, field] of escapes) {
    test(`escaping: ${line}`, () => {
      const r = one(line);
      assert.equal(r.measurement, measurement);
      assert.deepEqual(r.tags, tags);
      assert.equal(r.fields[0]?.[0], field);
    });
  }

  test('string field values: quotes and backslashes escaped, other characters literal', () => {
    assert.deepEqual(fields('m f="\\"string\\" within a string"').f, {
      kind: 'string',
      value: '"string" within a string',
    });
    assert.deepEqual(fields('m f="a\\\\b",g="c\\d",h="x, y=z"'), {
      f: { kind: 'string', value: 'a\\b' },
      g: { kind: 'string', value: 'c\\d' },
      h: { kind: 'string', value: 'x, y=z' },
    });
  });

  test('a string value may span lines; the next record keeps its own line number', () => {
    const parsed = parseLineProtocol('m f="one\ntwo",v=1 5\nm v=2 6\n');
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.records.length, 2);
    assert.deepEqual(parsed.records[0]?.fields[0], ['f', { kind: 'string', value: 'one\ntwo' }]);
    assert.equal(parsed.records[1]?.line, 3);
  });

  test('value types: float, integer, unsigned, boolean', () => {
    assert.deepEqual(
      fields(
        'm a=1,b=-1.5e3,c=.5,d=1.,e=12i,f=-9223372036854775808i,g=18446744073709551615u,h=t,i=FALSE,j=True',
      ),
      {
        a: { kind: 'float', value: 1 },
        b: { kind: 'float', value: -1500 },
        c: { kind: 'float', value: 0.5 },
        d: { kind: 'float', value: 1 },
        e: { kind: 'integer', value: 12 },
        f: { kind: 'integer', value: -9223372036854775808 },
        g: { kind: 'unsigned', value: 2 ** 64 },
        h: { kind: 'boolean', value: true },
        i: { kind: 'boolean', value: false },
        j: { kind: 'boolean', value: true },
      },
    );
  });

  test('comments, blank lines, CRLF and trailing spaces', () => {
    const parsed = parseLineProtocol(
      '# a comment\n\n   \nm v=1 10\r\n  # indented comment\nm v=2 20  \n',
    );
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(
      parsed.records.map((r) => [r.line, r.timestamp]),
      [
        [4, 10n],
        [6, 20n],
      ],
    );
    assert.equal(parsed.total, 2);
  });

  test('a missing timestamp is undefined (the server stamps it)', () => {
    assert.equal(one('m v=1').timestamp, undefined);
    assert.equal(one('m v=1 ').timestamp, undefined);
    assert.equal(one('m v=1 -5').timestamp, -5n);
  });

  const bad: [string, RegExp][] = [
    ['m', /missing fields/],
    ['m ', /missing field key/],
    [',t=1 v=1', /missing measurement/],
    ['m,t v=1', /tag "t".*missing "="/],
    ['m,t= v=1', /tag "t".*missing tag value/],
    ['m,=v v=1', /missing tag key/],
    ['m v=', /field "v".*missing value/],
    ['m v', /field "v".*missing "="/],
    ['m v=1,', /missing field key/],
    ['m v=abc', /field "v".*cannot read "abc"/],
    ['m v=1x', /cannot read/],
    ['m v=9223372036854775808i', /out of int64/],
    ['m v=-1u', /cannot read/],
    ['m v=18446744073709551616u', /out of uint64/],
    ['m v=1e999', /out of range/],
    ['m v=NaN', /cannot read/],
    ['m v=1 12:00', /timestamp.*not an integer/],
    ['m v=1 99999999999999999999', /timestamp.*out of int64/],
    ['m v=1 1 2', /unexpected "2"/],
    ['m v="open', /unterminated string/],
  ];
  for (const [line, why] of bad) {
    test(`error: ${JSON.stringify(line)}`, () => {
      const parsed = parseLineProtocol(`ok v=1 1\n${line}\nok v=2 2`);
      assert.equal(parsed.errors.length, 1, JSON.stringify(parsed.errors));
      const e = parsed.errors[0]!;
      assert.equal(e.line, 2);
      assert.match(`${e.what}: ${e.why}`, why);
      // The good lines around it still parse (an unterminated string eats the rest).
      assert.equal(parsed.records.length, line.includes('"open') ? 1 : 2);
    });
  }
});

test('precision: every unit to ms, rounded down', () => {
  assert.equal(toMillis(1556813561098123456n, 'ns'), 1556813561098);
  assert.equal(toMillis(1556813561098123456n, 'n'), 1556813561098);
  assert.equal(toMillis(1556813561098123n, 'us'), 1556813561098);
  assert.equal(toMillis(1556813561098123n, 'u'), 1556813561098);
  assert.equal(toMillis(1556813561098n, 'ms'), 1556813561098);
  assert.equal(toMillis(1556813561n, 's'), 1556813561000);
  assert.equal(toMillis(25946892n, 'm'), 1556813520000);
  assert.equal(toMillis(432448n, 'h'), 1556812800000);
  assert.equal(toMillis(-1n, 'ns'), -1);
});

/** Seeded fuzz: random bytes and mutations of valid lines never throw; counts always add up. */
test('fuzz: the parser never throws, and every line is a record or an error', () => {
  const random = Rng.fromSeed(20260101);
  const rng = () => random.next();
  const valid = [
    'cpu,host=a,cpu=cpu0 usage_user=1.5,usage_system=2i 1700000000000000000',
    'weather,location=us\\ midwest temperature=82,desc="hot, \\"dry\\"" 1465839830100400200',
    'mem,host=b used_percent=42.1,available=123u,ok=t',
    'm\\,x,t\\=k=v\\ w f\\ k=-1e-3',
  ];
  const alphabet = ' ,=\\"\n\r\t#iu.-+eE0123456789abctfTF\u00e9\u0000';
  for (let i = 0; i < 3000; i++) {
    let text: string;
    if (i % 3 === 0) {
      text = Array.from({ length: Math.floor(rng() * 80) }, () =>
        String.fromCharCode(Math.floor(rng() * 256)),
      ).join('');
    } else {
      const lines = Array.from({ length: 1 + Math.floor(rng() * 4) }, () => {
        const chars = [...valid[Math.floor(rng() * valid.length)]!];
        const edits = 1 + Math.floor(rng() * 4);
        for (let k = 0; k < edits; k++) {
          const at = Math.floor(rng() * (chars.length + 1));
          const c = alphabet[Math.floor(rng() * alphabet.length)]!;
          const op = rng();
          if (op < 0.4) chars.splice(at, 1);
          else if (op < 0.8) chars.splice(at, 0, c);
          else chars[at] = c;
        }
        return chars.join('');
      });
      text = lines.join('\n');
    }
    const parsed = parseLineProtocol(text);
    assert.equal(parsed.total, parsed.records.length + parsed.errors.length);
    for (const e of parsed.errors) {
      assert.ok(e.line >= 1 && e.why.length > 0 && e.what.length > 0, JSON.stringify(e));
    }
    for (const r of parsed.records) {
      assert.ok(r.measurement.length > 0 && r.fields.length > 0);
    }
  }
});

describe('per-line limits, each an error of its line naming the limit', () => {
  const only = (text: string, limits: Parameters<typeof parseLineProtocol>[1] = {}) => {
    const parsed = parseLineProtocol(`ok v=1 1\n${text}\nok v=2 2`, limits);
    assert.equal(parsed.records.length, 2, JSON.stringify(parsed.errors));
    assert.equal(parsed.errors.length, 1);
    const e = parsed.errors[0]!;
    assert.equal(e.line, 2);
    return `${e.what}: ${e.why}`;
  };

  test('bytes per line (UTF-8), counted before the line is parsed', () => {
    assert.match(
      only(`m v=1,s="${'é'.repeat(60)}"`, { maxLineBytes: 100 }),
      /^line: 130 bytes, the limit is 100 \(influx\.max_line_bytes\)$/,
    );
    assert.equal(
      parseLineProtocol(`m s="${'é'.repeat(40)}"`, { maxLineBytes: 100 }).errors.length,
      0,
    );
  });

  test('fields per line', () => {
    const fields = Array.from({ length: 6 }, (_, i) => `f${i}=1`).join(',');
    assert.match(
      only(`m ${fields}`, { maxFieldsPerLine: 5 }),
      /^line: more than 5 fields \(influx\.max_fields_per_line\)$/,
    );
  });

  test('measurement, tag and field names; a 100k-character name is quoted short', () => {
    const long = 'n'.repeat(100_000);
    const measurement = only(`${long} v=1`);
    assert.match(measurement, /^measurement: "n{60}"…\(100000 chars\) is longer than 200/);
    assert.ok(measurement.length < 1024, `${measurement.length} characters`);
    assert.match(only(`m,${long}=x v=1`), /^tag: "n{60}"…\(100000 chars\) is longer/);
    assert.match(only(`m,t=${long} v=1`), /^tag "t": "n{60}"…\(100000 chars\) is longer/);
    assert.match(only(`m ${long}=1`), /^field: "n{60}"…\(100000 chars\) is longer/);
    assert.match(only('abcdef v=1', { maxNameLength: 5 }), /influx\.max_name_length/);
  });
});
