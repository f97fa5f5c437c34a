import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../core/stats/rng.js';
import { invalidUtf8At, requireUtf8 } from './utf8.js';

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('invalidUtf8At', () => {
  test('well-formed text, multi-byte included, is valid', () => {
    for (const text of ['', 'pump-7', 'plant ä', '泵-七', 'pump 🚰 7', '\u{10ffff}']) {
      assert.equal(invalidUtf8At(Buffer.from(text)), -1, text);
    }
  });

  test('names the first bad byte: broken pair, overlong, surrogate, beyond U+10FFFF, truncated', () => {
    assert.equal(invalidUtf8At(bytes('ab', [0xc3, 0x28])), 2);
    assert.equal(invalidUtf8At(bytes('abc', [0xc0, 0xaf])), 3); // overlong '/'
    assert.equal(invalidUtf8At(bytes([0xe0, 0x80, 0xaf])), 0); // overlong, 3 bytes
    assert.equal(invalidUtf8At(bytes('x', [0xed, 0xa0, 0x80])), 1); // U+D800
    assert.equal(invalidUtf8At(bytes([0xf4, 0x90, 0x80, 0x80])), 0); // U+110000
    assert.equal(invalidUtf8At(bytes('é', [0xe6, 0xb3])), 2); // truncated at the end
    assert.equal(invalidUtf8At(bytes([0x80])), 0);
    assert.equal(invalidUtf8At(bytes([0xff])), 0);
  });

  test('a slice is checked on its own, the offset counted from its start', () => {
    const b = bytes([0xc3, 0x28], 'ok', [0xc0, 0xaf]);
    assert.equal(invalidUtf8At(b, 2, 4), -1);
    assert.equal(invalidUtf8At(b, 2), 2);
  });

  test('agrees with the platform decoder on random bytes (fatal TextDecoder)', () => {
    const rng = Rng.fromSeed(12);
    const fatal = new TextDecoder('utf-8', { fatal: true });
    for (let k = 0; k < 5000; k++) {
      const b = Buffer.from(Array.from({ length: 1 + rng.int(6) }, () => rng.int(256)));
      let valid = true;
      try {
        fatal.decode(b);
      } catch {
        valid = false;
      }
      assert.equal(invalidUtf8At(b) === -1, valid, b.toString('hex'));
    }
  });

  test('requireUtf8 throws VIGIL_ERR_INPUT naming what and where', () => {
    assert.throws(
      () => requireUtf8(bytes('dev', [0xc3, 0x28]), 'body'),
      (err: Error & { code?: string }) =>
        err.code === 'VIGIL_ERR_INPUT' && /body is not valid UTF-8 at byte 3/.test(err.message),
    );
  });
});
