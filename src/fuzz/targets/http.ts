/**
 * POST /v1/points bodies: a JSON array (or one object) and NDJSON, read as routes.ts reads them
 * (the body as UTF-8 text; a JSON syntax error is the framework's coded 400).
 */
import { parseJsonBody, parseNdjsonBody } from '../../ingest/http/parse-points.js';
import { VigilError } from '../../errors.js';
import { dataPointJson, jsonArray, jsonValue } from '../json-gen.js';
import { finish } from '../mutate.js';
import { chance, pick, type Rng } from '../random.js';
import type { Outcome, Target } from '../target.js';

function outcome(parsed: ReturnType<typeof parseJsonBody>): Outcome {
  return { points: parsed.points, refused: parsed.errors.length };
}

export const httpJson: Target = {
  name: 'http-json',
  parser: 'src/ingest/http/parse-points.ts (parseJsonBody)',
  generate(rng: Rng): Buffer {
    return finish(rng, () => {
      const r = rng.next();
      const text =
        r < 0.7
          ? jsonArray(rng, () => (chance(rng, 0.95) ? dataPointJson(rng) : jsonValue(rng, 2)))
          : r < 0.95
            ? dataPointJson(rng)
            : jsonValue(rng, 3);
      return Buffer.from(chance(rng, 0.02) ? `\ufeff${text}` : text);
    });
  },
  run(input: Buffer): Outcome {
    let body: unknown;
    try {
      body = JSON.parse(input.toString('utf8'));
    } catch (error) {
      throw new VigilError('VIGIL_ERR_INPUT', `body is not JSON: ${String(error)}`);
    }
    return outcome(parseJsonBody(body));
  },
};

export const httpNdjson: Target = {
  name: 'http-ndjson',
  parser: 'src/ingest/http/parse-points.ts (parseNdjsonBody)',
  generate(rng: Rng): Buffer {
    return finish(rng, () => {
      const lines: string[] = [];
      const n = chance(rng, 0.995) ? 1 + rng.int(6) : 200 + rng.int(1000);
      for (let i = 0; i < n; i++) {
        const r = rng.next();
        lines.push(r < 0.9 ? dataPointJson(rng) : r < 0.95 ? '' : jsonValue(rng, 2));
      }
      const text = lines.join(pick(rng, ['\n', '\n', '\n', '\r\n', '\n\n']));
      return Buffer.from(chance(rng, 0.02) ? `\ufeff${text}` : text);
    });
  },
  run(input: Buffer): Outcome {
    return outcome(parseNdjsonBody(input.toString('utf8')));
  },
};
