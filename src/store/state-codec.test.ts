import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileStrategy, restorePipeline } from '../core/strategy/compile.js';
import type { PipelineSnapshot } from '../core/strategy/pipeline.js';
import { resolveStrategy } from '../strategy-files/load.js';
import { decodeState, encodeState, STATE_FORMAT } from './state-codec.js';

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
