/**
 * The `remote_write` section of `vigil serve`'s config file (docs/integrations-prometheus.md):
 * its schema, and its translation into the route's options.
 */
import { z } from 'zod';
import { defined } from '../../data/defined.js';
import type { LabelMapping } from './mapping.js';
import type { RemoteWriteLimits } from './routes.js';

const positive = z.number().int().positive();
const labelName = z.string().min(1);

export const remoteWriteSchema = z
  .object({
    device_label: labelName,
    default_device: z.string().min(1).max(200),
    metric_label: labelName,
    tag_labels: z.array(labelName),
    drop_labels: z.array(labelName),
    other_labels: z.enum(['metric_suffix', 'drop']),
    metrics_per_point: z.number().int().min(1).max(1000),
    max_compressed_bytes: positive,
    max_decompressed_bytes: positive,
    max_samples_per_request: positive,
    max_series_per_request: positive,
    max_labels_per_series: positive,
    max_labels_per_request: positive,
    max_label_bytes: positive,
  })
  .partial()
  .strict();

export type RemoteWriteConfig = z.infer<typeof remoteWriteSchema>;

export function remoteWriteOptions(config: RemoteWriteConfig): {
  mapping: Partial<LabelMapping>;
  limits: Partial<RemoteWriteLimits>;
} {
  const mapping: { -readonly [K in keyof LabelMapping]?: LabelMapping[K] } = {};
  if (config.device_label !== undefined) mapping.deviceLabel = config.device_label;
  if (config.default_device !== undefined) mapping.defaultDevice = config.default_device;
  if (config.metric_label !== undefined) mapping.metricLabel = config.metric_label;
  if (config.tag_labels !== undefined) mapping.tagLabels = config.tag_labels;
  if (config.drop_labels !== undefined) mapping.dropLabels = config.drop_labels;
  if (config.other_labels !== undefined) mapping.otherLabels = config.other_labels;
  if (config.metrics_per_point !== undefined) mapping.metricsPerPoint = config.metrics_per_point;
  const limits = defined({
    maxCompressedBytes: config.max_compressed_bytes,
    maxDecompressedBytes: config.max_decompressed_bytes,
    maxSamples: config.max_samples_per_request,
    maxSeries: config.max_series_per_request,
    maxLabelsPerSeries: config.max_labels_per_series,
    maxLabelsPerRequest: config.max_labels_per_request,
    maxLabelBytes: config.max_label_bytes,
  });
  return { mapping, limits };
}
