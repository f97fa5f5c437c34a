import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Registry } from 'prom-client';
import { resolveSettings } from '../cli/serve-settings.js';
import { createEngine } from '../engine/create-engine.js';
import type { Engine } from '../engine/engine.js';
import { buildHttpServer } from '../server/http.js';
import { openStore } from '../store/open-store.js';
import type { ModelRegistry } from './model-registry.js';
import { startModelServing } from './serve-models.js';
import { TINY_AUTOENCODER, affineModel, failsAtRunModel, fixedModel } from './test-models.js';

/** mulberry32: the seeded generator for inputs and the fuzz set. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

interface Running {
  readonly url: string;
  readonly dir: string;
  readonly app: FastifyInstance;
  readonly models: ModelRegistry;
  readonly watcher: { scan(): Promise<void> };
  readonly registry: Registry;
  /** The last warning logged for each model file name. */
  readonly failures: Map<string, string>;
  predict(name: string, body: unknown, contentType?: string): Promise<Answer>;
  get(url: string): Promise<Answer>;
  failureMetric(model: string): Promise<number>;
  stop(): Promise<void>;
}

const LIMITS = { bodyBytes: 256 * 1024, maxElements: 20_000 };

/** The real HTTP server (engine on in-memory PGlite) with the model routes, on a real socket. */
async function start(): Promise<Running> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-models-'));
  const modelDir = path.join(dir, 'models');
  await mkdir(modelDir);
  await copyFile(TINY_AUTOENCODER, path.join(modelDir, 'autoencoder.onnx'));
  await writeFile(
    path.join(modelDir, 'affine.onnx'),
    affineModel({ scale: 2, bias: 0.5, version: '7' }),
  );
  await writeFile(path.join(modelDir, 'fixed.onnx'), fixedModel());

  const store = await openStore();
  const engine: Engine = await createEngine({
    store,
    spoolDir: path.join(dir, 'spool'),
    checkpointEveryMs: 0,
  });
  const registry = new Registry();
  const app = await buildHttpServer({ engine, store, registry, logger: { level: 'silent' } });
  const failures = new Map<string, string>();
  // As `vigil serve --models` starts it; rescans off: the tests call scan() or wait for fs.watch.
  const serving = await startModelServing(
    app,
    registry,
    { dir: modelDir, ...LIMITS, debounceMs: 50, rescanMs: 0 },
    {
      info: () => undefined,
      warn: (msg) => {
        const file = /([\w-]+)\.onnx: /.exec(msg);
        if (file) failures.set(file[1]!, msg);
      },
    },
  );
  const models = serving.models;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const answer = async (res: Response): Promise<Answer> => {
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { raw: text };
    }
    return { status: res.status, json };
  };
  return {
    url,
    dir: modelDir,
    app,
    models,
    watcher: serving,
    registry,
    failures,
    async predict(name, body, contentType = 'application/json') {
      const res = await fetch(`${url}/v1/models/${encodeURIComponent(name)}/predict`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return answer(res);
    },
    async get(route) {
      return answer(await fetch(`${url}${route}`));
    },
    async failureMetric(model) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`vigil_model_reload_failures_total{model="${model}"}`));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    },
    async stop() {
      await app.close();
      await serving.close();
      await engine.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Outputs = Record<string, { type: string; dims: number[]; data: unknown[] }>;

// One server for the file (starting the engine's embedded store is the slow part); the hot
// reload suite runs second and changes the model directory.
let s: Running;
before(async () => {
  s = await start();
});
after(async () => {
  await s.stop();
});

describe('model serving over HTTP', () => {
  let direct: InferenceSession;
  before(async () => {
    direct = await InferenceSession.create(TINY_AUTOENCODER);
  });
  after(async () => {
    await direct.release();
  });

  test('GET /v1/models lists every model with inputs, outputs and versions', async () => {
    const { status, json } = await s.get('/v1/models');
    assert.equal(status, 200);
    const models = json.models as Record<string, unknown>[];
    assert.deepEqual(
      models.map((m) => m.name),
      ['affine', 'autoencoder', 'fixed'],
    );
    const affine = models[0]!;
    assert.match(String(affine.version), /^[0-9a-f]{12}$/);
    assert.equal(affine.declared_version, '7');
    assert.equal(affine.producer, 'vigil');
    assert.deepEqual(affine.inputs, [
      { name: 'x', type: 'float32', shape: ['N', 4] },
      { name: 'k', type: 'int64', shape: ['N', 2] },
    ]);
    assert.deepEqual(affine.outputs, [
      { name: 'y', type: 'float32', shape: ['N', 4] },
      { name: 'k_next', type: 'int64', shape: ['N', 2] },
    ]);
    assert.ok(!Number.isNaN(Date.parse(String(affine.loaded_at))));
    const one = await s.get('/v1/models/autoencoder');
    assert.equal(one.status, 200);
    assert.deepEqual(one.json.inputs, [{ name: 'window', type: 'float32', shape: ['N', 8] }]);
    const none = await s.get('/v1/models/nope');
    assert.equal(none.status, 404);
    assert.equal(none.json.code, 'VIGIL_ERR_MODEL_NOT_FOUND');
    assert.match(String(none.json.message), /"nope".*served: affine, autoencoder, fixed/);
  });

  test('the trained autoencoder answers as a direct onnxruntime call does, in both JSON forms', async () => {
    const random = prng(1);
    const data = Array.from({ length: 5 * 8 }, () => Math.round(random() * 1000) / 100);
    const expected = await direct.run({
      window: new Tensor('float32', Float32Array.from(data), [5, 8]),
    });
    const want = Array.from(expected.reconstruction!.data as Float32Array);
    const flat = await s.predict('autoencoder', { inputs: { window: { dims: [5, 8], data } } });
    assert.equal(flat.status, 200, JSON.stringify(flat.json));
    const out = (flat.json.outputs as Outputs).reconstruction!;
    assert.equal(out.type, 'float32');
    assert.deepEqual(out.dims, [5, 8]);
    assert.deepEqual(out.data, want);
    assert.equal(flat.json.model, 'autoencoder');
    assert.equal(flat.json.version, s.models.get('autoencoder')!.version);
    assert.equal(typeof flat.json.ms, 'number');

    const rows = Array.from({ length: 5 }, (_, r) => data.slice(r * 8, r * 8 + 8));
    const nested = await s.predict('autoencoder', { inputs: { window: rows } });
    assert.equal(nested.status, 200);
    assert.deepEqual((nested.json.outputs as Outputs).reconstruction!.data, want);
  });

  test('two inputs, int64 values beyond 2^53 as strings, and output selection', async () => {
    const r = await s.predict('affine', {
      inputs: {
        x: [
          [1, 2, 3, 4],
          [-1, 0, 0.5, 10],
        ],
        k: { dims: [2, 2], data: [1, -5, '9007199254740993', 0], type: 'int64' },
      },
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const out = r.json.outputs as Outputs;
    assert.deepEqual(out.y!.data, [2.5, 4.5, 6.5, 8.5, -1.5, 0.5, 1.5, 20.5]);
    assert.deepEqual(out.k_next, {
      type: 'int64',
      dims: [2, 2],
      data: [2, -4, '9007199254740994', 1],
    });
    const only = await s.predict('affine', {
      inputs: { x: [[0, 0, 0, 0]], k: [[1, 2]] },
      outputs: ['k_next'],
    });
    assert.equal(only.status, 200);
    assert.deepEqual(Object.keys(only.json.outputs as Outputs), ['k_next']);
    const fixed = await s.predict('fixed', { inputs: { x: [[1, 2, 3]] } });
    assert.deepEqual((fixed.json.outputs as Outputs).y!.data, [2, 3, 4]);
  });

  test('every validation error is a 4xx naming the input and the problem', async () => {
    const x1 = [[1, 2, 3, 4]];
    const k1 = [[1, 2]];
    const cases: [string, unknown, number, string, RegExp][] = [
      ['not an object', [1, 2], 400, 'VIGIL_ERR_TENSOR_INVALID', /body must be a JSON object/],
      ['no inputs', {}, 400, 'VIGIL_ERR_TENSOR_INVALID', /no "inputs"/],
      [
        'unknown key',
        { inputs: {}, extra: 1 },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /unknown key "extra"/,
      ],
      [
        'inputs not an object',
        { inputs: [1] },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /"inputs" must be an object/,
      ],
      [
        'missing input',
        { inputs: { x: x1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "k": missing: the model needs int64 \[N, 2\]/,
      ],
      [
        'unknown input',
        { inputs: { x: x1, k: k1, z: [1] } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "z": the model has no such input \(its inputs: "x", "k"\)/,
      ],
      [
        'wrong type',
        { inputs: { x: { dims: [1, 4], data: [1, 2, 3, 4], type: 'float64' }, k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": type "float64", the model expects "float32"/,
      ],
      [
        'wrong rank',
        { inputs: { x: [1, 2, 3, 4], k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": rank 1 \(dims \[4\]\), the model expects rank 2 \[N, 4\]/,
      ],
      [
        'wrong fixed dim',
        { inputs: { x: [[1, 2, 3]], k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": dimension 1 is 3, the model fixes it at 4/,
      ],
      [
        'symbolic dims disagree',
        {
          inputs: {
            x: x1,
            k: [
              [1, 2],
              [3, 4],
            ],
          },
        },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "k": dimension 0 \("N"\) is 2, but "N" is 1 in input "x"/,
      ],
      [
        'data length',
        { inputs: { x: { dims: [2, 4], data: [1, 2, 3] }, k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": "data" has 3 values, dims \[2, 4\] need 8/,
      ],
      [
        'string value',
        { inputs: { x: [[1, 'a', 3, 4]], k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": data\[1\] is "a", expected a finite number/,
      ],
      [
        'null value',
        { inputs: { x: [[1, null, 3, 4]], k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": data\[1\] is null, expected a finite number/,
      ],
      [
        'float32 overflow',
        { inputs: { x: [[1, 1e39, 3, 4]], k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /data\[1\] is 1e\+39, expected a number within the float32 range/,
      ],
      [
        'fraction for int64',
        { inputs: { x: x1, k: [[1.5, 2]] } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "k": data\[0\] is 1.5, expected an int64/,
      ],
      [
        'ragged',
        {
          inputs: {
            x: [
              [1, 2, 3, 4],
              [1, 2],
            ],
            k: k1,
          },
        },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": ragged nested array: \[1\] has 2 elements, expected 4/,
      ],
      [
        'empty array',
        { inputs: { x: [], k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": an empty array at depth 0/,
      ],
      [
        'bad dims',
        { inputs: { x: { dims: [1, -4], data: [] }, k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": dims\[1\] is -4, not a positive integer/,
      ],
      [
        'unknown tensor key',
        { inputs: { x: { dims: [1, 4], data: [1, 2, 3, 4], shape: 1 }, k: k1 } },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /input "x": unknown key "shape"/,
      ],
      [
        'unknown output',
        { inputs: { x: x1, k: k1 }, outputs: ['z'] },
        400,
        'VIGIL_ERR_TENSOR_INVALID',
        /output "z": the model has no such output \(its outputs: "y", "k_next"\)/,
      ],
      [
        'too many elements',
        { inputs: { x: { dims: [100_000, 4], data: [] }, k: k1 } },
        413,
        'VIGIL_ERR_PAYLOAD_TOO_LARGE',
        /input "x": dims \[100000, 4\] hold more than the limit of 20000/,
      ],
      [
        'too many elements, counting all inputs',
        {
          inputs: {
            x: { dims: [4000, 4], data: Array(16_000).fill(0) },
            k: { dims: [4000, 2], data: [] },
          },
        },
        413,
        'VIGIL_ERR_PAYLOAD_TOO_LARGE',
        /input "k": dims \[4000, 2\] hold more than the limit of 20000 elements per request, counting the inputs before it/,
      ],
    ];
    for (const [what, body, status, code, message] of cases) {
      const r = await s.predict('affine', body);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.code, code, what);
      assert.match(String(r.json.message), message, what);
    }
    // Raw JSON text, so that 1e400 reaches the server: JSON.parse reads it as Infinity.
    const infinite = await s.predict(
      'affine',
      '{"inputs":{"x":{"dims":[1,4],"data":[1,2,1e400,4]},"k":[[1,2]]}}',
    );
    assert.equal(infinite.status, 400);
    assert.equal(
      String(infinite.json.message),
      'input "x": data[2] is not a finite number (1e400 and any number beyond ±1.8e308 overflow a double), expected a finite number',
    );
    // The same for an integer input, and below the range: the fault named is the overflow.
    const negative = await s.predict(
      'affine',
      '{"inputs":{"x":[[1,2,3,4]],"k":{"dims":[1,2],"data":[1,-1e400]}}}',
    );
    assert.equal(negative.status, 400);
    assert.match(
      String(negative.json.message),
      /^input "k": data\[1\] is not a finite number \(-1e400 and any number beyond ±1\.8e308 overflow a double\), expected an int64/,
    );
    const unknownModel = await s.predict('nope', { inputs: {} });
    assert.equal(unknownModel.status, 404);
    assert.equal(unknownModel.json.code, 'VIGIL_ERR_MODEL_NOT_FOUND');
    const badJson = await s.predict('affine', '{"inputs": ');
    assert.equal(badJson.status, 400);
    // text/plain is what a page of another site can send: refused before the body is read.
    const text = await s.predict('affine', 'x=1', 'text/plain');
    assert.equal(text.status, 415);
    assert.equal(text.json.code, 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE');
    const media = await s.predict('affine', '<x/>', 'application/xml');
    assert.equal(media.status, 415);
    assert.equal(media.json.code, 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE');
    const huge = await s.predict('affine', { inputs: { x: [Array(70_000).fill(1.25)] } });
    assert.equal(huge.status, 413);
    assert.equal(huge.json.code, 'VIGIL_ERR_PAYLOAD_TOO_LARGE');
  });

  test('one session answers 200 parallel requests, each with its own correct result', async () => {
    const sessionBefore = s.models.get('affine')!.session;
    const requests = Array.from({ length: 200 }, (_, i) =>
      s.predict('affine', { inputs: { x: [[i, i + 1, -i, 0.5]], k: [[i, -i]] } }).then((r) => ({
        i,
        r,
      })),
    );
    for (const { i, r } of await Promise.all(requests)) {
      assert.equal(r.status, 200);
      const out = r.json.outputs as Outputs;
      assert.deepEqual(out.y!.data, [2 * i + 0.5, 2 * (i + 1) + 0.5, -2 * i + 0.5, 1.5]);
      assert.deepEqual(out.k_next!.data, [i + 1, -i + 1]);
    }
    assert.equal(s.models.get('affine')!.session, sessionBefore);
    assert.equal(s.models.openSessions(), 3);
  });

  test('a seeded fuzz set of bad bodies never gets a 5xx', async () => {
    const random = prng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const values: unknown[] = [
      null,
      true,
      0,
      -1,
      1.5,
      1e308,
      '',
      'x',
      [],
      {},
      [[]],
      [null],
      { dims: 'a' },
      { dims: [2 ** 40, 2 ** 40], data: [] },
      { dims: [1, 4], data: 'abc' },
      { dims: [], data: [1] },
      { dims: [1, 4], data: [1, 2, 3, 4], type: 7 },
    ];
    const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
    const bodies: string[] = [];
    for (let i = 0; i < 150; i++) {
      const choice = Math.floor(random() * 6);
      let body: unknown;
      if (choice === 0) body = pick(values);
      else if (choice === 1) body = { inputs: pick(values) };
      else if (choice === 2) body = { inputs: { x: pick(values), k: pick(values) } };
      else if (choice === 3)
        body = { inputs: { x: deep(1 + Math.floor(random() * 40)), k: [[1, 2]] } };
      else if (choice === 4)
        body = { inputs: { x: [[1, 2, 3, 4]], k: [[1, 2]] }, outputs: pick(values) };
      else {
        const text = JSON.stringify({ inputs: { x: [[1, 2, 3, 4]], k: [[1, 2]] } });
        // Byte-level damage: cut or overwrite a character.
        const at = Math.floor(random() * text.length);
        body =
          random() < 0.5
            ? text.slice(0, at)
            : text.slice(0, at) + pick(['"', '}', '[', 'ü', '\\']) + text.slice(at + 1);
      }
      bodies.push(typeof body === 'string' ? body : JSON.stringify(body));
    }
    for (const [i, body] of bodies.entries()) {
      const r = await s.predict(pick(['affine', 'fixed', 'autoencoder']), body);
      assert.ok(
        r.status < 500,
        `body ${i} ${body.slice(0, 200)} → ${r.status} ${JSON.stringify(r.json)}`,
      );
      if (r.status >= 400) assert.match(String(r.json.code), /^VIGIL_ERR_/);
    }
  });
});

describe('hot reload of the model directory', () => {
  const affineY = async (): Promise<{ version: unknown; y: unknown[] }> => {
    const r = await s.predict('affine', { inputs: { x: [[1, 1, 1, 1]], k: [[0, 0]] } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return { version: r.json.version, y: (r.json.outputs as Outputs).y!.data };
  };

  test('a replaced file is picked up by the watcher and answers with its new version', async () => {
    const before = await affineY();
    assert.deepEqual(before.y, [2.5, 2.5, 2.5, 2.5]);
    // Write beside, then rename: the documented way to replace a model atomically.
    const temp = path.join(s.dir, '.affine.onnx.tmp');
    await writeFile(temp, affineModel({ scale: 3, bias: 0, version: '8' }));
    await rename(temp, path.join(s.dir, 'affine.onnx'));
    const deadline = Date.now() + 10_000;
    while (s.models.get('affine')!.version === before.version && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const after = await affineY();
    assert.notEqual(after.version, before.version);
    assert.deepEqual(after.y, [3, 3, 3, 3]);
    assert.equal((await s.get('/v1/models/affine')).json.declared_version, '8');
  });

  test('garbage or a model failing its test inference keeps the old version serving', async () => {
    const serving = await affineY();
    const failuresBefore = await s.failureMetric('affine');
    await writeFile(path.join(s.dir, 'affine.onnx'), Buffer.from('this is not an onnx file'));
    await s.watcher.scan();
    assert.deepEqual(await affineY(), serving);
    assert.equal(await s.failureMetric('affine'), failuresBefore + 1);
    assert.match(
      s.failures.get('affine')!,
      /not a loadable ONNX model.*version [0-9a-f]{12} keeps serving/,
    );

    await writeFile(path.join(s.dir, 'affine.onnx'), failsAtRunModel());
    await s.watcher.scan();
    assert.deepEqual(await affineY(), serving);
    assert.equal(await s.failureMetric('affine'), failuresBefore + 2);
    assert.match(s.failures.get('affine')!, /failed its test inference on zeros/);
    // A rescan of the same bad bytes is not counted again.
    await s.watcher.scan();
    assert.equal(await s.failureMetric('affine'), failuresBefore + 2);

    // Truncated copies of a good model (a copy seen half-written): refused, never a crash.
    const good = affineModel({ scale: 5, bias: 0 });
    for (const cut of [1, 17, Math.floor(good.length / 2), good.length - 3]) {
      await writeFile(path.join(s.dir, 'affine.onnx'), good.subarray(0, cut));
      await s.watcher.scan();
      assert.deepEqual(await affineY(), serving, `cut at ${cut}`);
    }
    assert.equal(await s.failureMetric('affine'), failuresBefore + 6);

    // A new file that fails is simply not served.
    await writeFile(path.join(s.dir, 'broken.onnx'), failsAtRunModel());
    await s.watcher.scan();
    assert.equal((await s.get('/v1/models/broken')).status, 404);
    assert.equal(await s.failureMetric('broken'), 1);
  });

  test('a request in flight during a swap finishes on its session, which is released after', async () => {
    const lease = s.models.acquire('fixed')!;
    const opened = s.models.openSessions();
    await writeFile(path.join(s.dir, 'fixed.onnx'), affineModel({ scale: 1, bias: 1 }));
    await s.watcher.scan();
    assert.notEqual(s.models.get('fixed')!.version, lease.model.version);
    assert.equal(s.models.openSessions(), opened + 1, 'the old session is kept while leased');
    const old = await lease.model.session.run({
      x: new Tensor('float32', Float32Array.of(1, 2, 3), [1, 3]),
    });
    assert.deepEqual(Array.from(old.y!.data as Float32Array), [2, 3, 4]);
    lease.end();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.models.openSessions(), opened);
    const now = await s.predict('fixed', { inputs: { x: [[1, 2, 3, 4]], k: [[1, 1]] } });
    assert.equal(now.status, 200);
  });

  test('a deleted file unloads its model: 404 afterwards', async () => {
    await unlink(path.join(s.dir, 'autoencoder.onnx'));
    await s.watcher.scan();
    const r = await s.predict('autoencoder', { inputs: { window: [[1, 2, 3, 4, 5, 6, 7, 8]] } });
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'VIGIL_ERR_MODEL_NOT_FOUND');
    const listed = (await s.get('/v1/models')).json.models as { name: string }[];
    assert.ok(!listed.some((m) => m.name === 'autoencoder'));
    // And it comes back when the file does.
    await writeFile(path.join(s.dir, 'autoencoder.onnx'), await readFile(TINY_AUTOENCODER));
    await s.watcher.scan();
    assert.equal((await s.get('/v1/models/autoencoder')).status, 200);
  });
});

test('vigil serve takes the model directory from --models, VIGIL_MODELS or models.dir', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-models-config-'));
  try {
    const file = path.join(dir, 'vigil.yaml');
    await writeFile(file, 'models:\n  dir: ./from-file\n  max_elements: 1000\n');
    const fromFile = await resolveSettings({ config: file, demo: true }, false, {});
    assert.equal(fromFile.models, './from-file');
    assert.equal(fromFile.file.models?.max_elements, 1000);
    const fromEnv = await resolveSettings({ config: file, demo: true }, false, {
      VIGIL_MODELS: './from-env',
    });
    assert.equal(fromEnv.models, './from-env');
    const fromFlag = await resolveSettings(
      { config: file, models: './from-flag', demo: true },
      false,
      { VIGIL_MODELS: './from-env' },
    );
    assert.equal(fromFlag.models, './from-flag');
    assert.equal((await resolveSettings({ demo: true }, false, {})).models, undefined);
    await writeFile(file, 'models:\n  directory: x\n');
    await assert.rejects(
      resolveSettings({ config: file, demo: true }, false, {}),
      /models: unknown key "directory"/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
