/** Every fuzz target, by name, in the order the table lists them. */
import type { Target } from '../target.js';
import { csv } from './csv.js';
import { grpcDetect, grpcIngest } from './grpc.js';
import { httpJson, httpNdjson } from './http.js';
import { influx } from './influx.js';
import { mqtt } from './mqtt.js';
import { remoteWrite } from './remote-write.js';
import { strategyYaml } from './strategy.js';

export const TARGETS: readonly Target[] = [
  httpJson,
  httpNdjson,
  grpcIngest,
  grpcDetect,
  remoteWrite,
  influx,
  mqtt,
  csv,
  strategyYaml,
];

export function targetNamed(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}
