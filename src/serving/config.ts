/**
 * The `models` section of `vigil serve`'s config file (docs/model-serving.md): its schema, the
 * model-serving config from it, and the start-time check of the directory. Types only from
 * serve-models.ts, so validating never loads onnxruntime.
 */
import { readdir } from 'node:fs/promises';
import { z } from 'zod';
import { defined } from '../data/defined.js';
import { VigilError } from '../errors.js';
import type { ModelServingConfig } from './serve-models.js';

const positive = z.number().int().positive();

export const modelsSchema = z
  .object({
    dir: z.string().min(1),
    body_bytes: positive,
    max_elements: positive,
    threads: z.number().int().min(0),
  })
  .partial()
  .strict();

export type ModelsConfig = z.infer<typeof modelsSchema>;

/** `dir` is the directory settled by flag, environment or file (`--models`). */
export function modelServingConfig(config: ModelsConfig, dir: string): ModelServingConfig {
  return {
    dir,
    ...defined({
      bodyBytes: config.body_bytes,
      maxElements: config.max_elements,
      threads: config.threads,
    }),
  };
}

/** Throws VIGIL_ERR_CONFIG unless the model directory can be read. */
export async function checkModelDir(dir: string): Promise<void> {
  try {
    await readdir(dir);
  } catch (err) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG',
      `--models ${dir}: cannot read the directory (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}
