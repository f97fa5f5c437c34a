import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileStrategy, restorePipeline } from '../core/strategy/compile.js';
import type { PipelineSnapshot } from '../core/strategy/pipeline.js';
import { resolveStrategy } from '../strategy-files/load.js';
import { serialize } from 'node:v8';
import {
  decodeState,
  encodeState,
  HEAD_OFFSET,
  parseHead,
  STATE_FORMAT,
  STATE_FORMAT_V1,
} from './state-codec.js';

const bits = (a: Float64Array | Float32Array): string =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('state codec', () => {
  it('round-trips typed arrays, NaN, ±Infinity and −0 bit for bit', () => {
    const f64 = new Float64Array([NaN, -0, 0, Infinity, -Infinity, 1 / 3, 5e-324]);
    const f32 = new Float32Array([NaN, -0, Math.fround(0.1)]);
    const snapshot = {
      strategy: 's',
      version: 1,
      state: { f64, f32, nan: NaN, negZero: -0, list: [1, null, 'x'], nested: { i: -Infinity } },
    } as unknown as PipelineSnapshot;
    const back = decodeState(encodeState(snapshot), 'k') as unknown as typeof snapshot & {
      state: { f64: Float64Array; f32: Float32Array; nan: number; negZero: number };
    };
    assert.ok(back.state.f64 instanceof Float64Array);
    assert.ok(back.state.f32 instanceof Float32Array);
    assert.equal(bits(back.state.f64), bits(f64));
    assert.equal(bits(back.state.f32), bits(f32));
    assert.ok(Number.isNaN(back.state.nan));
    assert.ok(Object.is(back.state.negZero, -0));
    assert.deepEqual(back, snapshot);
  });

  it('a real pipeline restored from its bytes scores exactly like the original', async () => {
    const strategy = await resolveStrategy('default');
    const a = compileStrategy(strategy)('codec');
    for (let i = 0; i < 300; i++) a.process(i * 1000, Math.sin(i / 7) + (i % 50 === 0 ? 9 : 0));
    const bytes = encodeState(a.snapshot());
    const b = restorePipeline(strategy, decodeState(bytes, 'codec'));
    for (let i = 300; i < 400; i++) {
      const v = Math.cos(i / 5) + (i % 37 === 0 ? 7 : 0);
      assert.ok(Object.is(b.process(i * 1000, v), a.process(i * 1000, v)));
      assert.equal(b.lastLevel, a.lastLevel);
    }
  });

  it('refuses bytes without the envelope, or of an unknown format version', () => {
    const bytes = encodeState({ strategy: 's', version: 1 } as unknown as PipelineSnapshot);
    assert.equal(bytes[4], STATE_FORMAT);
    const other = Uint8Array.from(bytes);
    other[4] = STATE_FORMAT + 1;
    assert.throws(() => decodeState(other, 'k'), { code: 'VIGIL_ERR_STORE_INVALID' });
    assert.throws(() => decodeState(Buffer.from('{"a":1}'), 'k'), /not a Vigil state/);
    assert.throws(() => decodeState(bytes.subarray(0, 8), 'k'), /corrupt/);
  });
});

describe('state codec, format 2 heads', () => {
  it('a series state carries a head naming it; other states an empty one', () => {
    const tagged = {
      strategy: 'fast',
      version: 3,
      engine: { device: 'pump "4" ü', metric: 'temp' },
    } as unknown as PipelineSnapshot;
    const bytes = encodeState(tagged);
    assert.equal(bytes[4], STATE_FORMAT);
    const n = ((bytes[5] as number) << 8) | (bytes[6] as number);
    const head = parseHead(
      Buffer.from(bytes.subarray(HEAD_OFFSET, HEAD_OFFSET + n)).toString(),
      'k',
    );
    assert.deepEqual(head, { strategy: 'fast', version: 3, device: 'pump "4" ü', metric: 'temp' });
    assert.deepEqual(decodeState(bytes, 'k'), tagged);
    const group = encodeState({
      strategy: 'mv',
      version: 1,
      engine: { device: 'd', metric: null },
    } as unknown as PipelineSnapshot);
    assert.equal((group[5] as number) + (group[6] as number), 0);
    assert.throws(() => parseHead('{"strategy":"x"}', 'k'), /head is incomplete/);
    assert.throws(() => parseHead('{', 'k'), /head is corrupt/);
  });

  it('format 1 (no head) still decodes', () => {
    const snapshot = { strategy: 's', version: 1, x: new Float64Array([1, NaN]) };
    const body = serialize(snapshot);
    const v1 = Buffer.concat([Buffer.from([0x56, 0x47, 0x53, 0, STATE_FORMAT_V1]), body]);
    assert.deepEqual(decodeState(v1, 'k'), snapshot);
  });

  it('refuses a head length past the end', () => {
    const bytes = Uint8Array.from(encodeState({ strategy: 's', version: 1 } as never));
    bytes[5] = 0xff;
    assert.throws(() => decodeState(bytes, 'k'), /truncated/);
  });
});
