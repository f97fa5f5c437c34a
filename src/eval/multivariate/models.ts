import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  trainVectorAutoencoder,
  vectorAutoencoderToOnnx,
} from '../../models/vector-autoencoder.js';
import type { Scenario } from './scenarios.js';

/** Vectors per window of the evaluation's autoencoders. */
export const EVAL_WINDOW = 4;

let dir: string | undefined;
const trained = new Map<string, string>();

/**
 * The `onnx` detector's model for a scenario: a vector autoencoder trained on the run's training
 * rows only (what a user would do: train offline on known-normal data, then deploy, as
 * `vigil model train --columns … --train-rows 400` does), with the trainer's defaults (linear,
 * bottleneck 3/4 of the inputs, 40 epochs) and the run's metric names, written to a temporary
 * model directory that becomes the process's. Returns the model name.
 */
export function scenarioModel(scenario: Scenario): string {
  const name = scenario.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (trained.has(name)) return name;
  dir ??= mkdtempSync(path.join(tmpdir(), 'vigil-eval-models-'));
  process.env['VIGIL_MODELS'] = dir;
  const model = trainVectorAutoencoder(scenario.run.values.slice(0, scenario.trainRows), {
    window: EVAL_WINDOW,
    seed: 1,
  });
  const bytes = vectorAutoencoderToOnnx(model, scenario.run.metrics);
  writeFileSync(path.join(dir, `${name}.onnx`), bytes);
  trained.set(name, name);
  return name;
}
