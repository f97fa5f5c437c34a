/**
 * The `influx` section of `vigil serve`'s config file (docs/integrations-influx-mqtt.md): its
 * schema, and the routes' options from it and the server's `limits`.
 */
import { z } from 'zod';
import { defined } from '../../data/defined.js';
import type { InfluxRoutesOptions } from './routes.js';

export const influxSchema = z
  .object({
    device_tag: z.string().min(1),
    metric_name: z.enum(['measurement.field', 'field']),
    max_line_bytes: z.number().int().positive(),
    max_fields_per_line: z.number().int().positive(),
    max_name_length: z.number().int().positive(),
  })
  .partial()
  .strict();

export type InfluxConfig = z.infer<typeof influxSchema>;

export function influxOptions(
  config: InfluxConfig,
  limits: { readonly body_bytes?: number; readonly points_per_request?: number },
): Pick<InfluxRoutesOptions, 'mapping' | 'bodyBytes' | 'linesPerRequest' | 'lineLimits'> {
  return {
    mapping: defined({ deviceTag: config.device_tag, metricName: config.metric_name }),
    lineLimits: defined({
      maxLineBytes: config.max_line_bytes,
      maxFieldsPerLine: config.max_fields_per_line,
      maxNameLength: config.max_name_length,
    }),
    ...defined({ bodyBytes: limits.body_bytes, linesPerRequest: limits.points_per_request }),
  };
}
