import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describePosition, findJsonFault, jsonFaultMessage } from './json-error.js';

test('findJsonFault agrees with JSON.parse on what is JSON', () => {
  const texts = [
    '[]',
    '{}',
    ' [ 1 , -2.5e+3 , "a\\"b\\u00e9" , true , null , {"k" : [ ] } ] ',
    '"x"',
    '0',
    '',
    ' ',
    '[',
    ']',
    '[1,]',
    '{"a":1,}',
    '{"a" 1}',
    '{a:1}',
    '[01]',
    '[1.]',
    '[.5]',
    '[-]',
    '["\t"]',
    '["\\x"]',
    '["\\u12g4"]',
    '"open',
    'tru',
    'nulls',
    '[1][2]',
    '{"a":{"b":[{}]}}',
    '[1e400]',
    '[-0]',
    '{"":""}',
    '[[[[[]]]]]',
    '[[[[[]]]]',
    '\u00a0[]',
  ];
  for (const text of texts) {
    let valid = true;
    try {
      JSON.parse(text);
    } catch {
      valid = false;
    }
    assert.equal(findJsonFault(text) === undefined, valid, JSON.stringify(text));
  }
});

test('the fault is the first character that cannot be there', () => {
  assert.deepEqual(findJsonFault('[1,]'), {
    offset: 3,
    expected: 'a value (object, array, string, number, true, false or null)',
  });
  assert.equal(findJsonFault('{"a":1,}')?.offset, 7);
  assert.equal(findJsonFault('["ab\\q"]')?.offset, 4);
  assert.equal(findJsonFault('"open')?.offset, 5);
  // 100,000 levels deep is scanned without recursion.
  const deep = '['.repeat(100_000) + ']'.repeat(99_999);
  assert.equal(findJsonFault(deep)?.offset, 199_999);
});

test('positions are lines and columns from 1, bytes in UTF-8', () => {
  assert.equal(describePosition('ab\ncd', 4), 'line 2, column 2 (byte 4)');
  assert.equal(describePosition('é\n€x', 3), 'line 2, column 2 (byte 6)');
  assert.equal(
    jsonFaultMessage('[1 2]'),
    `line 1, column 4 (byte 3): expected ',' or ']', found "2"`,
  );
  assert.equal(jsonFaultMessage('[1]'), undefined);
});
